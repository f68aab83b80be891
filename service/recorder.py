"""The storage stage: persists decisions in order, then makes them visible.

Decisions are committed to the store before anyone (PLC, dashboard) can see them; the store
assigns `seq`. A database error is retried, never dropped: a decision is only lost with the
process, and then it was never served.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from typing import Protocol

from gaikan.service.decision import Outcome
from gaikan.service.evidence import Evidence
from gaikan.service.metrics import Metrics
from gaikan.service.records import DecisionRecord, StoredDecision
from gaikan.service.storage.decisions import DecisionStore
from gaikan.service.workers import Worker

log = logging.getLogger(__name__)

Listener = Callable[[StoredDecision], None]


class EvidenceSink(Protocol):
    """Where kept pictures go (`EvidenceProcess`, or an `EvidenceWriter` thread)."""

    def submit(self, seq: int, evidence: Evidence) -> None: ...


class Recorder:
    def __init__(
        self,
        store: DecisionStore,
        metrics: Metrics,
        *,
        evidence: EvidenceSink | None = None,
        keep_pass_fraction: float = 0.0,
        max_group: int = 64,
        seed: int = 0,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._evidence = evidence
        self._keep_pass_fraction = keep_pass_fraction
        self._max_group = max_group
        self._random = random.Random(seed)
        self._queue: queue.SimpleQueue[tuple[DecisionRecord, Evidence | None] | None] = queue.SimpleQueue()
        self._listeners: list[Listener] = []
        self._worker = Worker("gaikan-recorder", self._run, wake=lambda: self._queue.put(None), join_timeout_s=30)
        self._pending = 0  # submitted, not yet stored
        self._pending_changed = threading.Condition()

    def add_listener(self, listener: Listener) -> None:
        """Called (on the recorder thread) with every decision once it is stored."""
        self._listeners.append(listener)

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        """Store everything submitted so far, then stop."""
        self._worker.stop()

    def submit(self, record: DecisionRecord, evidence: Evidence | None = None) -> None:
        """Queue a decision for storage; never blocks."""
        with self._pending_changed:
            self._pending += 1
        self._queue.put((record, evidence))
        self._metrics.persist_backlog.set(self._queue.qsize())

    def wait_idle(self, timeout: float) -> bool:
        """Wait until everything submitted has been stored (for orderly shutdown and tests)."""
        with self._pending_changed:
            return self._pending_changed.wait_for(lambda: self._pending == 0, timeout)

    def _run(self, _: threading.Event) -> None:  # ends at the None that `stop` queues after the last decision
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is None:
                break
            group = [item]
            while len(group) < self._max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                group.append(item)
            self._persist(group)
            with self._pending_changed:
                self._pending -= len(group)
                self._pending_changed.notify_all()

    def _persist(self, group: list[tuple[DecisionRecord, Evidence | None]]) -> None:
        started = time.monotonic()
        delay = 0.05
        while True:
            try:
                stored = self._store.append([record for record, _ in group])
                break
            except Exception:
                log.exception("storing %d decisions failed; retrying in %.2f s", len(group), delay)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        persist_seconds = time.monotonic() - started
        self._metrics.persist_backlog.set(self._queue.qsize())
        for decision, (_, evidence) in zip(stored, group, strict=True):
            record = decision.record
            self._metrics.decisions.labels(decision=record.decision.value, reason=record.reason.value).inc()
            self._metrics.stage_latency.labels(stage="persist").observe(persist_seconds)
            if evidence is not None and self._evidence is not None and self._keep(record):
                self._evidence.submit(decision.seq, evidence)
            for listener in self._listeners:
                try:
                    listener(decision)
                except Exception:
                    log.exception("decision listener failed")

    def _keep(self, record: DecisionRecord) -> bool:
        if record.decision is not Outcome.PASS:
            return True
        return self._keep_pass_fraction > 0 and self._random.random() < self._keep_pass_fraction
