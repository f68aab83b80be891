"""The stores on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import time

from gaikan.models.thresholds import Thresholds
from gaikan.service.decision import Outcome, Reason
from gaikan.service.line import Stores
from gaikan.service.records import DecisionRecord, ViewPictures


def _record(i: int, outcome: Outcome = Outcome.PASS, at: float | None = None) -> DecisionRecord:
    t = at if at is not None else time.time()
    return DecisionRecord(
        frame_id=f"cam:{i}", camera_id="cam", captured_at=t, decided_at=t + 0.01, decision=outcome,
        reason=Reason.SCORE, score=float(i), model_version="m1", thresholds=Thresholds(reject=5.0, review=3.0),
        stages_ms={"inference_ms": 1.5},
    )


def test_seq_is_monotonic_and_survives_reopening(database_url: str) -> None:
    stores = Stores.open(database_url)
    first = stores.decisions.append([_record(i) for i in range(3)])
    assert [d.seq for d in first] == [1, 2, 3]
    stores.engine.dispose()
    reopened = Stores.open(database_url)
    more = reopened.decisions.append([_record(3, Outcome.REJECT)])
    assert more[0].seq == 4 and reopened.decisions.last_seq() == 4
    stored = reopened.decisions.get(4)
    assert stored.record == more[0].record
    assert [d.seq for d in reopened.decisions.after(2, limit=10)] == [3, 4]
    reopened.engine.dispose()


def test_pages_filters_and_counts(database_url: str) -> None:
    stores = Stores.open(database_url)
    old = time.time() - 7200
    stores.decisions.append([_record(0, Outcome.REJECT, at=old), _record(1, at=old)])
    stores.decisions.append([_record(2), _record(3, Outcome.REVIEW), _record(4, Outcome.REJECT)])
    assert [d.seq for d in stores.decisions.page(limit=2)] == [5, 4]
    assert [d.seq for d in stores.decisions.page(limit=10, before_seq=3)] == [2, 1]
    assert [d.seq for d in stores.decisions.page(limit=10, decision=Outcome.REJECT)] == [5, 1]
    assert stores.decisions.counts() == {"pass": 2, "review": 1, "reject": 2}
    assert stores.decisions.counts(since=time.time() - 3600) == {"pass": 1, "review": 1, "reject": 1}
    stores.decisions.attach_evidence(5, "/x/5.png", "/x/5_heatmap.png")
    assert stores.decisions.get(5).heatmap_path == "/x/5_heatmap.png"
    views = {"top": ViewPictures("/x/4.top.png", "/x/4.top_heatmap.jpg"), "side": ViewPictures("/x/4.side.png", None)}
    stores.decisions.attach_evidence(4, "/x/4.top.png", "/x/4.top_heatmap.jpg", views)
    assert stores.decisions.get(4).view_pictures == views, "a station part's pictures per view"
    stores.decisions.attach_evidence(4, None, None)
    assert stores.decisions.get(4).view_pictures == {} and stores.decisions.get(4).image_path is None
    stores.engine.dispose()


def test_acks_thresholds_audit_and_activation_history(database_url: str) -> None:
    stores = Stores.open(database_url)
    assert stores.acks.acknowledge("plc-1", 7) == 7
    assert stores.acks.acknowledge("plc-1", 3) == 7
    assert stores.acks.acknowledged("plc-2") == 0

    stores.thresholds.set("m1", Thresholds(reject=2.0), actor="eve", old=Thresholds(reject=1.0))
    stores.thresholds.set("m1", Thresholds(reject=3.0, review=2.5), actor="eve", old=Thresholds(reject=2.0))
    assert stores.thresholds.get("m1") == Thresholds(reject=3.0, review=2.5)
    assert stores.thresholds.get("m2") is None

    for version, kind in (("a", "activate"), ("b", "activate"), ("c", "activate"), ("b", "rollback"), ("a", "rollback")):
        stores.versions.record_activation(version, actor="eve", previous=None, kind=kind)
    assert stores.versions.activation_stack() == ["a"]
    stores.versions.record_activation("c", actor="eve", previous="a")
    assert stores.versions.activation_stack() == ["a", "c"]

    entries = stores.audit.entries(limit=100)
    assert [e.action for e in entries][:2] == ["model.activate", "model.rollback"]
    update = stores.audit.entries(action="thresholds.update")[0]
    assert (update.actor, update.old, update.new) == ("eve", {"reject": 2.0, "review": None}, {"reject": 3.0, "review": 2.5})
    stores.engine.dispose()


def test_a_line_records_its_decisions_in_either_database(database_url: str, tmp_path, template_model_file) -> None:
    from gaikan.camera.config import ReplayConfig
    from gaikan.service.line import Line
    from gaikan.service.settings import Settings
    from tests.conftest import write_test_line
    from tests.live_server import wait_for

    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        camera=ReplayConfig(path=write_test_line(tmp_path / "line", 5), fps=None, loop=False),
        initial_model=template_model_file,
        deadline_ms=60_000,  # what is stored is under test, not the timing: a busy host must not turn parts into timeouts
        overflow="block",
    )
    line = Line(settings)
    line.start()
    try:
        wait_for(lambda: line.stores.decisions.last_seq() >= 5)
    finally:
        line.stop()
    reopened = Stores.open(database_url)
    stored = reopened.decisions.page(limit=10, ascending=True)
    outcomes = [d.record.decision.value for d in stored]
    assert outcomes == ["pass", "pass", "reject", "pass", "reject"], [(d.record.reason, d.record.detail) for d in stored]
    assert reopened.versions.activation_stack() == ["t1"]
    reopened.engine.dispose()
