"""Live thresholds of the active model: effective from the next frame, audited."""

from __future__ import annotations

import math

from fastapi import APIRouter
from pydantic import ValidationError

from gaikan.models.thresholds import OUTCOMES, Thresholds
from gaikan.service.api.deps import Engineer, Reader, ServicesDep
from gaikan.service.api.errors import AUTH_ERRORS, error_responses, unprocessable
from gaikan.service.api.schemas import ClassifyIn, ClassifyOut, ThresholdsIn, ThresholdsOut

router = APIRouter(prefix="/api/v1/thresholds", tags=["thresholds"], responses={**AUTH_ERRORS, **error_responses(409)})


@router.get("", response_model=ThresholdsOut, summary="Thresholds in force")
def get_thresholds(services: ServicesDep, _: Reader) -> ThresholdsOut:
    return services.thresholds.current()


@router.put(
    "",
    response_model=ThresholdsOut,
    summary="Set thresholds for the active model",
    description="review < reject, both within the model's plausible score range (see the README's input rules) "
    "unless `force` is true; audited.",
    responses=error_responses(400, 422, 503),
)
def put_thresholds(body: ThresholdsIn, services: ServicesDep, who: Engineer) -> ThresholdsOut:
    try:
        thresholds = Thresholds(reject=body.reject, review=body.review)
    except ValidationError as error:
        raise unprocessable("; ".join(item["msg"] for item in error.errors()), "body") from error
    return services.thresholds.set(thresholds, actor=who.name, force=body.force)


@router.post("/classify", response_model=ClassifyOut, summary="Judge scores against thresholds (the line's rule)", responses=error_responses(422))
def classify_scores(body: ClassifyIn, _: Reader) -> ClassifyOut:
    """What the line would decide for each score with these thresholds: the dashboard's preview of
    thresholds being edited uses this, so the rule is never re-implemented in the browser."""
    if not all(math.isfinite(score) for score in body.scores):
        raise unprocessable("scores must be finite numbers (no NaN or infinity)", "body", "scores")
    levels = body.thresholds.levels(body.scores).tolist()
    return ClassifyOut(
        outcomes=[OUTCOMES[level] for level in levels],
        counts={outcome: levels.count(level) for level, outcome in enumerate(OUTCOMES)},
    )
