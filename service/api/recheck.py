"""Re-check verdicts, the re-check queue and the line's own confusion matrix."""

from __future__ import annotations

import csv
import io
import time
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path as PathParam, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from gaikan.service.api.csv_download import CSV, csv_responses, download_headers
from gaikan.service.api.deps import BrowserReader, Reader
from gaikan.service.api.errors import AUTH_ERRORS, error_responses
from gaikan.service.api.schemas import INT64_MAX, DecisionOut, IsoDateTime, RecheckOut, utc
from gaikan.service.errors import NotFound
from gaikan.service.periods import check_period
from gaikan.service.rechecks import DEFECT_TYPE_PATTERN, ESCAPES_NOTE, Rechecks, Summary, Tally
from gaikan.service.records import StoredDecision
from gaikan.service.storage.rechecks import Finding

router = APIRouter(prefix="/api/v1", tags=["recheck"], responses=AUTH_ERRORS)


def get_rechecks(request: Request) -> Rechecks:
    return request.app.state.services.rechecks


RechecksDep = Annotated[Rechecks, Depends(get_rechecks)]


def decisions_out(rechecks: Rechecks, results: list[StoredDecision]) -> list[DecisionOut]:
    """Decisions for the API, each with its re-check verdict when there is one."""
    found = rechecks.for_results(results)
    return [
        DecisionOut.of(stored).model_copy(
            update={"recheck": RecheckOut.of(found[stored.seq]) if stored.seq in found else None}
        )
        for stored in results
    ]


class RecheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Finding = Field(description="What the person found: `defective` or `good`")
    defect_type: str | None = Field(
        default=None, pattern=DEFECT_TYPE_PATTERN, description="With `defective`: one of the model's defect types"
    )
    note: str | None = Field(default=None, max_length=1000)


class QueueOut(BaseModel):
    items: list[DecisionOut] = Field(description="Flagged parts not re-checked yet, oldest first")
    pending: int = Field(description="How many flagged parts wait for a re-check in all (since `since`)")


class DefectTypesOut(BaseModel):
    model_version: str | None
    defect_types: list[str] = Field(description="Empty: any defect type name is accepted")


class TallyOut(BaseModel):
    inspected: int
    passed: int
    flagged: int = Field(description="Sent to review or rejected")
    confirmed_defective: int = Field(description="Flagged, and a person found a defect")
    overkill: int = Field(description="Flagged, and a person found the part good")
    pending: int = Field(description="Flagged, not re-checked yet")
    escapes: int = Field(description="Passed, and a person later found a defect (a lower bound: see `note`)")


class ModelTallyOut(TallyOut):
    model_version: str | None


class DefectTypeOut(BaseModel):
    defect_type: str | None = Field(description="null: defective without a type")
    confirmed_defective: int
    escapes: int


class SummaryOut(BaseModel):
    since: datetime | None
    until: datetime
    model: str | None
    total: TallyOut
    by_model: list[ModelTallyOut]
    by_defect_type: list[DefectTypeOut]
    note: str = Field(description="What the escape count can and cannot say")


def _tally(tally: Tally) -> dict[str, int]:
    return {name: getattr(tally, name) for name in TallyOut.model_fields}


def _summary_out(summary: Summary, since: float | None, until: float, model: str | None) -> SummaryOut:
    return SummaryOut(
        since=utc(since) if since is not None else None,
        until=utc(until),
        model=model,
        total=TallyOut(**_tally(summary.total)),
        by_model=[
            ModelTallyOut(model_version=version, **_tally(tally))
            for version, tally in sorted(summary.by_model.items(), key=lambda item: item[0] or "")
        ],
        by_defect_type=[
            DefectTypeOut(defect_type=kind, confirmed_defective=tally.confirmed_defective, escapes=tally.escapes)
            for kind, tally in sorted(summary.by_defect_type.items(), key=lambda item: item[0] or "")
        ],
        note=ESCAPES_NOTE,
    )


Seq = Annotated[int, PathParam(ge=1, le=INT64_MAX, description="The decision's seq")]


@router.put(
    "/results/{seq}/recheck",
    response_model=RecheckOut,
    summary="Record what a person found on a part",
    responses=error_responses(400, 404, 422),
)
def put_recheck(seq: Seq, body: RecheckIn, rechecks: RechecksDep, who: Reader) -> RecheckOut:
    return RecheckOut.of(rechecks.record(seq, finding=body.verdict, defect_type=body.defect_type, note=body.note, actor=who.name))


@router.get("/results/{seq}/recheck", response_model=RecheckOut, summary="The re-check verdict on a part", responses=error_responses(404))
def get_recheck(seq: Seq, rechecks: RechecksDep, _: Reader) -> RecheckOut:
    recheck = rechecks.get(seq)
    if recheck is None:
        raise NotFound(f"result {seq} has not been re-checked")
    return RecheckOut.of(recheck)


@router.get("/recheck/queue", response_model=QueueOut, summary="Flagged parts waiting for a re-check, oldest first")
def queue(
    rechecks: RechecksDep,
    _: Reader,
    since: Annotated[IsoDateTime | None, Query(description="Only parts decided at or after (e.g. the shift start)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    after_seq: Annotated[int, Query(ge=0, le=INT64_MAX, description="Only parts with a larger seq (paging)")] = 0,
) -> QueueOut:
    items, pending = rechecks.queue(since=since.timestamp() if since else None, limit=limit, after_seq=after_seq)
    return QueueOut(items=decisions_out(rechecks, items), pending=pending)


@router.get("/recheck/defect-types", response_model=DefectTypesOut, summary="Defect types offered for a model version")
def defect_types(
    rechecks: RechecksDep, _: Reader, model_version: Annotated[str | None, Query(max_length=64)] = None
) -> DefectTypesOut:
    return DefectTypesOut(model_version=model_version, defect_types=rechecks.defect_types(model_version))


def _period(since: datetime | None, until: datetime | None) -> tuple[float | None, float]:
    """As timestamps, checked as given (service/periods.py), then `until` defaulting to now."""
    start, end = (since.timestamp() if since else None), (until.timestamp() if until else None)
    check_period(start, end)
    return start, end if end is not None else time.time()


SinceQuery = Annotated[IsoDateTime | None, Query(description="Decided at or after (ISO 8601 with zone)")]
UntilQuery = Annotated[IsoDateTime | None, Query(description="Decided before (ISO 8601 with zone; default now)")]
ModelQuery = Annotated[str | None, Query(max_length=64, description="Only this model version")]


@router.get("/recheck/summary", response_model=SummaryOut, summary="The line's confusion matrix from re-checks", responses=error_responses(422))
def summary(rechecks: RechecksDep, _: Reader, since: SinceQuery = None, until: UntilQuery = None, model: ModelQuery = None) -> SummaryOut:
    start, end = _period(since, until)
    return _summary_out(rechecks.summary(since=start, until=end, model=model), start, end, model)


SUMMARY_CSV_COLUMNS = ("group", "key", *TallyOut.model_fields)


@router.get(
    "/recheck/summary.csv",
    summary="The confusion matrix as CSV",
    response_class=Response,
    responses=csv_responses("CSV", 422),
)
def summary_csv(
    rechecks: RechecksDep, _: BrowserReader, since: SinceQuery = None, until: UntilQuery = None, model: ModelQuery = None
) -> Response:
    start, end = _period(since, until)
    result = rechecks.summary(since=start, until=end, model=model)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(SUMMARY_CSV_COLUMNS)
    writer.writerow(["total", "", *_tally(result.total).values()])
    for version, tally in sorted(result.by_model.items(), key=lambda item: item[0] or ""):
        writer.writerow(["model_version", version or "", *_tally(tally).values()])
    for kind, tally in sorted(result.by_defect_type.items(), key=lambda item: item[0] or ""):
        writer.writerow(["defect_type", kind or "", *_tally(tally).values()])
    writer.writerow([])
    writer.writerow(["note", ESCAPES_NOTE])
    return Response(
        buffer.getvalue(),
        media_type=CSV,
        headers=download_headers("gaikan-recheck-summary.csv"),
    )
