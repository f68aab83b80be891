"""Live thresholds of the active model: effective from the next frame, audited."""

from __future__ import annotations

import math

from fastapi import APIRouter, HTTPException

from gaikan.models.thresholds import OUTCOMES, Thresholds
from gaikan.service.api.deps import Engineer, LineDep, Reader
from gaikan.service.api.errors import http_error
from gaikan.service.api.schemas import ClassifyIn, ClassifyOut, ThresholdsOut
from gaikan.service.registry import ActiveModel, RegistryError

router = APIRouter(prefix="/api/v1/thresholds", tags=["thresholds"])


def _out(active: ActiveModel) -> ThresholdsOut:
    return ThresholdsOut(
        model_version=active.version,
        reject=active.thresholds.reject,
        review=active.thresholds.review,
        source=active.thresholds_source,
        manifest=active.model.manifest.thresholds,
    )


@router.get("", response_model=ThresholdsOut, summary="Thresholds in force")
def get_thresholds(line: LineDep, _: Reader) -> ThresholdsOut:
    active = line.registry.active
    if active is None:
        raise HTTPException(status_code=409, detail="no active model: thresholds belong to a model version")
    return _out(active)


@router.put("", response_model=ThresholdsOut, summary="Set thresholds for the active model")
def put_thresholds(body: Thresholds, line: LineDep, who: Engineer) -> ThresholdsOut:
    try:
        return _out(line.registry.set_thresholds(body, actor=who.name))
    except RegistryError as error:
        raise http_error(error) from error


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
