"""The one place domain errors become HTTP answers: status code by kind, the message as `detail`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gaikan.service.errors import (
    CameraRefused,
    CameraUnavailable,
    DomainError,
    InvalidInput,
    InvalidPackage,
    LineUnavailable,
    NoActiveModel,
    NotFound,
    VersionConflict,
)

STATUS_CODES: dict[type[DomainError], int] = {
    InvalidInput: 422,
    NotFound: 404,  # UnknownVersion too
    VersionConflict: 409,
    InvalidPackage: 422,
    NoActiveModel: 409,
    CameraRefused: 409,
    CameraUnavailable: 503,
    LineUnavailable: 503,
}


def status_code(error: DomainError) -> int:
    """The status for `error`'s kind (its nearest listed base class); 400 for any other refusal."""
    for kind in type(error).__mro__:
        if kind in STATUS_CODES:
            return STATUS_CODES[kind]  # type: ignore[index]
    return 400


async def _domain_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    return JSONResponse(status_code=status_code(error), content={"detail": str(error)})


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
