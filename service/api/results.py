"""Stored decisions: pages, one result, its images."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse, StreamingResponse

from gaikan.service.api.deps import LineDep, Reader
from gaikan.service.api.recheck import RechecksDep, decisions_out
from gaikan.service.api.schemas import DecisionOut, ResultsPage, utc
from gaikan.service.decision import Outcome
from gaikan.service.line import Line
from gaikan.service.records import StoredDecision

router = APIRouter(prefix="/api/v1/results", tags=["results"])


@router.get("", response_model=ResultsPage, summary="Decisions, newest first")
def list_results(
    line: LineDep,
    rechecks: RechecksDep,
    _: Reader,
    decision: Annotated[Outcome | None, Query(description="Only this outcome")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    before_seq: Annotated[int | None, Query(ge=1, description="Only decisions older than this seq (paging)")] = None,
) -> ResultsPage:
    items = line.stores.decisions.page(limit=limit, before_seq=before_seq, decision=decision)
    next_before = items[-1].seq if len(items) == limit else None
    return ResultsPage(items=decisions_out(rechecks, items), next_before_seq=next_before)


CSV_COLUMNS = (
    "seq", "frame_id", "camera_id", "captured_at", "decided_at", "score", "decision", "reason",
    "detail", "model_version", "threshold_reject", "threshold_review", "latency_ms", "source",
)


def _csv_row(stored: StoredDecision) -> list[object]:
    r = stored.record
    return [
        stored.seq, r.frame_id, r.camera_id, utc(r.captured_at).isoformat(), utc(r.decided_at).isoformat(),
        r.score, r.decision.value, r.reason.value, r.detail or "", r.model_version or "",
        r.thresholds.reject if r.thresholds else "", r.thresholds.review if r.thresholds and r.thresholds.review is not None else "",
        round(r.latency_ms, 3), r.source or "",
    ]


@router.get("/export.csv", summary="Decisions in a time range as CSV (oldest first)", response_class=StreamingResponse)
def export_csv(
    line: LineDep,
    _: Reader,
    since: Annotated[datetime | None, Query(description="Decided at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="Decided before (ISO 8601)")] = None,
    decision: Annotated[Outcome | None, Query()] = None,
) -> StreamingResponse:
    if since and until and since >= until:
        raise HTTPException(status_code=422, detail="`since` must be before `until`")
    start = since.timestamp() if since else None
    end = until.timestamp() if until else None

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        after = 0
        while True:
            page = line.stores.decisions.page(
                limit=1000, after_seq=after, since=start, until=end, decision=decision, ascending=True
            )
            for stored in page:
                writer.writerow(_csv_row(stored))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if len(page) < 1000:
                return
            after = page[-1].seq

    return StreamingResponse(
        rows(), media_type="text/csv", headers={"Content-Disposition": 'attachment; filename="gaikan-results.csv"'}
    )


def _get(line: Line, seq: int) -> StoredDecision:
    stored = line.stores.decisions.get(seq)
    if stored is None:
        raise HTTPException(status_code=404, detail=f"no result with seq {seq}")
    return stored


@router.get("/{seq}", response_model=DecisionOut, summary="One decision")
def get_result(seq: int, line: LineDep, rechecks: RechecksDep, _: Reader) -> DecisionOut:
    return decisions_out(rechecks, [_get(line, seq)])[0]


def _png(path: str | None, what: str, seq: int) -> FileResponse:
    if path is None or not Path(path).is_file():
        raise HTTPException(
            status_code=404,
            detail=f"no {what} kept for result {seq} (only rejects, reviews and a sample of passes are kept, within the disk budget)",
        )
    return FileResponse(path, media_type="image/png")


@router.get("/{seq}/image", summary="The part image (PNG)", response_class=FileResponse)
def get_image(seq: int, line: LineDep, _: Reader) -> FileResponse:
    return _png(_get(line, seq).image_path, "image", seq)


@router.get("/{seq}/heatmap", summary="The anomaly heatmap over the part image (PNG)", response_class=FileResponse)
def get_heatmap(seq: int, line: LineDep, _: Reader) -> FileResponse:
    return _png(_get(line, seq).heatmap_path, "heatmap", seq)
