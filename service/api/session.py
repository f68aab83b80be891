"""Who is calling: lets the dashboard show the controls the caller's API key allows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from gaikan.service.api.deps import allow, get_authenticator
from gaikan.service.api.errors import AUTH_ERRORS
from gaikan.service.auth import Authenticator, Principal
from gaikan.service.settings import Role

router = APIRouter(prefix="/api/v1", tags=["session"], responses=AUTH_ERRORS)


class WhoAmIOut(BaseModel):
    name: str = Field(description="The key holder's name, as recorded in the audit trail")
    role: Role
    keys_required: bool = Field(description="False when the service runs without API keys (loopback only)")


@router.get("/whoami", response_model=WhoAmIOut, summary="The caller's name and role")
def whoami(
    who: Annotated[Principal, Depends(allow(Role.OPERATOR, Role.PLC))],
    authenticator: Annotated[Authenticator, Depends(get_authenticator)],
) -> WhoAmIOut:
    return WhoAmIOut(name=who.name, role=who.role, keys_required=authenticator.enabled)
