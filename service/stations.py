"""Several cameras in one line, and stations: which cameras look at one part and how a view is
matched to its part. Pydantic models for `[[cameras]]` and `[[stations]]` in the settings.

A station names its views (one camera each). Its part decision is fused from the views' results
(`service/fusion.py`): any view rejects → reject; any review → review; a view missing or late
→ reject with the reason `view_missing`. Views are matched to a part by
- `part_id`: the part id the camera reports with the frame, else the frame number (cameras wired to
  one trigger count the same parts), or
- `arrival`: views captured within `window_ms` of the part's first view belong to it, in order.
A camera in no station decides its own parts (a station of one view: decisions as with `[camera]`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gaikan.camera.config import CameraConfig
from gaikan.models.thresholds import Thresholds

NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"


class CameraEntry(BaseModel):
    """`[[cameras]]`: one camera of the line, with the model and thresholds its frames are judged by."""

    model_config = ConfigDict(extra="forbid")
    camera: CameraConfig = Field(description="The camera (`[cameras.camera]`, its `kind` picks the settings)")
    model_version: str | None = Field(
        default=None,
        description="Score this camera's frames with this uploaded model version; null = the line's active model "
        "(shared by every such camera, hot-swapped by activate/rollback)",
    )
    thresholds: Thresholds | None = Field(default=None, description="This camera's thresholds; null = the model's")
    deadline_ms: float | None = Field(default=None, gt=0, description="This camera's part deadline; null = the line's `deadline_ms`")

    @property
    def camera_id(self) -> str:
        return self.camera.camera_id


class ViewConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME_PATTERN, description="The view's name (top, side, …), shown with its result")
    camera: str = Field(min_length=1, description="The camera id of the camera that takes this view")


class StationConfig(BaseModel):
    """`[[stations]]`: the views of one part and how a view is matched to its part."""

    model_config = ConfigDict(extra="forbid")
    station_id: str = Field(pattern=NAME_PATTERN, description="The station's id: the camera id of its part decisions")
    views: list[ViewConfig] = Field(min_length=1)
    match: Literal["part_id", "arrival"] = Field(
        default="part_id",
        description="part_id: the part id a camera reports, else the frame number (one trigger); arrival: capture order within `window_ms`",
    )
    window_ms: float = Field(default=100.0, gt=0, description="arrival: the views of a part are captured within this long of its first")
    deadline_ms: float | None = Field(
        default=None, gt=0, description="A part whose views are not all decided this long after its first capture is rejected (view_missing); null = the line's deadline"
    )

    @model_validator(mode="after")
    def _distinct(self) -> StationConfig:
        for what, values in (("view names", [v.name for v in self.views]), ("cameras", [v.camera for v in self.views])):
            if len(set(values)) != len(values):
                raise ValueError(f"station {self.station_id}: {what} must be distinct, got {values}")
        return self


def check_line(cameras: list[CameraEntry], stations: list[StationConfig]) -> None:
    """Camera ids are distinct; each view names a camera of the line; a camera is in one station at most."""
    ids = [entry.camera_id for entry in cameras]
    if len(set(ids)) != len(ids):
        raise ValueError(f"camera ids must be distinct, got {ids}")
    seen: dict[str, str] = {}
    for station in stations:
        if station.station_id in ids:
            raise ValueError(f"station id {station.station_id!r} is also a camera id")
        for view in station.views:
            if view.camera not in ids:
                raise ValueError(f"station {station.station_id}: view {view.name} names camera {view.camera!r}, not one of {ids}")
            if view.camera in seen:
                raise ValueError(f"camera {view.camera} is in stations {seen[view.camera]} and {station.station_id}")
            seen[view.camera] = station.station_id
    station_ids = [s.station_id for s in stations]
    if len(set(station_ids)) != len(station_ids):
        raise ValueError(f"station ids must be distinct, got {station_ids}")
