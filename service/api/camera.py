"""Camera actions: the software trigger."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from gaikan.camera.source import CameraConfigError, CameraFault
from gaikan.service.api.deps import Engineer, LineDep
from gaikan.service.api.errors import AUTH_ERRORS, error_responses

router = APIRouter(prefix="/api/v1/camera", tags=["camera"], responses=AUTH_ERRORS)


@router.post("/trigger", status_code=202, summary="Fire the camera's software trigger (one part)", responses=error_responses(409, 503))
def software_trigger(line: LineDep, _: Engineer) -> dict[str, str]:
    source = line.pipeline.source if line.pipeline else None
    trigger = getattr(source, "trigger", None)
    if source is None or trigger is None:
        kind = line.settings.camera.kind if line.settings.camera else "none"
        raise HTTPException(status_code=409, detail=f"this camera ({kind}) has no software trigger")
    try:
        trigger()
    except CameraConfigError as error:
        raise HTTPException(status_code=409, detail=str(error)) from error
    except CameraFault as error:
        raise HTTPException(status_code=503, detail=f"camera unavailable: {error}") from error
    return {"camera_id": source.camera_id, "status": "triggered"}
