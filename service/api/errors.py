"""Mapping service exceptions to HTTP answers with a reason."""

from __future__ import annotations

from fastapi import HTTPException

from gaikan.service.registry import RegistryError


def http_error(error: RegistryError) -> HTTPException:
    return HTTPException(status_code=error.status_code, detail=str(error))
