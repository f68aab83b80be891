"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gaikan.models.thresholds import Thresholds
from gaikan.service.decision import Outcome, Reason
from gaikan.service.records import StoredDecision


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


RejectPage.model_rebuild()


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seq: int = Field(ge=0, description="Every decision up to and including this seq has been handled")


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
