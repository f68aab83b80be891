"""Decision counts by outcome since a point in time (a shift's start, for the dashboard)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from gaikan.service.api.deps import Reader, ServicesDep
from gaikan.service.api.errors import AUTH_ERRORS
from gaikan.service.api.schemas import IsoDateTime, utc

router = APIRouter(prefix="/api/v1", tags=["status"], responses=AUTH_ERRORS)


class CountsOut(BaseModel):
    since: datetime | None = Field(description="Start of the counted period; null counts everything stored")
    until: datetime
    counts: dict[str, int] = Field(description="Decisions by outcome (pass, review, reject)")


@router.get("/counts", response_model=CountsOut, summary="Decisions by outcome since a time")
def counts(
    services: ServicesDep,
    _: Reader,
    since: Annotated[IsoDateTime | None, Query(description="ISO 8601 time (with zone) to count from, e.g. the shift start")] = None,
) -> CountsOut:
    now = time.time()
    start = since.timestamp() if since is not None else None
    return CountsOut(since=utc(start) if start is not None else None, until=utc(now), counts=services.status.counts(start))
