"""Model versions: upload, list, activate (hot swap), rollback, shadow."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from gaikan.service.api.deps import Engineer, Reader, ServicesDep
from gaikan.service.api.schemas import ModelVersionOut, ShadowOut

router = APIRouter(prefix="/api/v1/models", tags=["models"])


@router.get("", response_model=list[ModelVersionOut], summary="Known model versions, oldest first")
def list_models(services: ServicesDep, _: Reader) -> list[ModelVersionOut]:
    return services.models.all()


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail=f"package larger than the {limit // (1024 * 1024)} MiB upload limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail=f"package larger than the {limit // (1024 * 1024)} MiB upload limit")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "",
    response_model=ModelVersionOut,
    status_code=201,
    summary="Upload a model package (the zip file as the request body)",
    openapi_extra={"requestBody": {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}, "required": True}},
)
async def upload_model(request: Request, services: ServicesDep, who: Engineer) -> ModelVersionOut:
    data = await _read_limited(request, int(services.context.settings.max_upload_mb * 1024 * 1024))
    if not data:
        raise HTTPException(status_code=400, detail="empty request body: send the package zip as the body")
    return await services.models.upload(data, actor=who.name)


@router.post("/rollback", response_model=ModelVersionOut, summary="Return to the previously active version")
def rollback(services: ServicesDep, who: Engineer) -> ModelVersionOut:
    return services.models.rollback(actor=who.name)


@router.delete("/shadow", status_code=204, summary="Stop shadow scoring")
def stop_shadow(services: ServicesDep, who: Engineer) -> None:
    services.shadow.stop(actor=who.name)


@router.post("/{version}/shadow", response_model=ShadowOut, summary="Score live frames with this version beside the active one")
def start_shadow(version: str, services: ServicesDep, who: Engineer) -> ShadowOut:
    return services.shadow.start(version, actor=who.name)


@router.get("/{version}/shadow", response_model=ShadowOut, summary="Agreement of a shadow version with the active model")
def shadow_report(version: str, services: ServicesDep, _: Reader) -> ShadowOut:
    return services.shadow.report(version)


@router.post("/{version}/activate", response_model=ModelVersionOut, summary="Hot-swap to this version between frames")
def activate(version: str, services: ServicesDep, who: Engineer) -> ModelVersionOut:
    return services.models.activate(version, actor=who.name)
