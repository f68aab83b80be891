"""Live thresholds of the active model: effective from the next frame, audited."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import ValidationError

from gaikan.models.thresholds import Thresholds
from gaikan.service.api.deps import Engineer, LineDep, Reader
from gaikan.service.api.errors import AUTH_ERRORS, error_responses, http_error, unprocessable
from gaikan.service.api.schemas import ThresholdsIn, ThresholdsOut
from gaikan.service.registry import ActiveModel, RegistryError

router = APIRouter(prefix="/api/v1/thresholds", tags=["thresholds"], responses={**AUTH_ERRORS, **error_responses(409)})


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


@router.put(
    "",
    response_model=ThresholdsOut,
    summary="Set thresholds for the active model",
    description="review < reject, both within the model's plausible score range (see the README's input rules) "
    "unless `force` is true; audited.",
    responses=error_responses(400),
)
def put_thresholds(body: ThresholdsIn, line: LineDep, who: Engineer) -> ThresholdsOut:
    try:
        thresholds = Thresholds(reject=body.reject, review=body.review)
    except ValidationError as error:
        raise unprocessable("; ".join(item["msg"] for item in error.errors()), "body") from error
    try:
        return _out(line.registry.set_thresholds(thresholds, actor=who.name, force=body.force))
    except RegistryError as error:
        raise http_error(error) from error
