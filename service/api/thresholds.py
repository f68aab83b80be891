"""Live thresholds of the active model: effective from the next frame, audited."""

from __future__ import annotations

import math

from fastapi import APIRouter
from pydantic import ValidationError

from gaikan.models.thresholds import OUTCOMES, Thresholds
from gaikan.service.api.deps import Engineer, Reader, ServicesDep
from gaikan.service.api.errors import AUTH_ERRORS, error_responses, unprocessable
from gaikan.service.api.schemas import ClassifyIn, ClassifyOut, ThresholdsIn, ThresholdsOut, ThresholdValues

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
    return services.thresholds.set(_thresholds(body), actor=who.name, force=body.force)


def _thresholds(values: ThresholdValues) -> Thresholds:
    """The thresholds a request states, held to the rule's own checks (review below reject): 422."""
    try:
        return Thresholds(reject=values.reject, review=values.review)
    except ValidationError as error:
        raise unprocessable("; ".join(item["msg"] for item in error.errors()), "body") from error


@router.post(
    "/classify", response_model=ClassifyOut, summary="Judge scores against thresholds (the line's rule)", responses=error_responses(400, 422)
)
def classify_scores(body: ClassifyIn, _: Reader) -> ClassifyOut:
    """What the line would decide for each score with these thresholds: the dashboard's preview of
    thresholds being edited uses this, so the rule is never re-implemented in the browser."""
    if not all(math.isfinite(score) for score in body.scores):
        raise unprocessable("scores must be finite numbers (no NaN or infinity)", "body", "scores")
    levels = _thresholds(body.thresholds).levels(body.scores).tolist()
    return ClassifyOut(
        outcomes=[OUTCOMES[level] for level in levels],
        counts={outcome: levels.count(level) for level, outcome in enumerate(OUTCOMES)},
    )
