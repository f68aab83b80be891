"""Model versions: upload, list, activate (hot swap), rollback."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from gaikan.service.api.deps import Engineer, LineDep, Reader
from gaikan.service.api.errors import AUTH_ERRORS, error_responses, http_error, unprocessable
from gaikan.service.api.schemas import ModelVersionOut, ShadowOut, utc
from gaikan.service.decision import Outcome
from gaikan.service.line import Line
from gaikan.service.registry import RegistryError
from gaikan.service.storage.model_versions import Activation, ModelVersionRow

router = APIRouter(prefix="/api/v1/models", tags=["models"], responses=AUTH_ERRORS)


def _latest_activations(line: Line) -> dict[str, Activation]:
    """The most recent activation of each version, read in one query."""
    return {activation.version: activation for activation in line.stores.versions.activations()}


def _out(line: Line, row: ModelVersionRow, latest_activations: dict[str, Activation]) -> ModelVersionOut:
    latest = latest_activations.get(row.version)
    active, shadow = line.registry.active, line.registry.shadow
    return ModelVersionOut(
        version=row.version,
        name=row.name,
        architecture=row.architecture,
        graph_sha256=row.graph_sha256,
        uploaded_at=utc(row.uploaded_at),
        uploaded_by=row.uploaded_by,
        activated_at=utc(latest.at) if latest else None,
        activated_by=latest.by if latest else None,
        active=bool(active and active.version == row.version),
        shadow=bool(shadow and shadow.version == row.version),
        manifest=row.manifest,
    )


@router.get("", response_model=list[ModelVersionOut], summary="Known model versions, oldest first")
def list_models(line: LineDep, _: Reader) -> list[ModelVersionOut]:
    latest = _latest_activations(line)
    return [_out(line, row, latest) for row in line.registry.versions()]


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
async def upload_model(request: Request, line: LineDep, who: Engineer) -> ModelVersionOut:
    settings = line.settings
    path = await _spool(request, int(settings.max_upload_mb * 1024 * 1024), Path(settings.data_dir) / "uploads")
    try:
        row = await run_in_threadpool(line.registry.upload, path, actor=who.name, source="upload")
    except RegistryError as error:
        raise http_error(error) from error
    finally:
        path.unlink(missing_ok=True)
    return _out(line, row, _latest_activations(line))


def _version_out(line: Line, version: str) -> ModelVersionOut:
    row = line.stores.versions.get(version)
    assert row is not None
    return _out(line, row, _latest_activations(line))


@router.post("/rollback", response_model=ModelVersionOut, summary="Return to the previously active version", responses=error_responses(409))
def rollback(line: LineDep, who: Engineer) -> ModelVersionOut:
    try:
        active = line.registry.rollback(actor=who.name)
    except RegistryError as error:
        raise http_error(error) from error
    return _version_out(line, active.version)


@router.delete("/shadow", status_code=204, summary="Stop shadow scoring")
def stop_shadow(line: LineDep, who: Engineer) -> None:
    line.registry.set_shadow(None, actor=who.name)


@router.post(
    "/{version}/shadow",
    response_model=ShadowOut,
    summary="Score live frames with this version beside the active one",
    responses=error_responses(404),
)
def start_shadow(version: str, line: LineDep, who: Engineer) -> ShadowOut:
    try:
        line.registry.set_shadow(version, actor=who.name)
    except RegistryError as error:
        raise http_error(error) from error
    line.shadow.reset(version)
    return shadow_report(version, line, who)


@router.get(
    "/{version}/shadow", response_model=ShadowOut, summary="Agreement of a shadow version with the active model", responses=error_responses(404)
)
def shadow_report(version: str, line: LineDep, _: Reader) -> ShadowOut:
    agreement = line.shadow.report(version)
    if agreement is None:
        raise HTTPException(status_code=404, detail=f"version {version!r} has not been run in shadow mode since the service started")
    outcomes = [o.value for o in Outcome]
    shadow = line.registry.shadow
    return ShadowOut(
        version=version,
        shadowing=bool(shadow and shadow.version == version),
        since=utc(agreement.since),
        frames=agreement.frames,
        skipped=agreement.skipped,
        errors=agreement.errors,
        agreement=agreement.agreement,
        confusion={a: {s: agreement.matrix.get((a, s), 0) for s in outcomes} for a in outcomes},
        score_correlation=agreement.score_correlation,
    )


@router.post(
    "/{version}/activate", response_model=ModelVersionOut, summary="Hot-swap to this version between frames", responses=error_responses(404)
)
def activate(version: str, line: LineDep, who: Engineer) -> ModelVersionOut:
    try:
        line.registry.activate(version, actor=who.name)
    except RegistryError as error:
        raise http_error(error) from error
    return _version_out(line, version)
