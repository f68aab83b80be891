"""Live thresholds of the active model: effective from the next frame, audited."""

from __future__ import annotations

import math

from fastapi import APIRouter, HTTPException

from gaikan.models.thresholds import OUTCOMES, Thresholds
from gaikan.service.api.deps import Engineer, Reader, ServicesDep
from gaikan.service.api.schemas import ClassifyIn, ClassifyOut, ThresholdsOut

router = APIRouter(prefix="/api/v1/thresholds", tags=["thresholds"])


@router.get("", response_model=ThresholdsOut, summary="Thresholds in force")
def get_thresholds(services: ServicesDep, _: Reader) -> ThresholdsOut:
    return services.thresholds.current()


@router.put("", response_model=ThresholdsOut, summary="Set thresholds for the active model")
def put_thresholds(body: Thresholds, services: ServicesDep, who: Engineer) -> ThresholdsOut:
    return services.thresholds.set(body, actor=who.name)


@router.post("/classify", response_model=ClassifyOut, summary="Judge scores against thresholds (the line's rule)")
def classify_scores(body: ClassifyIn, _: Reader) -> ClassifyOut:
    """What the line would decide for each score with these thresholds: the dashboard's preview of
    thresholds being edited uses this, so the rule is never re-implemented in the browser."""
    if not all(math.isfinite(score) for score in body.scores):
        raise HTTPException(status_code=422, detail="scores must be finite numbers (no NaN or infinity)")
    levels = body.thresholds.levels(body.scores).tolist()
    return ClassifyOut(
        outcomes=[OUTCOMES[level] for level in levels],
        counts={outcome: levels.count(level) for level, outcome in enumerate(OUTCOMES)},
    )
