"""Re-check verdicts in both databases: replace and audit, queue, summary counts, export bookkeeping."""

from __future__ import annotations

import time

import pytest

from gaikan.service.decision import Outcome, Reason
from gaikan.service.line import Stores
from gaikan.service.rechecks import RecheckError, Rechecks, UnknownResult, defect_types_for
from gaikan.service.records import DecisionRecord
from gaikan.service.storage.rechecks import Finding

OUTCOMES = [Outcome.REJECT, Outcome.PASS, Outcome.REVIEW, Outcome.REJECT, Outcome.PASS, Outcome.REJECT]


def _line(database_url: str) -> tuple[Stores, Rechecks]:
    stores = Stores.open(database_url)
    now = time.time()
    stores.decisions.append(
        [
            DecisionRecord(
                frame_id=f"c:{i}", camera_id="c", captured_at=now, decided_at=now + i, decision=outcome,
                reason=Reason.SCORE, score=float(i), model_version="v2" if i >= 3 else "v1",
            )
            for i, outcome in enumerate(OUTCOMES)
        ]
    )
    return stores, Rechecks(stores.rechecks, stores.decisions, stores.versions, {"*": ["scratch", "crack"]})


def test_verdicts_queue_and_summary(database_url: str) -> None:
    stores, rechecks = _line(database_url)
    assert [d.seq for d in rechecks.queue(since=None, limit=10)[0]] == [1, 3, 4, 6]
    rechecks.record(1, finding=Finding.GOOD, defect_type=None, note="", actor="olga")
    rechecks.record(1, finding=Finding.DEFECTIVE, defect_type="scratch", note="deep", actor="erik")
    rechecks.record(4, finding=Finding.GOOD, defect_type=None, note=None, actor="olga")
    rechecks.record(5, finding=Finding.DEFECTIVE, defect_type="crack", note=None, actor="olga")  # an escape
    with pytest.raises(UnknownResult):
        rechecks.record(99, finding=Finding.GOOD, defect_type=None, note=None, actor="olga")
    with pytest.raises(RecheckError, match="unknown defect type"):
        rechecks.record(3, finding=Finding.DEFECTIVE, defect_type="dent", note=None, actor="olga")

    current = stores.rechecks.get(1)
    assert (current.verdict, current.defect_type, current.note, current.checked_by) == (Finding.DEFECTIVE, "scratch", "deep", "erik")
    audit = stores.audit.entries(action="recheck.set")
    assert [(e.target, e.actor) for e in audit] == [("result 5", "olga"), ("result 4", "olga"), ("result 1", "erik"), ("result 1", "olga")]
    assert audit[2].old["verdict"] == "good" and audit[2].new["defect_type"] == "scratch"

    items, pending = rechecks.queue(since=None, limit=1)
    assert [d.seq for d in items] == [3] and pending == 2
    assert [d.seq for d in rechecks.queue(since=None, limit=5, after_seq=3)[0]] == [6]

    summary = rechecks.summary(since=None, until=None, model=None)
    total = summary.total
    assert (total.inspected, total.passed, total.flagged) == (6, 2, 4)
    assert (total.confirmed_defective, total.overkill, total.pending, total.escapes) == (1, 1, 2, 1)
    assert summary.by_model["v1"].confirmed_defective == 1 and summary.by_model["v2"].overkill == 1
    assert summary.by_model["v2"].escapes == 1
    assert {k: (t.confirmed_defective, t.escapes) for k, t in summary.by_defect_type.items()} == {"scratch": (1, 0), "crack": (0, 1)}
    only_v1 = rechecks.summary(since=None, until=None, model="v1").total
    assert (only_v1.inspected, only_v1.confirmed_defective, only_v1.overkill) == (3, 1, 0)
    start = stores.decisions.get(4).record.decided_at
    assert rechecks.summary(since=start, until=start + 1.5, model=None).total.inspected == 2


def test_exported_verdicts_are_released_until_changed(database_url: str) -> None:
    stores, rechecks = _line(database_url)
    for seq in (1, 3, 5):
        rechecks.record(seq, finding=Finding.GOOD, defect_type=None, note=None, actor="olga")
    assert stores.rechecks.unexported(list(range(1, 7))) == {1, 3, 5}
    assert stores.rechecks.rechecked_seqs(since=None, until=None, model="v1") == [1, 3]
    snapshot = list(stores.rechecks.for_seqs([1, 3]).values())
    rechecks.record(3, finding=Finding.DEFECTIVE, defect_type=None, note=None, actor="olga")  # changed after reading
    assert stores.rechecks.mark_exported(snapshot) == 1
    assert stores.rechecks.unexported(list(range(1, 7))) == {3, 5}
    assert stores.rechecks.get(1).exported_at is not None
    rechecks.record(1, finding=Finding.DEFECTIVE, defect_type="crack", note=None, actor="olga")
    assert 1 in stores.rechecks.unexported([1]), "a changed verdict must be exported again"


def test_defect_type_lists_per_model_name() -> None:
    configured = {"*": ["scratch"], "cookie": ["crack", "burnt"]}
    assert defect_types_for("cookie", configured) == ["crack", "burnt"]
    assert defect_types_for("other", configured) == ["scratch"]
    assert defect_types_for(None, {}) == []


def test_simultaneous_first_verdicts_keep_one_and_audit_both(database_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    stores, rechecks = _line(database_url)
    findings = [Finding.GOOD, Finding.DEFECTIVE] * 4
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda f: rechecks.record(6, finding=f, defect_type=None, note=None, actor="olga"), findings))
    assert stores.rechecks.get(6).verdict in (Finding.GOOD, Finding.DEFECTIVE)
    entries = stores.audit.entries(action="recheck.set")
    assert len(entries) == len(findings)
    assert sum(entry.old is None for entry in entries) == 1, "exactly one of them was the first"
