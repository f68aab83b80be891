"""Decision fields are declared once (`DecisionRecord`) and the table, the API's `DecisionOut` and
the CSV export are derived from them: same fields, same values, and the table unchanged."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

from sqlalchemy import inspect

from gaikan.models.thresholds import Thresholds
from gaikan.service.api.schemas import DecisionOut
from gaikan.service.decision import Outcome, Reason
from gaikan.service.line import Stores
from gaikan.service.records import DECISION_FIELDS, DecisionRecord, StoredDecision, ViewResult, csv_header, csv_row
from gaikan.service.storage.database import sqlite_url

# The decisions table as shipped (Alembic's first revision): a declaration that changes it needs a
# migration, and this list says so by failing.
SHIPPED_TABLE = [
    ("line_id", "VARCHAR(64)", False), ("seq", "INTEGER", False), ("frame_id", "VARCHAR(200)", False), ("camera_id", "VARCHAR(100)", False),
    ("captured_at", "FLOAT", False), ("decided_at", "FLOAT", False), ("score", "FLOAT", True),
    ("decision", "VARCHAR(16)", False), ("reason", "VARCHAR(32)", False), ("model_version", "VARCHAR(64)", True),
    ("threshold_reject", "FLOAT", True), ("threshold_review", "FLOAT", True), ("latency_ms", "FLOAT", False),
    ("stages_ms", "JSON", False), ("detail", "TEXT", True), ("source", "VARCHAR(500)", True),
    ("image_path", "VARCHAR(500)", True), ("heatmap_path", "VARCHAR(500)", True), ("views", "JSON", True),
    ("view_pictures", "JSON", True),
]  # fmt: skip


def _record(**changes: object) -> DecisionRecord:
    now = time.time()
    values: dict[str, object] = dict(
        frame_id="cam:7", camera_id="cam", captured_at=now, decided_at=now + 0.0123456, decision=Outcome.REVIEW,
        reason=Reason.SCORE, score=3.5, model_version="m1", thresholds=Thresholds(reject=5.0, review=3.0),
        stages_ms={"inference": 1.23456}, detail=None, source="0007_good.png",
    )  # fmt: skip
    return DecisionRecord(**(values | changes))  # type: ignore[arg-type]


def test_the_table_is_the_shipped_one(tmp_path: Path) -> None:
    stores = Stores.open(sqlite_url(tmp_path / "g.db"))
    columns = inspect(stores.engine).get_columns("decisions")
    assert [(c["name"], str(c["type"]).replace("DOUBLE", "FLOAT"), c["nullable"]) for c in columns] == SHIPPED_TABLE
    stores.engine.dispose()


def test_every_declared_field_reaches_the_api_and_the_csv() -> None:
    names = [f.name for f in DECISION_FIELDS]
    assert list(DecisionOut.model_fields) == ["line_id", "seq", *names, "has_image", "has_heatmap", "view_pictures", "recheck"]
    for declared in DECISION_FIELDS:
        if declared.description:
            assert DecisionOut.model_fields[declared.name].description == declared.description
    header = csv_header()
    assert header == [
        "seq", "frame_id", "camera_id", "captured_at", "decided_at", "score", "decision", "reason", "model_version",
        "threshold_reject", "threshold_review", "latency_ms", "detail", "source", "views",
    ]  # fmt: skip


def test_a_stored_decision_reads_back_the_same_through_the_store_api_and_csv(tmp_path: Path) -> None:
    stores = Stores.open(sqlite_url(tmp_path / "g.db"))
    views = (
        ViewResult(view="top", camera_id="cam-a", frame_id="cam-a:7", decision=Outcome.PASS, reason=Reason.SCORE, score=1.5, latency_ms=12.0),
        ViewResult(view="side", camera_id="cam-b", decision=Outcome.REJECT, reason=Reason.VIEW_MISSING, detail="late"),
    )
    records = [
        _record(),
        _record(thresholds=None, score=None, decision=Outcome.REJECT, reason=Reason.TIMEOUT, detail="late"),
        _record(decision=Outcome.REJECT, reason=Reason.VIEW_MISSING, views=views),
    ]
    for stored in stores.decisions.append(records):
        again = stores.decisions.get(stored.seq)
        assert again is not None and again.record == stored.record
        api = DecisionOut.of(again).model_dump(mode="json")
        row = dict(zip(csv_header(), next(csv.reader(io.StringIO(_csv_line(again)))), strict=True))
        assert row["seq"] == str(api["seq"]) == str(stored.seq)
        for name in ("frame_id", "camera_id", "decision", "reason", "model_version", "detail", "source"):
            assert row[name] == (api[name] or "")
        assert row["score"] == ("" if api["score"] is None else str(api["score"]))
        assert row["latency_ms"] == str(api["latency_ms"]) == str(round(stored.record.latency_ms, 3))
        assert row["captured_at"].replace("+00:00", "Z") == api["captured_at"]
        assert [v["view"] for v in api["views"]] == [v.view for v in stored.record.views]
        assert row["views"] == ";".join(f"{v['view']}={v['decision']}/{v['reason']}" for v in api["views"])
        thresholds = api["thresholds"] or {"reject": "", "review": ""}
        assert (row["threshold_reject"], row["threshold_review"]) == (str(thresholds["reject"]), str(thresholds["review"]))
    stores.engine.dispose()


def _csv_line(stored: StoredDecision) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(csv_row(stored))
    return buffer.getvalue()


def test_latency_is_computed_not_given() -> None:
    record = _record()
    assert record.latency_ms == (record.decided_at - record.captured_at) * 1000.0
