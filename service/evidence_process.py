"""Picture encoding off the line's interpreter: evidence (frame + anomaly map; for a station's part,
every view's) goes through shared memory to a lower-priority process that writes the PNGs (`EvidenceWriter`, disk budget) and
records their paths on the decision.

The line process only copies the arrays into a fresh shared-memory block and queues its name
(tens of microseconds); the evidence process encodes straight from the block (no copy, no second
thread), then frees it. At
most `max_backlog` pictures are outstanding; more are skipped and counted, never queued without
bound. A dead evidence process is started again; decisions never wait for it.

The evidence process's own counters (pictures skipped, pictures not saved for lack of disk) come
back through shared memory: `sync_counters` adds what they moved to the line's metrics (the line
calls it whenever it exports them), so they reach /metrics with the line's own.
"""

from __future__ import annotations

import logging
import queue
import signal
import time
from dataclasses import dataclass
from multiprocessing import parent_process
from pathlib import Path
from typing import Any

from gaikan.models.package import InputSpec
from gaikan.service.evidence import DiskReserve, Evidence, EvidenceWriter, PartEvidence, Pictures, by_view
from gaikan.service.metrics import Metrics
from gaikan.service.records import DEFAULT_LINE
from gaikan.service.shared_arrays import ArrayRef, received, to_shared
from gaikan.service.workers import ProcessWorker

log = logging.getLogger(__name__)


COUNTERS = ("evidence_skipped", "evidence_no_space")  # `Metrics` counters the evidence process moves


class _SharedCount:
    def __init__(self, counts: Any, index: int) -> None:
        self._counts, self._index = counts, index

    def inc(self, amount: float = 1) -> None:
        with self._counts.get_lock():
            self._counts[self._index] += int(amount)


class SharedCounters:
    """The evidence process's side of the counter channel: one shared integer per `COUNTERS` name."""

    def __init__(self, counts: Any) -> None:
        self.evidence_skipped = _SharedCount(counts, COUNTERS.index("evidence_skipped"))
        self.evidence_no_space = _SharedCount(counts, COUNTERS.index("evidence_no_space"))


@dataclass(frozen=True, slots=True)
class _Picture:
    view: str | None  # None: one camera's decision
    pixels: ArrayRef
    anomaly_map: ArrayRef | None
    input_spec: InputSpec | None
    vmax: float | None


@dataclass(frozen=True, slots=True)
class _Job:
    seq: int
    block: str  # shared-memory name: every picture's arrays
    pictures: tuple[_Picture, ...]
    decisive: str | None  # a station's part: the view that stands for it


def _to_shared(seq: int, pictures: Pictures) -> _Job:
    views = by_view(pictures)
    arrays = [array for _, evidence in views for array in (evidence.pixels, evidence.anomaly_map) if array is not None]
    block, refs = to_shared(arrays)
    places = iter(refs)
    shared = tuple(
        _Picture(view, next(places), None if e.anomaly_map is None else next(places), e.input_spec, e.vmax) for view, e in views
    )
    return _Job(seq, block, shared, pictures.decisive if isinstance(pictures, PartEvidence) else None)


def _write_from_shared(job: _Job, writer: EvidenceWriter) -> None:
    """Encode the pictures straight from the shared block (no copy out), then free it."""
    refs = [ref for picture in job.pictures for ref in (picture.pixels, picture.anomaly_map)]
    with received(job.block, refs) as arrays:
        views: list[tuple[str | None, Evidence]] = []
        for index, picture in enumerate(job.pictures):
            pixels, anomaly_map = arrays[2 * index], arrays[2 * index + 1]
            assert pixels is not None
            views.append((picture.view, Evidence(pixels=pixels, anomaly_map=anomaly_map, input_spec=picture.input_spec, vmax=picture.vmax)))
        if job.decisive is None:
            writer.write(job.seq, views[0][1])
        else:
            writer.write(job.seq, PartEvidence(tuple((str(view), evidence) for view, evidence in views), job.decisive))
        del views, pixels, anomaly_map  # no view outlives the block


def evidence_main(
    folder: Path, database_url: str, line: str, budget_bytes: int, reserve: DiskReserve, jobs: Any, outstanding: Any, counts: Any, log_level: str
) -> None:
    """Entry point of the evidence process."""
    from gaikan.service.storage.database import open_database
    from gaikan.service.storage.decisions import DecisionStore
    from gaikan.service.storage.rechecks import RecheckStore

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the line process stops it, after the last picture
    logging.basicConfig(level=log_level.upper())
    engine = open_database(database_url)
    writer = EvidenceWriter(
        folder,
        DecisionStore(engine, line=line),
        SharedCounters(counts),
        budget_bytes=budget_bytes,
        niceness=0,
        reserve=reserve,
        held=RecheckStore(engine, line=line).unexported,  # re-checked parts keep their pictures until exported
        on_done=lambda: _done(outstanding),
    )
    parent = parent_process()
    try:
        while True:
            try:
                job = jobs.get(timeout=1.0)
            except queue.Empty:
                if parent is not None and not parent.is_alive():
                    log.warning("the line process is gone: the evidence process ends")
                    return
                continue
            if job is None:
                return
            try:
                _write_from_shared(job, writer)  # on this thread: the process does nothing else
            except Exception:
                log.exception("evidence for decision %s could not be read from shared memory", job.seq)
                _done(outstanding)
    finally:
        engine.dispose()


def _done(outstanding: Any) -> None:
    with outstanding.get_lock():
        outstanding.value -= 1


class EvidenceProcess:
    """The line side: `submit(seq, evidence)` never blocks; `start` / `stop` as every worker."""

    def __init__(
        self,
        folder: Path,
        database_url: str,
        metrics: Metrics,
        *,
        budget_bytes: int,
        reserve: DiskReserve = DiskReserve(),
        max_backlog: int = 32,
        niceness: int = 10,
        log_level: str = "info",
        line: str = DEFAULT_LINE,
    ) -> None:
        self._args = (Path(folder), database_url, line, budget_bytes, reserve)
        self._metrics = metrics
        self._max_backlog = max_backlog
        self._log_level = log_level
        self._process = ProcessWorker("gaikan-evidence", evidence_main, niceness=niceness, join_timeout_s=30.0)
        context = self._process.context
        self._outstanding = context.Value("i", 0)
        self._counts = context.Array("q", len(COUNTERS))  # outlives restarts of the process: only grows
        self._synced = [0] * len(COUNTERS)
        self._jobs: Any = None
        self._started_at = 0.0

    def start(self) -> None:
        self._jobs = self._process.context.Queue()
        with self._outstanding.get_lock():
            self._outstanding.value = 0
        self._started_at = time.monotonic()
        self._process.start(*self._args, self._jobs, self._outstanding, self._counts, self._log_level)

    def stop(self) -> None:
        """Write what is queued, then end the process."""
        jobs = self._jobs
        self._process.stop(signal=lambda: jobs.put(None))
        self.sync_counters()

    def sync_counters(self) -> None:
        """Add to the line's metrics what the evidence process counted since the last call."""
        with self._counts.get_lock():
            counts = list(self._counts)
        for index, name in enumerate(COUNTERS):
            moved, self._synced[index] = counts[index] - self._synced[index], counts[index]
            if moved > 0:
                getattr(self._metrics, name).inc(moved)

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def submit(self, seq: int, pictures: Pictures) -> None:
        if not self._process.alive:
            self._restart()
            self._metrics.evidence_skipped.inc()
            return
        with self._outstanding.get_lock():
            if self._outstanding.value >= self._max_backlog:
                self._metrics.evidence_skipped.inc()
                return
            self._outstanding.value += 1
        try:
            self._jobs.put(_to_shared(seq, pictures))
        except Exception:
            log.exception("could not hand the pictures of decision %s to the evidence process", seq)
            _done(self._outstanding)
            self._metrics.evidence_skipped.inc()

    def _restart(self) -> None:
        if time.monotonic() - self._started_at < 5.0:
            return
        log.error("the evidence process ended (exit code %s): starting it again", self._process.exitcode)
        self._process.stop()
        self.start()
