"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, create_model

from gaikan.models.thresholds import Thresholds
from gaikan.service.decision import Outcome
from gaikan.service.record_fields import utc as utc  # re-exported: routes format times with it
from gaikan.service.records import StoredDecision, api_fields, api_values
from gaikan.service.storage.rechecks import Finding, Recheck


INT64_MAX = 2**63 - 1  # ids and seqs are 64-bit integers in the store; larger ones are refused (422)


_ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_8601(value: object) -> object:
    if isinstance(value, str) and not _ISO_8601.match(value):
        raise ValueError("expected an ISO 8601 date-time with a zone, e.g. 2026-01-31T06:00:00Z")
    return value


# A date-time is written as one (with its zone): `0.5` or `1764000000` are not dates.
IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_8601)]


class RecheckOut(BaseModel):
    """What a person found when re-checking the part."""

    verdict: Finding
    defect_type: str | None
    note: str | None
    checked_at: datetime
    checked_by: str
    exported_at: datetime | None = Field(description="When `gaikan dataset export` wrote the part out; its images are kept until then")

    @classmethod
    def of(cls, recheck: Recheck) -> RecheckOut:
        return cls(
            verdict=recheck.verdict,
            defect_type=recheck.defect_type,
            note=recheck.note,
            checked_at=utc(recheck.checked_at),
            checked_by=recheck.checked_by,
            exported_at=utc(recheck.exported_at) if recheck.exported_at is not None else None,
        )


class ViewPicturesOut(BaseModel):
    """The kept pictures of one view of a station's part: `GET /api/v1/results/{seq}/views/{view}/image`
    and `.../heatmap` serve them."""

    view: str
    has_image: bool = Field(description="Whether this view's part image is kept")
    has_heatmap: bool = Field(description="Whether this view's heatmap overlay is kept")


class _DecisionOutBase(BaseModel):
    @classmethod
    def of(cls, stored: StoredDecision) -> DecisionOut:
        kept = stored.view_pictures
        return cls(
            line_id=stored.line_id,
            seq=stored.seq,
            **api_values(stored.record),
            has_image=stored.image_path is not None,
            has_heatmap=stored.heatmap_path is not None,
            view_pictures=[
                ViewPicturesOut(
                    view=view.view,
                    has_image=view.view in kept and kept[view.view].image_path is not None,
                    has_heatmap=view.view in kept and kept[view.view].heatmap_path is not None,
                )
                for view in stored.record.views
            ],
        )


# One part's decision: its fields are `DecisionRecord`'s (service/records.py), derived.
DecisionOut = create_model(
    "DecisionOut",
    __base__=_DecisionOutBase,
    __doc__="One part's decision.",
    line_id=(str, Field(description="The line that decided the part (settings `line_id`)")),
    seq=(int, Field(description="Monotonic sequence number of the line, from the store; never repeats within the line")),
    **api_fields(),
    has_image=(bool, Field(description="Whether the part image is kept (a station's part: the deciding view's)")),
    has_heatmap=(bool, Field(description="Whether the heatmap overlay is kept (a station's part: the deciding view's)")),
    view_pictures=(
        list[ViewPicturesOut],
        Field(default_factory=list, description="A station's part: each view's kept pictures, in the order of `views` (empty for one camera)"),
    ),
    recheck=(RecheckOut | None, Field(default=None, description="A person's re-check verdict, when there is one")),
)


def json_response(model: BaseModel) -> Response:
    """`model` as its JSON answer, encoded once: for reads polled many times a second (FastAPI would
    dump a returned model, validate it again against the route's response model, then encode it)."""
    return Response(model.model_dump_json(), media_type="application/json")


class ResultsPage(BaseModel):
    items: list[DecisionOut]
    next_before_seq: int | None = Field(description="Pass as before_seq to get the next (older) page; null at the end")


class CameraOut(BaseModel):
    camera_id: str | None
    state: str
    fps: float = Field(description="Frames received per second over the last 10 s")
    frames: int
    dropped: int = Field(description="Frames dropped because inspection lagged (camera buffer and pipeline queue)")
    lost: int = Field(description="Frames captured but never delivered (each rejected as camera_fault)")
    timeouts: int
    reconnects: int
    faults: int
    incomplete: int
    error: str | None
    model_version: str | None = Field(default=None, description="The model this camera's frames are scored by")
    station: str | None = Field(default=None, description="The station this camera is a view of; null when it decides its own parts")
    view: str | None = None
    fail_safe: list[str] = Field(default_factory=list, description="Why this camera's parts are rejected now")
    queue_depth: int = 0
    throughput_fps: float = Field(default=0.0, description="This camera's decisions per second over the last 10 s")
    latency_ms_p99: float | None = None
    decided: int = 0
    part_timeouts: int = Field(default=0, description="This camera's parts rejected for missing their deadline")


class StationOut(BaseModel):
    station_id: str
    views: dict[str, str] = Field(description="View name -> camera id, in order")
    match: str = Field(description="How a view is matched to its part: part_id or arrival")
    parts: int = Field(description="Part decisions fused since start")
    missing: int = Field(description="Parts rejected because a view was missing or late")
    late_views: int = Field(description="View decisions that came after their part was decided")
    open_parts: int = Field(description="Parts waiting for a view")
    latency_ms_p99: float | None = Field(description="First capture to part decision, recent parts")


class MqttOut(BaseModel):
    """The MQTT publisher ([mqtt] enabled)."""

    broker: str
    connected: bool
    published_seq: int = Field(description="Every decision up to this seq is confirmed by the broker (stored as the cursor within 0.5 s)")
    pending: int = Field(description="Decisions stored after published_seq, waiting to be published")
    down_since: datetime | None = Field(description="Since when the broker is unreachable; null while connected")
    last_error: str | None
    published: int = Field(description="Decisions the broker confirmed since the service started")


class StatusOut(BaseModel):
    line_id: str = Field(description="This service's line (settings `line_id`)")
    running: bool
    fail_safe: list[str] = Field(description="Why every part is being rejected right now; empty when inspecting normally")
    camera: CameraOut = Field(description="The line's (first) camera")
    cameras: list[CameraOut] = Field(default_factory=list, description="Every camera of the line, in the settings' order")
    stations: list[StationOut] = Field(default_factory=list, description="Stations: parts decided from several views")
    active_model: str | None
    active_model_calibrated: bool | None = Field(
        default=None,
        description="Whether the active model's thresholds were calibrated with defective images "
        "(false: safe defaults from good images only); null without an active model",
    )
    shadow_model: str | None
    thresholds: Thresholds | None
    counts: dict[str, int] = Field(description="All decisions ever stored, by outcome")
    counts_last_hour: dict[str, int]
    last_decision: DecisionOut | None
    last_seq: int
    queue_depth: int
    in_flight: int
    throughput_fps: float = Field(description="Decisions per second over the last 10 s")
    latency_window: int = Field(description="How many recent decisions the latency percentiles cover")
    latency_ms_p50: float | None
    latency_ms_p99: float | None
    uptime_s: float
    plc: list[PlcClientOut] = Field(default_factory=list, description="PLC clients watched or seen since start, and their liveness")
    mqtt: MqttOut | None = Field(default=None, description="The MQTT publisher; null unless [mqtt] is enabled")


class RejectPage(BaseModel):
    """Decisions for the PLC, oldest first, plus the heartbeat."""

    items: list[DecisionOut]
    last_seq: int = Field(description="Newest stored seq")
    heartbeat: Heartbeat


class Heartbeat(BaseModel):
    alive: Literal[True] = True
    server_time: datetime
    last_seq: int
    acked_seq: int = Field(description="This client's acknowledged seq")
    fail_safe: list[str] = Field(description="Non-empty: reject every part until it clears")
    active_model: str | None
    active_model_calibrated: bool | None = Field(
        default=None, description="False: the active model runs on uncalibrated (good-only) thresholds"
    )
    camera_state: str
    pending: int = Field(description="Decisions after this client's acknowledged seq")
    plc_silent: list[str] = Field(description="PLC clients that stopped polling or acknowledging (see [plc] silence_s)")


class PlcClientOut(BaseModel):
    client: str
    acked_seq: int
    pending: int = Field(description="Decisions waiting for this client's acknowledgement")
    last_poll: datetime | None
    last_ack: datetime | None
    silent_for_s: float | None = Field(description="Set while the client has been silent longer than [plc] silence_s")
    backlog: bool = Field(description="More decisions waiting than [plc] buffer_limit: its heartbeat says fail-safe plc_backlog")


RejectPage.model_rebuild()
StatusOut.model_rebuild()


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seq: int = Field(ge=0, le=INT64_MAX, strict=True, description="Every decision up to and including this seq has been handled")


class ThresholdValues(BaseModel):
    """Thresholds as a request states them. Numbers only (no strings, no booleans), finite."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    reject: float = Field(description="Scores at or above this are rejected")
    review: float | None = Field(default=None, description="Optional lower bound of the review band; below `reject`")


class ThresholdsIn(ThresholdValues):
    """New thresholds for the active model."""

    force: bool = Field(
        default=False,
        description="Accept thresholds outside the model's plausible score range (recorded in the audit trail)",
    )


class AckOut(BaseModel):
    client: str
    acked_seq: int


class ThresholdsOut(BaseModel):
    model_version: str
    reject: float
    review: float | None
    source: Literal["manifest", "override"]
    manifest: Thresholds = Field(description="The thresholds the model package shipped with")


class ModelVersionOut(BaseModel):
    version: str
    name: str
    architecture: str
    graph_sha256: str
    uploaded_at: datetime
    uploaded_by: str
    activated_at: datetime | None = Field(description="Most recent activation")
    activated_by: str | None
    active: bool
    shadow: bool
    manifest: dict[str, Any]


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    old: Any
    new: Any


class ShadowOut(BaseModel):
    """How a shadow candidate compares with the active model on the same live frames."""

    version: str
    shadowing: bool = Field(description="Whether this version is the current shadow")
    since: datetime
    frames: int = Field(description="Frames both models scored")
    skipped: int = Field(description="Frames the shadow could not keep up with")
    errors: int
    restarts: int = Field(description="Times its process crashed or hung and was started again (also gaikan_shadow_restarts_total)")
    loaded: bool = Field(description="Whether the shadow process has loaded it (it loads in the background after the start)")
    load_error: str | None = Field(description="Why the shadow process could not load it (its frames then count as errors); null otherwise")
    agreement: float | None = Field(description="Share of frames with the same outcome")
    confusion: dict[str, dict[str, int]] = Field(description="confusion[active outcome][shadow outcome] = frames")
    score_correlation: float | None = Field(description="Pearson correlation of the two models' scores")


class ClassifyIn(BaseModel):
    """Scores to judge against thresholds (e.g. the thresholds an engineer is trying out)."""

    model_config = ConfigDict(extra="forbid")
    thresholds: ThresholdValues
    scores: list[Annotated[float, Field(strict=True)]] = Field(
        max_length=10_000, description="Finite scores, numbers only (checked by the route, so the answer never echoes a NaN)"
    )


class ClassifyOut(BaseModel):
    outcomes: list[Outcome] = Field(description="Each score's outcome, in the order given")
    counts: dict[Outcome, int] = Field(description="How many scores got each outcome (every outcome present)")
