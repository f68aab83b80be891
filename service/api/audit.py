"""The audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gaikan.service.api.deps import Reader, ServicesDep
from gaikan.service.api.errors import AUTH_ERRORS
from gaikan.service.api.schemas import INT64_MAX, AuditOut, utc

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=AUTH_ERRORS)


@router.get("", response_model=list[AuditOut], summary="Changes, newest first")
def list_audit(
    services: ServicesDep,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
    action: Annotated[str | None, Query(description="e.g. thresholds.update, model.activate")] = None,
) -> list[AuditOut]:
    return [
        AuditOut(id=e.id, at=utc(e.at), actor=e.actor, action=e.action, target=e.target, old=e.old, new=e.new)
        for e in services.results.audit(limit=limit, before_id=before_id, action=action)
    ]
