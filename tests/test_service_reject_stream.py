"""The reject stream over real stores (SQLite and PostgreSQL): order, acks, heartbeat, liveness."""

from __future__ import annotations

import time

import pytest

from gaikan.service.decision import Outcome, Reason
from gaikan.service.line import Stores
from gaikan.service.records import DecisionRecord
from gaikan.service.reject_stream import PLC_BACKLOG, AckBeyondNewest, LineState, RejectStream, StreamLimits


class Clock:
    """Time that moves when the test says so (liveness is about minutes, the test about ms)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def store_decisions(stores: Stores, count: int, at: float) -> list[int]:
    records = [
        DecisionRecord(
            frame_id=f"f{i}", camera_id="cam", captured_at=at, decided_at=at, decision=Outcome.REJECT, reason=Reason.SCORE, score=3.0
        )
        for i in range(count)
    ]
    return [stored.seq for stored in stores.decisions.append(records)]


@pytest.fixture
def stores(database_url: str):
    stores = Stores.open(database_url)
    yield stores
    stores.engine.dispose()


def line_state(*reasons: str) -> LineState:
    return LineState(fail_safe=reasons, camera_state="running", active_model="m1")


def test_acks_are_per_client_never_move_back_and_resume_in_a_new_stream(stores: Stores) -> None:
    stream = RejectStream(stores.decisions, stores.acks, lambda: line_state())
    seqs = store_decisions(stores, 5, time.time())
    assert [d.seq for d in stream.after("plc-a", None, 10)] == seqs
    assert stream.acknowledge("plc-a", seqs[2]) == seqs[2]
    assert stream.acknowledge("plc-a", seqs[0]) == seqs[2], "acks never move backwards"
    assert [d.seq for d in stream.after("plc-a", None, 10)] == seqs[3:]
    assert [d.seq for d in stream.after("plc-b", None, 10)] == seqs, "each client has its own acked seq"
    with pytest.raises(AckBeyondNewest):
        stream.acknowledge("plc-a", seqs[-1] + 1)

    restarted = RejectStream(stores.decisions, stores.acks, lambda: line_state())
    assert [d.seq for d in restarted.buffer("plc-a", 10).items] == seqs[3:]


def test_heartbeat_counts_pending_and_backlog_is_fail_safe(stores: Stores) -> None:
    stream = RejectStream(stores.decisions, stores.acks, lambda: line_state("camera_fault"), StreamLimits(buffer_limit=3))
    seqs = store_decisions(stores, 5, time.time())
    beat = stream.heartbeat("plc")
    assert (beat.last_seq, beat.acked_seq, beat.pending) == (seqs[-1], 0, 5)
    assert beat.fail_safe == ("camera_fault", PLC_BACKLOG), "more waiting than the buffer limit: reject everything"
    stream.acknowledge("plc", seqs[1])
    beat = stream.heartbeat("plc")
    assert beat.pending == 3 and beat.fail_safe == ("camera_fault",)
    store_decisions(stores, 1, time.time())
    assert stream.heartbeat("plc").pending == 4


def test_pending_stays_exact_for_a_client_that_never_acknowledges_while_decisions_arrive(stores: Stores) -> None:
    """Only the newly arrived decisions are counted each time; the count and the oldest waiting
    decision stay right across arrivals and acknowledgements."""
    stream = RejectStream(stores.decisions, stores.acks, lambda: line_state())
    seqs = store_decisions(stores, 3, time.time())
    assert stream.heartbeat("plc").pending == 3
    for batch in (2, 1, 4):
        seqs += store_decisions(stores, batch, time.time())
        assert stream.heartbeat("plc").pending == len(seqs)
        assert [d.seq for d in stream.buffer("plc", 1).items] == [seqs[0]]
    stream.acknowledge("plc", seqs[4])
    seqs += store_decisions(stores, 2, time.time())
    assert stream.heartbeat("plc").pending == len(seqs) - 5
    assert [d.seq for d in stream.buffer("plc", 1).items] == [seqs[5]]
    stream.acknowledge("plc", seqs[-1])
    assert (stream.heartbeat("plc").pending, stream.buffer("plc", 1).items) == (0, [])


def test_a_client_that_stops_polling_or_acknowledging_is_reported_silent(stores: Stores) -> None:
    clock = Clock()
    stream = RejectStream(stores.decisions, stores.acks, lambda: line_state(), StreamLimits(silence_s=10, watch=("plc",)), clock)
    assert [c.silent_for_s for c in stream.liveness()] == [None]
    clock.now += 11
    assert stream.heartbeat("other").plc_silent == ("plc",), "a watched client never seen is silent after silence_s"

    stream.heartbeat("plc")
    assert stream.heartbeat("plc").plc_silent == ()
    seqs = store_decisions(stores, 2, clock.now)
    clock.now += 5
    stream.after("plc", None, 10)  # polls, does not acknowledge
    clock.now += 6
    stream.after("plc", None, 10)
    (plc,) = [c for c in stream.liveness() if c.client == "plc"]
    assert plc.silent_for_s is not None and plc.pending == 2, "polling without acknowledging waiting decisions is a stall"

    stream.acknowledge("plc", seqs[-1])
    assert all(c.silent_for_s is None for c in stream.liveness() if c.client == "plc")
    clock.now += 30  # nothing waits: a client polling nothing new is not asked to acknowledge
    stream.heartbeat("plc")
    assert [c.silent_for_s for c in stream.liveness() if c.client == "plc"] == [None]
