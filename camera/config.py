"""Camera configuration: one pydantic model per source kind, chosen by `kind`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ReplayConfig(BaseModel):
    """Play a folder of images (sorted by path) or a video file as a camera."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["replay"] = "replay"
    camera_id: str = "replay"
    path: Path
    fps: float | None = Field(default=10.0, gt=0, description="Delivery rate; null = as fast as the pipeline takes")
    loop: bool = True


# One model per source kind; becomes a discriminated union on `kind` as sources are added.
CameraConfig = ReplayConfig
