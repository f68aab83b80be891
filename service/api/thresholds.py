"""Live thresholds of the active model: effective from the next frame, audited."""

from __future__ import annotations

from fastapi import APIRouter

from gaikan.models.thresholds import Thresholds
from gaikan.service.api.deps import Engineer, Reader, ServicesDep
from gaikan.service.api.schemas import ThresholdsOut

router = APIRouter(prefix="/api/v1/thresholds", tags=["thresholds"])


@router.get("", response_model=ThresholdsOut, summary="Thresholds in force")
def get_thresholds(services: ServicesDep, _: Reader) -> ThresholdsOut:
    return services.thresholds.current()


@router.put("", response_model=ThresholdsOut, summary="Set thresholds for the active model")
def put_thresholds(body: Thresholds, services: ServicesDep, who: Engineer) -> ThresholdsOut:
    return services.thresholds.set(body, actor=who.name)
