"""Several lines in one database (issue 15): each service (one per line) numbers its decisions
gap-free from 1, and reads and writes only its own line's rows. SQLite and a real PostgreSQL."""

from __future__ import annotations

import threading
import time

import sqlalchemy
from alembic import command

from gaikan.models.thresholds import Thresholds
from gaikan.service.decision import Outcome, Reason
from gaikan.service.line import Stores
from gaikan.service.records import DecisionRecord
from gaikan.service.storage.database import connect
from gaikan.service.storage.migrate import _config
from gaikan.service.storage.rechecks import Finding


def _record(i: int, outcome: Outcome = Outcome.PASS) -> DecisionRecord:
    t = time.time()
    return DecisionRecord(
        frame_id=f"cam:{i}", camera_id="cam", captured_at=t, decided_at=t + 0.01, decision=outcome, reason=Reason.SCORE, score=float(i)
    )


def test_two_lines_number_and_see_only_their_own_rows(database_url: str) -> None:
    one, two = Stores.open(database_url, line="line-1"), Stores.open(database_url, line="line-2")
    assert [d.seq for d in one.decisions.append([_record(0), _record(1, Outcome.REJECT)])] == [1, 2]
    assert [d.seq for d in two.decisions.append([_record(0, Outcome.REVIEW)])] == [1]
    assert one.decisions.last_seq() == 2 and two.decisions.last_seq() == 1
    assert one.decisions.counts() == {"pass": 1, "review": 0, "reject": 1}
    assert two.decisions.counts() == {"pass": 0, "review": 1, "reject": 0}
    assert [d.line_id for d in two.decisions.after(0, 10)] == ["line-2"]
    assert one.decisions.for_line("line-2").get(1).record.decision is Outcome.REVIEW
    assert one.decisions.lines() == ["line-1", "line-2"]

    # Acks, re-checks, thresholds, model activations and the audit trail are per line too.
    one.acks.acknowledge("plc", 2)
    assert two.acks.acknowledged("plc") == 0
    two.acks.acknowledge("plc", 1)
    assert one.acks.acknowledged("plc") == 2
    one.rechecks.put(1, verdict=Finding.DEFECTIVE, defect_type=None, note=None, actor="eve")
    two.rechecks.put(1, verdict=Finding.GOOD, defect_type=None, note=None, actor="bob")
    assert one.rechecks.get(1).verdict is Finding.DEFECTIVE and two.rechecks.get(1).verdict is Finding.GOOD
    assert one.rechecks.pending_seqs(since=None, limit=10) == [2] and two.rechecks.pending_seqs(since=None, limit=10) == []
    one.thresholds.set("m1", Thresholds(reject=2.0), actor="eve", old=Thresholds(reject=1.0))
    assert two.thresholds.get("m1") is None
    one.versions.record_activation("m1", actor="eve", previous=None)
    assert one.versions.activation_stack() == ["m1"] and two.versions.activation_stack() == []
    assert {e.actor for e in two.audit.entries()} == {"bob"}
    one.engine.dispose()
    two.engine.dispose()


def test_concurrent_writers_of_two_lines_never_collide_or_leave_gaps(database_url: str) -> None:
    lines = {name: Stores.open(database_url, line=name) for name in ("a", "b")}
    errors: list[BaseException] = []

    def write(stores: Stores) -> None:
        try:
            for batch in range(20):
                stores.decisions.append([_record(batch * 3 + k) for k in range(3)])
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(stores,)) for stores in lines.values() for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for stores in lines.values():
        assert [d.seq for d in stores.decisions.after(0, 1000)] == list(range(1, 121))
        stores.engine.dispose()


def test_upgrade_keeps_rechecks_and_never_reuses_a_seq(database_url: str) -> None:
    """A 0002 database whose newest decision was deleted: the line carries on after the highest seq ever given."""
    engine = connect(database_url)
    with engine.begin() as connection:
        config = _config(connection)
        command.upgrade(config, "0002")
        for i in range(1, 4):
            connection.execute(
                sqlalchemy.text(
                    "INSERT INTO decisions (frame_id, camera_id, captured_at, decided_at, decision, reason, latency_ms, stages_ms) "
                    "VALUES (:f, 'cam', 1.0, 1.1, 'reject', 'score', 100.0, '{}')"
                ),
                {"f": f"cam:{i}"},
            )
        connection.execute(
            sqlalchemy.text("INSERT INTO rechecks (seq, verdict, checked_at, checked_by) VALUES (2, 'good', 5.0, 'eve')")
        )
        connection.execute(sqlalchemy.text("DELETE FROM decisions WHERE seq = 3"))
    engine.dispose()

    stores = Stores.open(database_url)
    assert stores.rechecks.get(2).verdict is Finding.GOOD
    assert [d.seq for d in stores.decisions.after(0, 10)] == [1, 2]
    assert stores.decisions.append([_record(9)])[0].seq == 4
    stores.engine.dispose()
