"""Decision thresholds: data, never part of the ONNX graph."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Thresholds(BaseModel):
    """Score thresholds (higher score = more anomalous).

    score >= reject            -> reject
    review <= score < reject   -> review (sent to a person), only when `review` is set
    otherwise                  -> pass
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    reject: float = Field(description="Scores at or above this are rejected.")
    review: float | None = Field(
        default=None, description="Optional lower bound of the review band; must be below `reject`."
    )

    def classify(self, score: float) -> Literal["pass", "review", "reject"]:
        """The outcome for a finite score (the one place this rule lives)."""
        if score >= self.reject:
            return "reject"
        if self.review is not None and score >= self.review:
            return "review"
        return "pass"

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
