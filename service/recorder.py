"""The storage stage: persists decisions in order, then makes them visible.

Decisions are committed to the store before anyone (PLC, dashboard) can see them; the store
assigns `seq`. Storage faults are fail-safe and visible:

- a failed commit is retried; while it fails (or while the oldest waiting decision is older than
  the persist deadline) `health()` says so, and the line's `fail_safe` carries `storage`;
- a decision not committed within `deadline_s` of its submission is never stored as `pass` or
  `review`: it is stored as a `reject` with reason `storage` and a detail naming the delay and the
  original verdict (a PLC may already have had to let that part go by);
- the backlog is bounded (`max_backlog`): a decision that finds it full is not kept; it is
  counted, and once storage works again one `storage` reject records how many parts (first and last
  frame id) were never stored;
- images are not kept for decisions submitted while storage is behind (memory stays bounded);
- recovery is automatic, logged, and counted in the metrics.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from gaikan.service.decision import Outcome, Reason
from gaikan.service.evidence import Pictures
from gaikan.service.metrics import Metrics
from gaikan.service.records import DecisionRecord, StoredDecision
from gaikan.service.storage.decisions import DecisionStore
from gaikan.service.workers import Worker

log = logging.getLogger(__name__)

Listener = Callable[[StoredDecision], None]
_Item = tuple[DecisionRecord, Pictures | None, float]  # the decision, its images, when it was submitted (monotonic)

SHUTDOWN_GRACE_S = 5.0  # at stop, how long a failing store is retried before unstored decisions are given up


@dataclass(frozen=True, slots=True)
class StorageHealth:
    """Whether decisions are being stored in time, for the fail-safe reasons and the status."""

    ok: bool
    error: str | None  # the last store error while storage is failing
    backlog: int  # decisions waiting to be stored
    oldest_wait_s: float  # how long the oldest waiting decision has waited
    overflowed: int  # decisions not kept because the backlog was full (since start)
    stored_late: int  # decisions stored after the deadline, as storage rejects (since start)


@dataclass(slots=True)
class _Overflow:
    """Decisions turned away by a full backlog, not yet recorded as a storage reject."""

    count: int
    camera_id: str
    first_frame_id: str
    last_frame_id: str
    first_at: float
    last_at: float


def stored_late(record: DecisionRecord, waited_s: float, deadline_s: float) -> DecisionRecord:
    """The fail-safe form of a decision that could not be stored within the deadline: a pass or a
    review becomes a `storage` reject (a reject stays what it was)."""
    if record.decision is Outcome.REJECT:
        return record
    score = f" (score {record.score:.4g})" if record.score is not None else ""
    return replace(
        record,
        decision=Outcome.REJECT,
        reason=Reason.STORAGE,
        detail=(
            f"not stored within the {deadline_s * 1000:.0f} ms persist deadline (waited {waited_s * 1000:.0f} ms); "
            f"decided {record.decision.value}{score}"
        ),
    )


class EvidenceSink(Protocol):
    """Where kept pictures go (`EvidenceProcess`, or an `EvidenceWriter` thread)."""

    def submit(self, seq: int, pictures: Pictures) -> None: ...


class Recorder:
    def __init__(
        self,
        store: DecisionStore,
        metrics: Metrics,
        *,
        evidence: EvidenceSink | None = None,
        keep_pass_fraction: float = 0.0,
        max_group: int = 64,
        deadline_s: float = 1.0,
        max_backlog: int = 10_000,
        seed: int = 0,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._evidence = evidence
        self._keep_pass_fraction = keep_pass_fraction
        self._max_group = max_group
        self._deadline_s = deadline_s
        self._max_backlog = max_backlog
        self._random = random.Random(seed)
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._listeners: list[Listener] = []
        self._worker = Worker("gaikan-recorder", self._run, wake=lambda: self._queue.put(None), join_timeout_s=30)
        self._pending = 0  # submitted, not yet stored
        self._pending_changed = threading.Condition()
        self._waiting: deque[float] = deque()  # submission times of pending decisions, oldest first
        self._error: str | None = None  # set while the store fails
        self._failing_since: float | None = None
        self._overflow: _Overflow | None = None
        self._overflowed = 0
        self._stored_late = 0
        self._stopping = False
        self._metrics.storage_healthy.set(1)

    def add_listener(self, listener: Listener) -> None:
        """Called (on the recorder thread) with every decision once it is stored."""
        self._listeners.append(listener)

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        """Store everything submitted so far, then stop."""
        self._stopping = True
        self._worker.stop()

    def submit(self, record: DecisionRecord, evidence: Pictures | None = None) -> None:
        """Queue a decision for storage; never blocks. When the backlog is full the decision is
        counted instead (and recorded as a storage reject once storage works again)."""
        now = time.monotonic()
        with self._pending_changed:
            if self._pending >= self._max_backlog:
                self._turn_away(record)
                return
            if evidence is not None and (self._error is not None or self._pending >= self._max_group):
                evidence = None  # storage is behind: pictures would pile up in memory
                self._metrics.evidence_skipped.inc()
            self._pending += 1
            self._waiting.append(now)
            backlog = self._pending
        self._queue.put((record, evidence, now))
        self._metrics.persist_backlog.set(backlog)

    def _turn_away(self, record: DecisionRecord) -> None:
        """(Lock held.) Count a decision the full backlog cannot take."""
        self._overflowed += 1
        self._metrics.persist_overflow.inc()
        if self._overflow is None:
            log.error("persist backlog full (%d decisions): decisions are not being stored", self._max_backlog)
            self._overflow = _Overflow(0, record.camera_id, record.frame_id, record.frame_id, record.decided_at, record.decided_at)
        self._overflow.count += 1
        self._overflow.last_frame_id = record.frame_id
        self._overflow.last_at = record.decided_at

    def wait_idle(self, timeout: float) -> bool:
        """Wait until everything submitted has been stored (for orderly shutdown and tests)."""
        with self._pending_changed:
            return self._pending_changed.wait_for(lambda: self._pending == 0, timeout)

    def health(self) -> StorageHealth:
        """Storage is healthy when the last commit worked and nothing has waited past the deadline."""
        with self._pending_changed:
            oldest_wait = time.monotonic() - self._waiting[0] if self._waiting else 0.0
            error, backlog = self._error, self._pending
            overflowing = self._overflow is not None
        ok = error is None and oldest_wait <= self._deadline_s and not overflowing
        if error is None and not ok:
            error = "persist backlog full" if overflowing else f"oldest decision waiting {oldest_wait:.1f} s to be stored"
        return StorageHealth(
            ok=ok,
            error=error,
            backlog=backlog,
            oldest_wait_s=round(oldest_wait, 3),
            overflowed=self._overflowed,
            stored_late=self._stored_late,
        )

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
                for _ in group:
                    self._waiting.popleft()
                self._pending_changed.notify_all()
                backlog = self._pending
            self._metrics.persist_backlog.set(backlog)
        self._record_overflow()  # whatever was turned away is on record before the recorder stops

    def _persist(self, group: list[_Item]) -> None:
        started = time.monotonic()
        delay = 0.05
        records = [record for record, _, _ in group]
        while True:
            now = time.monotonic()
            records = [self._in_time(record, now - submitted) for record, (_, _, submitted) in zip(records, group, strict=True)]
            try:
                stored = self._store.append(records)
                break
            except Exception as error:
                self._on_failure(error, len(records), delay)
                if self._stopping and time.monotonic() - started > SHUTDOWN_GRACE_S:
                    log.error("stopping: %d decisions could not be stored and were never served", len(records))
                    return
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        self._on_success()
        persist_seconds = time.monotonic() - started
        for decision, (_, evidence, _) in zip(stored, group, strict=True):
            self._after_store(decision, evidence, persist_seconds)
        self._record_overflow()

    def _in_time(self, record: DecisionRecord, waited_s: float) -> DecisionRecord:
        if waited_s <= self._deadline_s or record.decision is Outcome.REJECT:
            return record
        with self._pending_changed:
            self._stored_late += 1
        self._metrics.persist_late.inc()
        return stored_late(record, waited_s, self._deadline_s)

    def _on_failure(self, error: Exception, count: int, delay: float) -> None:
        self._metrics.persist_failures.inc()
        with self._pending_changed:
            first = self._error is None
            self._error = f"{type(error).__name__}: {error}".splitlines()[0][:300]
            if first:
                self._failing_since = time.monotonic()
        self._metrics.storage_healthy.set(0)
        if first:
            log.error("storing %d decisions failed; line in fail-safe (storage) and retrying: %s", count, self._error)
        else:
            log.debug("storing %d decisions failed again; retrying in %.2f s", count, delay)

    def _on_success(self) -> None:
        with self._pending_changed:
            failing_since, self._error, self._failing_since = self._failing_since, None, None
        if failing_since is not None:
            self._metrics.storage_recoveries.inc()
            self._metrics.storage_healthy.set(1)
            log.warning(
                "storage recovered after %.1f s; %d decisions stored late as storage rejects and %d not stored so far",
                time.monotonic() - failing_since,
                self._stored_late,
                self._overflowed,
            )

    def _record_overflow(self) -> None:
        """Once storage works again, one storage reject records the parts the full backlog turned away."""
        with self._pending_changed:
            overflow, self._overflow = self._overflow, None
        if overflow is None:
            return
        record = DecisionRecord(
            frame_id=f"{overflow.camera_id}:storage-overflow"[:200],
            camera_id=overflow.camera_id,
            captured_at=overflow.first_at,
            decided_at=overflow.last_at,
            decision=Outcome.REJECT,
            reason=Reason.STORAGE,
            detail=(
                f"{overflow.count} decision(s) not stored: the persist backlog ({self._max_backlog}) was full; "
                f"frames {overflow.first_frame_id} … {overflow.last_frame_id}"
            ),
        )
        try:
            stored = self._store.append([record])
        except Exception:
            with self._pending_changed:  # still failing: keep it for the next try
                self._overflow = overflow if self._overflow is None else _merge(overflow, self._overflow)
            return
        self._after_store(stored[0], None, 0.0)

    def _after_store(self, decision: StoredDecision, evidence: Pictures | None, persist_seconds: float) -> None:
        record = decision.record
        self._metrics.decisions.labels(decision=record.decision.value, reason=record.reason.value).inc()
        self._metrics.last_decision_time.set(record.decided_at)
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


def _merge(earlier: _Overflow, later: _Overflow) -> _Overflow:
    return _Overflow(
        earlier.count + later.count, earlier.camera_id, earlier.first_frame_id, later.last_frame_id, earlier.first_at, later.last_at
    )
