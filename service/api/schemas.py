"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from gaikan.models.thresholds import Thresholds
from gaikan.service.decision import Outcome, Reason
from gaikan.service.records import StoredDecision


INT64_MAX = 2**63 - 1  # ids and seqs are 64-bit integers in the store; larger ones are refused (422)


_ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_8601(value: object) -> object:
    if isinstance(value, str) and not _ISO_8601.match(value):
        raise ValueError("expected an ISO 8601 date-time with a zone, e.g. 2026-01-31T06:00:00Z")
    return value


# A date-time is written as one (with its zone): `0.5` or `1764000000` are not dates.
IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_8601)]


def utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class DecisionOut(BaseModel):
    """One part's decision."""

    seq: int = Field(description="Monotonic sequence number from the store; never repeats")
    frame_id: str
    camera_id: str
    captured_at: datetime
    decided_at: datetime
    score: float | None
    decision: Outcome
    reason: Reason
    detail: str | None = None
    model_version: str | None
    thresholds: Thresholds | None
    latency_ms: float = Field(description="Capture to decision")
    stages_ms: dict[str, float] = Field(default_factory=dict)
    source: str | None = Field(default=None, description="Where the frame came from (replay file name, …)")
    has_image: bool
    has_heatmap: bool

    @classmethod
    def of(cls, stored: StoredDecision) -> DecisionOut:
        record = stored.record
        return cls(
            seq=stored.seq,
            frame_id=record.frame_id,
            camera_id=record.camera_id,
            captured_at=utc(record.captured_at),
            decided_at=utc(record.decided_at),
            score=record.score,
            decision=record.decision,
            reason=record.reason,
            detail=record.detail,
            model_version=record.model_version,
            thresholds=record.thresholds,
            latency_ms=round(record.latency_ms, 3),
            stages_ms={k: round(v, 3) for k, v in record.stages_ms.items()},
            source=record.source,
            has_image=stored.image_path is not None,
            has_heatmap=stored.heatmap_path is not None,
        )


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


class StatusOut(BaseModel):
    running: bool
    fail_safe: list[str] = Field(description="Why every part is being rejected right now; empty when inspecting normally")
    camera: CameraOut
    active_model: str | None
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
    camera_state: str


RejectPage.model_rebuild()


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seq: int = Field(ge=0, le=INT64_MAX, strict=True, description="Every decision up to and including this seq has been handled")


class ThresholdsIn(BaseModel):
    """New thresholds for the active model. Numbers only (no strings, no booleans), finite."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    reject: float = Field(description="Scores at or above this are rejected")
    review: float | None = Field(default=None, description="Optional lower bound of the review band; below `reject`")
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
    agreement: float | None = Field(description="Share of frames with the same outcome")
    confusion: dict[str, dict[str, int]] = Field(description="confusion[active outcome][shadow outcome] = frames")
    score_correlation: float | None = Field(description="Pearson correlation of the two models' scores")
