"""The one typed interface between the API process and the line process.

- Commands (API → line, one at a time, each answered by a `Reply`): activate, rollback,
  thresholds, shadow, software trigger, stop.
- The status snapshot (line → API, at a fixed small rate and after every command): everything
  the API shows about the running line, so readers never reach into the line.
- The decision stream (line → API): every decision once it is stored, and model swaps.

Messages are plain frozen dataclasses (pickled over a pipe and a queue); a refusal travels as
the `DomainError` itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from gaikan.models.thresholds import Thresholds
from gaikan.service.errors import DomainError
from gaikan.service.records import StoredDecision

# -- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Activate:
    version: str
    actor: str


@dataclass(frozen=True, slots=True)
class Rollback:
    actor: str


@dataclass(frozen=True, slots=True)
class SetThresholds:
    thresholds: Thresholds
    actor: str
    force: bool = False  # accept thresholds outside the model's plausible score range (audited as forced)


@dataclass(frozen=True, slots=True)
class SetShadow:
    version: str | None  # None stops shadow scoring
    actor: str


@dataclass(frozen=True, slots=True)
class Trigger:
    """Fire the camera's software trigger; the reply's value is the camera id."""


@dataclass(frozen=True, slots=True)
class Stop:
    """Stop acquiring, decide and store what is in flight, then end the line process."""


Command = Activate | Rollback | SetThresholds | SetShadow | Trigger | Stop


# -- the status snapshot ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CameraSnapshot:
    camera_id: str
    state: str
    fps: float
    frames: int
    dropped: int
    lost: int
    timeouts: int
    reconnects: int
    faults: int
    incomplete: int
    error: str | None
    # per camera of a line of several (all of them filled for every camera)
    model_version: str | None = None  # the model its frames are scored by
    station: str | None = None  # the station it is a view of (None: it decides its own parts)
    view: str | None = None
    fail_safe: tuple[str, ...] = ()  # why this camera's parts are rejected now
    queue_depth: int = 0
    throughput_fps: float = 0.0  # decisions per second
    latency_ms_p99: float | None = None
    decided: int = 0
    part_timeouts: int = 0  # parts rejected for missing their deadline


@dataclass(frozen=True, slots=True)
class StationSnapshot:
    station_id: str
    views: dict[str, str]  # view name -> camera id, in order
    match: str
    parts: int  # part decisions fused
    missing: int  # parts rejected with a view missing or late
    late_views: int  # view decisions that came after their part was decided
    open_parts: int  # parts waiting for a view
    latency_ms_p99: float | None  # first capture to the part decision


@dataclass(frozen=True, slots=True)
class ModelSnapshot:
    version: str
    thresholds: Thresholds
    thresholds_source: Literal["manifest", "override"]
    manifest_thresholds: Thresholds
    calibrated: bool  # the package's thresholds were calibrated with defective images (else good-only safe defaults)


@dataclass(frozen=True, slots=True)
class ShadowReport:
    version: str
    since: float
    frames: int
    skipped: int
    errors: int
    restarts: int  # shadow processes ended (crashed or hung) and started again while it scored
    loaded: bool  # the shadow process holds its session
    load_error: str | None  # why the shadow process could not load it
    agreement: float | None
    confusion: dict[str, dict[str, int]]
    score_correlation: float | None


@dataclass(frozen=True, slots=True)
class LineSnapshot:
    serial: int  # grows with every snapshot of one line process: a newer one replaces an older one
    pid: int
    taken_at: float  # time.monotonic() (one clock for all processes on Linux)
    started_at: float  # wall clock
    running: bool
    fail_safe: tuple[str, ...]
    camera: CameraSnapshot | None  # the first camera
    active: ModelSnapshot | None
    shadow: str | None
    shadow_reports: dict[str, ShadowReport]
    queue_depth: int
    in_flight: int
    throughput_fps: float
    latency_window: int
    latency_ms_p50: float | None
    latency_ms_p99: float | None
    inference_busy_s: float  # how long the model call in progress has run (0 when idle)
    metrics: bytes = field(repr=False)  # Prometheus text exposition of the line's own metrics
    cameras: tuple[CameraSnapshot, ...] = ()  # every camera, in the settings' order
    stations: tuple[StationSnapshot, ...] = ()


# -- replies and the decision stream ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to one command: a value or the domain error, and the state right after it."""

    value: object = None
    error: DomainError | None = None
    snapshot: LineSnapshot | None = None


@dataclass(frozen=True, slots=True)
class DecisionStored:
    decision: StoredDecision


@dataclass(frozen=True, slots=True)
class ModelSwapped:
    version: str | None


LineEvent = LineSnapshot | DecisionStored | ModelSwapped
