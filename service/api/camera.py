"""Camera actions: the software trigger."""

from __future__ import annotations

from fastapi import APIRouter

from gaikan.service.api.deps import Engineer, ServicesDep
from gaikan.service.api.errors import AUTH_ERRORS, error_responses

router = APIRouter(prefix="/api/v1/camera", tags=["camera"], responses=AUTH_ERRORS)


@router.post("/trigger", status_code=202, summary="Fire the software trigger of every camera that has one (one part; a station's views at once)", responses=error_responses(409, 503))
def software_trigger(services: ServicesDep, _: Engineer) -> dict[str, str]:
    return {"camera_id": services.camera.trigger(), "status": "triggered"}
