"""The one worker lifecycle: start, one stop signal, join with a timeout that logs a survivor."""

from __future__ import annotations

import logging
import queue
import threading

import pytest

from gaikan.service.workers import Worker, put_stop_marker, stop_all


def test_a_worker_runs_until_stopped_and_starts_again_with_a_fresh_thread() -> None:
    rounds: list[int] = []

    def loop(stop: threading.Event) -> None:
        rounds.append(threading.get_ident())
        stop.wait()

    worker = Worker("test-loop", loop)
    for _ in range(2):
        worker.start()
        assert worker.alive
        assert worker.stop() is True
        assert not worker.alive
    assert len(rounds) == 2


def test_wake_unblocks_a_loop_waiting_on_its_queue_after_it_drained_it() -> None:
    work: queue.Queue[int | None] = queue.Queue(maxsize=4)
    done: list[int] = []

    def loop(stop: threading.Event) -> None:
        while (item := work.get()) is not None:
            done.append(item)

    worker = Worker("test-queue", loop, wake=lambda: put_stop_marker(work))
    worker.start()
    for i in range(3):
        work.put(i)
    assert worker.stop() is True
    assert done == [0, 1, 2]


def test_a_worker_that_does_not_stop_is_logged_by_name(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()
    stuck = Worker("test-stuck", lambda _: release.wait(), join_timeout_s=0.1)
    polite = Worker("test-polite", lambda stop: stop.wait())
    stuck.start()
    polite.start()
    with caplog.at_level(logging.WARNING):
        assert stop_all([stuck, polite]) is False
    assert "test-stuck did not stop" in caplog.text and "test-polite" not in caplog.text
    assert not polite.alive and stuck.alive
    with pytest.raises(RuntimeError, match="already running"):
        stuck.start()
    release.set()
    assert stuck.join() is True


def test_a_loop_that_raises_is_logged_and_ends(caplog: pytest.LogCaptureFixture) -> None:
    def broken(_: threading.Event) -> None:
        raise ValueError("boom")

    worker = Worker("test-broken", broken)
    with caplog.at_level(logging.ERROR):
        worker.start()
        assert worker.join() is True
    assert "worker test-broken failed" in caplog.text
