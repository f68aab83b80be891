"""Decisions: paged list, one result, its images, CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Path as PathParam, Query
from fastapi.responses import FileResponse, StreamingResponse

from gaikan.service.api.csv_download import CSV, csv_responses, download_headers
from gaikan.service.api.deps import BrowserReader, Reader, ServicesDep
from gaikan.service.api.errors import AUTH_ERRORS, error_responses
from gaikan.service.api.recheck import decisions_out
from gaikan.service.api.schemas import INT64_MAX, DecisionOut, IsoDateTime, ResultsPage
from gaikan.service.decision import Outcome
from gaikan.service.records import LINE_ID_PATTERN, csv_header, csv_row
from gaikan.service.stations import NAME_PATTERN

router = APIRouter(prefix="/api/v1/results", tags=["results"], responses=AUTH_ERRORS)

Seq = Annotated[int, PathParam(ge=1, le=INT64_MAX, description="The decision's seq")]
View = Annotated[str, PathParam(pattern=NAME_PATTERN, description="The view's name in its station (`views[].view` of the result)")]


@router.get("", response_model=ResultsPage, summary="Decisions, newest first")
def list_results(
    services: ServicesDep,
    _: Reader,
    decision: Annotated[Outcome | None, Query(description="Only this outcome")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    before_seq: Annotated[int | None, Query(ge=1, le=INT64_MAX, description="Only decisions older than this seq (paging)")] = None,
    line: Annotated[
        str | None,
        Query(
            pattern=LINE_ID_PATTERN,
            description="Another line's decisions, written by that line's service to the same database "
            "(default: this service's line; re-check verdicts are shown for this line only)",
        ),
    ] = None,
) -> ResultsPage:
    items = services.results.page(limit=limit, before_seq=before_seq, decision=decision, line=line)
    next_before = items[-1].seq if len(items) == limit else None
    out = decisions_out(services.rechecks, items) if services.results.is_own_line(line) else [DecisionOut.of(i) for i in items]
    return ResultsPage(items=out, next_before_seq=next_before)


@router.get(
    "/export.csv",
    summary="Decisions in a time range as CSV (oldest first)",
    response_class=StreamingResponse,
    responses=csv_responses("CSV, one decision a row", 422),
)
def export_csv(
    services: ServicesDep,
    _: BrowserReader,
    since: Annotated[IsoDateTime | None, Query(description="Decided at or after (ISO 8601 with zone)")] = None,
    until: Annotated[IsoDateTime | None, Query(description="Decided before (ISO 8601 with zone)")] = None,
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
        rows(), media_type=CSV, headers=download_headers("gaikan-results.csv")
    )


_NOT_FOUND = error_responses(404)
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_PNG = {200: {"content": {"image/png": _BINARY}, "description": "PNG"}, **_NOT_FOUND}
_HEATMAP = {200: {"content": {"image/jpeg": _BINARY, "image/png": _BINARY}, "description": "JPEG (PNG for heatmaps saved by earlier versions)"}, **_NOT_FOUND}


@router.get("/{seq}", response_model=DecisionOut, summary="One decision", responses=_NOT_FOUND)
def get_result(seq: Seq, services: ServicesDep, _: Reader) -> DecisionOut:
    return decisions_out(services.rechecks, [services.results.get(seq)])[0]


@router.get("/{seq}/image", summary="The part image (PNG)", response_class=FileResponse, responses=_PNG)
def get_image(seq: Seq, services: ServicesDep, _: BrowserReader) -> FileResponse:
    return FileResponse(services.results.picture(seq, "image"), media_type="image/png")


@router.get("/{seq}/heatmap", summary="The anomaly heatmap over the part image (JPEG)", response_class=FileResponse, responses=_HEATMAP)
def get_heatmap(seq: Seq, services: ServicesDep, _: BrowserReader) -> FileResponse:
    path = services.results.picture(seq, "heatmap")
    return FileResponse(path, media_type="image/png" if path.suffix == ".png" else "image/jpeg")


@router.get(
    "/{seq}/views/{view}/image",
    summary="One view's part image of a station's part (PNG)",
    description="404 when the result has no such view (one camera's decision has none) or its image was not kept.",
    response_class=FileResponse,
    responses=_PNG,
)
def get_view_image(seq: Seq, view: View, services: ServicesDep, _: BrowserReader) -> FileResponse:
    return FileResponse(services.results.view_picture(seq, view, "image"), media_type="image/png")


@router.get(
    "/{seq}/views/{view}/heatmap",
    summary="One view's anomaly heatmap of a station's part (JPEG)",
    description="404 when the result has no such view (one camera's decision has none) or its heatmap was not kept.",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": _BINARY}, "description": "JPEG"}, **_NOT_FOUND},
)
def get_view_heatmap(seq: Seq, view: View, services: ServicesDep, _: BrowserReader) -> FileResponse:
    return FileResponse(services.results.view_picture(seq, view, "heatmap"), media_type="image/jpeg")
