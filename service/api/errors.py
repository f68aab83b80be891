"""The one place errors become HTTP answers: domain errors by kind (status code by kind, the message
as `detail`), one JSON shape per status, documented in the OpenAPI; validation errors that always
serialise (non-finite numbers included); 405 with the methods the path really allows."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from starlette.types import Scope

from gaikan.service.errors import (
    CameraRefused,
    CameraUnavailable,
    DomainError,
    InvalidInput,
    InvalidPackage,
    LineUnavailable,
    NoActiveModel,
    NotFound,
    PackageTooBig,
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
    PackageTooBig: 413,
}



class ErrorOut(BaseModel):
    """Why the request was refused."""

    detail: str


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    """What is wrong with the request or its content, item by item (FastAPI's 422 shape)."""

    detail: list[ValidationIssue]


_DESCRIPTIONS = {
    400: "Bad request (the reason is in `detail`)",
    401: "Missing or unknown API key",
    403: "The key's role may not do this",
    404: "Not found",
    409: "Conflicts with the current state (the reason is in `detail`)",
    413: "Request body or package too large",
    422: "Invalid input (what and where in `detail`)",
    503: "A device the request needs is unavailable",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error statuses (all answer `ErrorOut`)."""
    return {code: {"model": ValidationErrorOut if code == 422 else ErrorOut, "description": _DESCRIPTIONS[code]} for code in codes}


AUTH_ERRORS = error_responses(401, 403)


def unprocessable(message: str, *loc: str | int) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors (the schema every 422 declares)."""
    return HTTPException(status_code=422, detail=[{"type": "value_error", "loc": list(loc), "msg": message}])


def _finite(value: Any) -> Any:
    """JSON cannot carry NaN or ±inf: such inputs are echoed back as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def status_code(error: DomainError) -> int:
    """The status for `error`'s kind (its nearest listed base class); 400 for any other refusal."""
    for kind in type(error).__mro__:
        if kind in STATUS_CODES:
            return STATUS_CODES[kind]  # type: ignore[index]
    return 400


async def _domain_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    code = status_code(error)
    if code == 422:  # every 422 has the validation shape its schema declares
        return JSONResponse(status_code=422, content={"detail": [{"type": "value_error", "loc": ["body"], "msg": str(error)}]})
    return JSONResponse(status_code=code, content={"detail": str(error)})


async def _validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": _finite(jsonable_encoder(error.errors()))})


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some API route answers on `path` (asked of the router itself)."""
    allowed = []
    for method in _METHODS:
        scope = {"type": "http", "path": path, "root_path": "", "method": method, "headers": [], "query_string": b""}
        if any(not isinstance(route, SiteMount) and route.matches(scope)[0] is Match.FULL for route in app.router.routes):
            allowed.append(method)
    return allowed


def _method_aware(app: FastAPI) -> Callable[[Request, StarletteHTTPException], Any]:
    async def handle(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 405:
            allow = ", ".join(allowed_methods(app, request.url.path)) or (error.headers or {}).get("Allow", "GET, HEAD")
            return JSONResponse({"detail": f"method {request.method} not allowed here (allowed: {allow})"}, 405, {"Allow": allow})
        return await http_exception_handler(request, error)

    return handle


class SiteMount(Mount):
    """The dashboard's static files at "/", but never for API paths: a wrong method there gets the
    API's 405 and `Allow`, an unknown API path a JSON 404, not an answer from the static files."""

    def __init__(self, app: FastAPI, files: Any, name: str) -> None:
        super().__init__("", app=files, name=name)
        self._api = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path.startswith("/api/") or allowed_methods(self._api, path)):
            return Match.NONE, {}
        return super().matches(scope)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _method_aware(app))  # type: ignore[arg-type]
