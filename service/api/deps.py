"""Typed dependencies: the services, and the caller's identity checked against a role set.

They are `async def` on purpose: they never block, and a plain `def` dependency costs a hop to the
thread pool (and back) on every request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, APIKeyQuery

from gaikan.service.auth import Authenticator, Principal
from gaikan.service.services import Services
from gaikan.service.settings import Role

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key (roles: operator, plc, engineer)")
# Browsers cannot set headers on EventSource or <img> requests: the key may come as ?api_key= too.
_api_key_query = APIKeyQuery(name="api_key", auto_error=False, description="API key, for clients that cannot send headers")


async def get_services(request: Request) -> Services:
    return request.app.state.services


async def get_authenticator(request: Request) -> Authenticator:
    return request.app.state.authenticator


ServicesDep = Annotated[Services, Depends(get_services)]


def _identify(authenticator: Authenticator, key: str | None, admitted: set[Role], via: str) -> Principal:
    principal = authenticator.identify(key)
    if principal is None:
        raise HTTPException(status_code=401, detail=f"missing or unknown API key (send it in {via})")
    if principal.role not in admitted:
        raise HTTPException(
            status_code=403,
            detail=f"role '{principal.role}' may not do this (needs {' or '.join(sorted(r.value for r in admitted))})",
        )
    return principal


def allow(*roles: Role) -> Callable[..., Principal]:
    """A dependency that admits callers holding one of `roles` (engineers are always admitted);
    the key comes in the X-API-Key header."""
    admitted = {*roles, Role.ENGINEER}

    async def check(
        authenticator: Annotated[Authenticator, Depends(get_authenticator)],
        header_key: Annotated[str | None, Security(_api_key_header)] = None,
    ) -> Principal:
        return _identify(authenticator, header_key, admitted, "the X-API-Key header")

    return check


def allow_in_query(*roles: Role) -> Callable[..., Principal]:
    """Like `allow`, for the GET reads a browser cannot send headers with (images, EventSource,
    CSV downloads): the key may also come as `?api_key=`. Never for writes."""
    admitted = {*roles, Role.ENGINEER}

    async def check(
        authenticator: Annotated[Authenticator, Depends(get_authenticator)],
        header_key: Annotated[str | None, Security(_api_key_header)] = None,
        query_key: Annotated[str | None, Security(_api_key_query)] = None,
    ) -> Principal:
        return _identify(authenticator, header_key or query_key, admitted, "the X-API-Key header or ?api_key=")

    return check


Reader = Annotated[Principal, Depends(allow(Role.OPERATOR))]
PlcReader = Annotated[Principal, Depends(allow(Role.OPERATOR, Role.PLC))]
Plc = Annotated[Principal, Depends(allow(Role.PLC))]
Engineer = Annotated[Principal, Depends(allow())]
BrowserReader = Annotated[Principal, Depends(allow_in_query(Role.OPERATOR))]  # images, SSE, CSV only
