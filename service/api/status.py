"""Health and line status."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gaikan.service.api.deps import Reader, ServicesDep
from gaikan.service.api.errors import AUTH_ERRORS
from gaikan.service.api.schemas import StatusOut

router = APIRouter(tags=["status"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/api/v1/status", response_model=StatusOut, summary="Line status, counts and the last decision", responses=AUTH_ERRORS)
async def status(services: ServicesDep, _: Reader) -> Response:
    # Served from the event loop when already built (the common case); built in the thread pool.
    body = services.status.cached_json() or await run_in_threadpool(services.status.status_json)
    return Response(body, media_type="application/json")
