"""Model versions: upload, list, activate (hot swap), rollback, shadow."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request

from gaikan.service.api.deps import Engineer, Reader, ServicesDep
from gaikan.service.api.errors import AUTH_ERRORS, error_responses, unprocessable
from gaikan.service.api.schemas import ModelVersionOut, ShadowOut

router = APIRouter(prefix="/api/v1/models", tags=["models"], responses=AUTH_ERRORS)


@router.get("", response_model=list[ModelVersionOut], summary="Known model versions, oldest first")
def list_models(services: ServicesDep, _: Reader) -> list[ModelVersionOut]:
    return services.models.all()


async def _spool(request: Request, limit: int, folder: Path) -> Path:
    """Stream the request body to a temporary file under `folder` (never all in memory); 413 past `limit`."""
    too_large = HTTPException(status_code=413, detail=f"package larger than the {limit / (1024 * 1024):g} MiB upload limit")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=folder, prefix="upload-", suffix=".zip.partial")
    path, size = Path(name), 0
    try:
        with os.fdopen(handle, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise unprocessable("empty request body: send the package zip as the body", "body")
    return path


@router.post(
    "",
    response_model=ModelVersionOut,
    status_code=201,
    summary="Upload a model package (the zip file as the request body)",
    description="The body is streamed to disk; refused with 413 past `max_upload_mb`, or when the zip holds more than "
    "`max_package_members` files or inflates past `max_package_mb`; 422 when the package is invalid. The running "
    "model is never touched by an upload.",
    openapi_extra={"requestBody": {"content": {"application/zip": {"schema": {"type": "string", "format": "binary", "minLength": 1}}}, "required": True}},
    responses=error_responses(409, 413, 422),
)
async def upload_model(request: Request, services: ServicesDep, who: Engineer) -> ModelVersionOut:
    settings = services.context.settings
    path = await _spool(request, int(settings.max_upload_mb * 1024 * 1024), Path(settings.data_dir) / "uploads")
    try:
        return await services.models.upload(path, actor=who.name)
    finally:
        path.unlink(missing_ok=True)


@router.post("/rollback", response_model=ModelVersionOut, summary="Return to the previously active version", responses=error_responses(409, 503))
def rollback(services: ServicesDep, who: Engineer) -> ModelVersionOut:
    return services.models.rollback(actor=who.name)


@router.delete("/shadow", status_code=204, summary="Stop shadow scoring", responses=error_responses(503))
def stop_shadow(services: ServicesDep, who: Engineer) -> None:
    services.shadow.stop(actor=who.name)


@router.post(
    "/{version}/shadow",
    response_model=ShadowOut,
    summary="Score live frames with this version beside the active one",
    responses=error_responses(404, 422, 503),
)
def start_shadow(version: str, services: ServicesDep, who: Engineer) -> ShadowOut:
    return services.shadow.start(version, actor=who.name)


@router.get(
    "/{version}/shadow", response_model=ShadowOut, summary="Agreement of a shadow version with the active model", responses=error_responses(404)
)
def shadow_report(version: str, services: ServicesDep, _: Reader) -> ShadowOut:
    return services.shadow.report(version)


@router.post(
    "/{version}/activate", response_model=ModelVersionOut, summary="Hot-swap to this version between frames", responses=error_responses(404, 503)
)
def activate(version: str, services: ServicesDep, who: Engineer) -> ModelVersionOut:
    return services.models.activate(version, actor=who.name)
