"""Decision rules: a score against thresholds gives pass / review / reject (the rule and the
outcome live in `gaikan.models.thresholds`), and anything not known to be good is a reject with
its own reason."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from gaikan.models.thresholds import Outcome, Thresholds

__all__ = ["Outcome", "Reason", "Verdict", "decide", "fail_safe"]


class Reason(enum.StrEnum):
    SCORE = "score"  # decided by the model's score against the thresholds
    TIMEOUT = "timeout"  # no decision within the part's deadline
    NO_MODEL = "no_model"  # no active model
    CAMERA_FAULT = "camera_fault"  # the camera failed; parts are rejected until it recovers
    ERROR = "error"  # inference failed or gave a non-finite score
    STORAGE = "storage"  # could not be stored within the persist deadline (or not at all: backlog full)
    VIEW_MISSING = "view_missing"  # a station's view of the part was not decided in time (missing or late)


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    reason: Reason
    detail: str | None = None


def decide(score: float, thresholds: Thresholds) -> Verdict:
    """Judge one score. A non-finite score is an error and a reject, never a pass."""
    if not math.isfinite(score):
        return Verdict(Outcome.REJECT, Reason.ERROR, f"model returned a non-finite score ({score})")
    return Verdict(thresholds.classify(score), Reason.SCORE)


def fail_safe(reason: Reason, detail: str | None = None) -> Verdict:
    """The verdict for a part that could not be judged on its score."""
    if reason is Reason.SCORE:
        raise ValueError("a fail-safe verdict needs a fail-safe reason, not 'score'")
    return Verdict(Outcome.REJECT, reason, detail)
