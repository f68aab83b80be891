"""Stored decisions: pages, one result, its images."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, StreamingResponse

from gaikan.service.api.deps import Reader, ServicesDep
from gaikan.service.api.schemas import DecisionOut, ResultsPage
from gaikan.service.decision import Outcome
from gaikan.service.records import csv_header, csv_row

router = APIRouter(prefix="/api/v1/results", tags=["results"])


@router.get("", response_model=ResultsPage, summary="Decisions, newest first")
def list_results(
    services: ServicesDep,
    _: Reader,
    decision: Annotated[Outcome | None, Query(description="Only this outcome")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    before_seq: Annotated[int | None, Query(ge=1, description="Only decisions older than this seq (paging)")] = None,
) -> ResultsPage:
    items = services.results.page(limit=limit, before_seq=before_seq, decision=decision)
    next_before = items[-1].seq if len(items) == limit else None
    return ResultsPage(items=[DecisionOut.of(item) for item in items], next_before_seq=next_before)


@router.get("/export.csv", summary="Decisions in a time range as CSV (oldest first)", response_class=StreamingResponse)
def export_csv(
    services: ServicesDep,
    _: Reader,
    since: Annotated[datetime | None, Query(description="Decided at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="Decided before (ISO 8601)")] = None,
    decision: Annotated[Outcome | None, Query()] = None,
) -> StreamingResponse:
    pages = services.results.export(
        since=since.timestamp() if since else None, until=until.timestamp() if until else None, decision=decision
    )

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(csv_header())
        for page in pages:
            for stored in page:
                writer.writerow(csv_row(stored))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    return StreamingResponse(
        rows(), media_type="text/csv", headers={"Content-Disposition": 'attachment; filename="gaikan-results.csv"'}
    )


@router.get("/{seq}", response_model=DecisionOut, summary="One decision")
def get_result(seq: int, services: ServicesDep, _: Reader) -> DecisionOut:
    return DecisionOut.of(services.results.get(seq))


@router.get("/{seq}/image", summary="The part image (PNG)", response_class=FileResponse)
def get_image(seq: int, services: ServicesDep, _: Reader) -> FileResponse:
    return FileResponse(services.results.picture(seq, "image"), media_type="image/png")


@router.get("/{seq}/heatmap", summary="The anomaly heatmap over the part image (PNG)", response_class=FileResponse)
def get_heatmap(seq: int, services: ServicesDep, _: Reader) -> FileResponse:
    return FileResponse(services.results.picture(seq, "heatmap"), media_type="image/png")
