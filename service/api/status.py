"""Health and line status."""

from __future__ import annotations

from fastapi import APIRouter

from gaikan.service.api.deps import Reader, ServicesDep
from gaikan.service.api.errors import AUTH_ERRORS
from gaikan.service.api.schemas import StatusOut

router = APIRouter(tags=["status"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/api/v1/status", response_model=StatusOut, summary="Line status, counts and the last decision", responses=AUTH_ERRORS)
def status(services: ServicesDep, _: Reader) -> StatusOut:
    return services.status.status()
