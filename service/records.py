"""The decision record: what the service decided about one part, and why."""

from __future__ import annotations

from dataclasses import dataclass, field

from gaikan.models.thresholds import Thresholds
from gaikan.service.decision import Outcome, Reason


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A decision before it is stored. Times are seconds since the epoch (UTC)."""

    frame_id: str
    camera_id: str
    captured_at: float
    decided_at: float
    decision: Outcome
    reason: Reason
    score: float | None = None
    model_version: str | None = None
    thresholds: Thresholds | None = None
    detail: str | None = None
    stages_ms: dict[str, float] = field(default_factory=dict)
    source: str | None = None

    @property
    def latency_ms(self) -> float:
        """Capture to decision."""
        return (self.decided_at - self.captured_at) * 1000.0


@dataclass(frozen=True, slots=True)
class StoredDecision:
    """A decision as persisted: `seq` comes from the store and never repeats."""

    seq: int
    record: DecisionRecord
    image_path: str | None = None
    heatmap_path: str | None = None
