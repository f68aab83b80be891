"""The outcome of inspecting a part and the threshold rule that gives it: defined here once and
used by serving (`service/decision.py`), metrics, evaluation, calibration and, through the API
(`POST /api/v1/thresholds/classify`), the dashboard. Thresholds are data, never part of the ONNX
graph."""

from __future__ import annotations

import enum
import math

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field, model_validator


class Outcome(enum.StrEnum):
    PASS = "pass"
    REVIEW = "review"  # sent to a person
    REJECT = "reject"


# Outcomes by severity: `Thresholds.levels` returns indexes into this tuple.
OUTCOMES: tuple[Outcome, ...] = (Outcome.PASS, Outcome.REVIEW, Outcome.REJECT)


class Thresholds(BaseModel):
    """Score thresholds (higher score = more anomalous).

    score >= reject            -> reject
    review <= score < reject   -> review (sent to a person), only when `review` is set
    otherwise                  -> pass
    A NaN score is a reject (never a pass); serving also names it an error.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    reject: float = Field(description="Scores at or above this are rejected.")
    review: float | None = Field(
        default=None, description="Optional lower bound of the review band; must be below `reject`."
    )

    def levels(self, scores: ArrayLike) -> np.ndarray:
        """The rule, for any number of scores at once: the index in `OUTCOMES` of each score's
        outcome (0 pass, 1 review, 2 reject), in the shape of `scores`. The one place it lives."""
        values = np.asarray(scores, np.float64)
        if self.review is None:
            return np.searchsorted([self.reject], values, side="right").astype(np.int8) * 2
        return np.searchsorted([self.review, self.reject], values, side="right").astype(np.int8)

    def classify(self, score: float) -> Outcome:
        """The outcome for one score."""
        return OUTCOMES[int(self.levels(score))]

    def flagged(self, scores: ArrayLike) -> np.ndarray:
        """True where a part leaves the line for a person or the bin (review or reject)."""
        return self.levels(scores) > 0

    @model_validator(mode="after")
    def _check(self) -> Thresholds:
        if not math.isfinite(self.reject):
            raise ValueError("reject threshold must be a finite number")
        if self.review is not None:
            if not math.isfinite(self.review):
                raise ValueError("review threshold must be a finite number")
            if self.review >= self.reject:
                raise ValueError(
                    f"review threshold ({self.review}) must be below the reject threshold ({self.reject})"
                )
        return self
