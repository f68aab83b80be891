"""Shadow mode: a candidate model scores the live frames beside the active one, in its own
lower-priority process, without affecting any decision. Its agreement with the active model is
what an engineer promotes on.

The candidate is loaded once, where it scores: the shadow process (nice 10) reads its stored
package and opens a one-thread ONNX Runtime session, and answers whether it could (a package it
cannot load is refused with the reason; the line process holds no session of it). The line
process copies a batch's frames into shared memory and queues the block's name (it never waits):
the shadow process scores them and sends back its outcomes, which a thread of the line process
adds to the agreement. At most `max_backlog` batches are outstanding; more are skipped and
counted. A watchdog thread ends and starts again a shadow process that dies, or makes no progress
for `hang_s` with work waiting (counted in the report and `gaikan_shadow_restarts_total`); the
inference thread only ever skips frames meanwhile, so a candidate that crashes or hangs never
slows or changes a decision.
"""

from __future__ import annotations

import itertools
import logging
import math
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing import parent_process
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from gaikan.models.thresholds import Thresholds
from gaikan.service.decision import Outcome, decide
from gaikan.service.errors import InvalidPackage, LineUnavailable
from gaikan.service.metrics import Metrics
from gaikan.service.registry import ShadowCandidate
from gaikan.service.shared_arrays import ArrayRef, free, received, to_shared
from gaikan.service.workers import ProcessWorker, Worker

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(slots=True)
class Agreement:
    """Running comparison of one candidate against whatever model was active for each frame."""

    version: str
    since: float = field(default_factory=time.time)
    matrix: dict[tuple[str, str], int] = field(default_factory=dict)  # (active outcome, shadow outcome) -> count
    skipped: int = 0
    errors: int = 0
    restarts: int = 0  # shadow processes ended and started again while this candidate was scoring
    _n: int = 0
    _sx: float = 0.0
    _sy: float = 0.0
    _sxx: float = 0.0
    _syy: float = 0.0
    _sxy: float = 0.0

    def add(self, active: Outcome, shadow: Outcome, active_score: float | None, shadow_score: float) -> None:
        key = (active.value, shadow.value)
        self.matrix[key] = self.matrix.get(key, 0) + 1
        if active_score is not None and math.isfinite(active_score) and math.isfinite(shadow_score):
            self._n += 1
            self._sx += active_score
            self._sy += shadow_score
            self._sxx += active_score * active_score
            self._syy += shadow_score * shadow_score
            self._sxy += active_score * shadow_score

    @property
    def frames(self) -> int:
        return sum(self.matrix.values())

    @property
    def agreement(self) -> float | None:
        """Share of frames where both models reached the same outcome."""
        total = self.frames
        return sum(c for (a, s), c in self.matrix.items() if a == s) / total if total else None

    @property
    def score_correlation(self) -> float | None:
        """Pearson correlation of the two models' scores (None with fewer than 2 frames or no spread)."""
        if self._n < 2:
            return None
        cov = self._sxy - self._sx * self._sy / self._n
        var_x = self._sxx - self._sx**2 / self._n
        var_y = self._syy - self._sy**2 / self._n
        if var_x <= 0 or var_y <= 0:
            return None
        return cov / math.sqrt(var_x * var_y)


@dataclass(frozen=True, slots=True)
class _Load:
    """Load this candidate (for a new candidate, and again in a restarted process). Serial 0: nobody waits for the answer."""

    serial: int
    version: str
    path: str
    providers: list[str] | None


@dataclass(frozen=True, slots=True)
class _Loaded:
    serial: int
    version: str
    error: str | None  # why the candidate could not be loaded (the process keeps the model it had)


@dataclass(frozen=True, slots=True)
class _Job:
    version: str
    thresholds: Thresholds
    block: str  # shared-memory name
    frames: list[ArrayRef]
    active_outcomes: list[Outcome]
    active_scores: list[float | None]


@dataclass(frozen=True, slots=True)
class _Result:
    version: str
    block: str
    active_outcomes: list[Outcome]
    active_scores: list[float | None]
    scores: list[float] | None  # None: not scored (see `stale`)
    outcomes: list[Outcome] | None
    stale: bool = False  # frames for a candidate the process no longer holds (it was replaced): skipped, not an error


def shadow_main(jobs: Any, results: Any, log_level: str) -> None:
    """Entry point of the shadow process."""
    from gaikan.models.package import read_package
    from gaikan.models.runtime import OnnxModel

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the line process stops it
    logging.basicConfig(level=log_level.upper())
    model: OnnxModel | None = None
    parent = parent_process()
    results.cancel_join_thread()  # at exit, never wait for a line process that stopped reading
    while True:
        try:
            item = jobs.get(timeout=1.0)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                return
            continue
        if item is None:
            return
        if isinstance(item, _Load):
            error = None
            try:
                model = OnnxModel(read_package(Path(item.path)), providers=item.providers, intra_op_threads=1)
            except Exception as failure:
                log.exception("shadow model %s could not be loaded", item.version)
                error = str(failure) or type(failure).__name__
            results.put(_Loaded(item.serial, item.version, error))
            continue
        results.put(_score(item, model))


def _score(job: _Job, model: Any) -> _Result:
    failed = _Result(job.version, job.block, job.active_outcomes, job.active_scores, None, None)
    with received(job.block, job.frames) as frames:
        if model is None:
            return failed
        if model.version != job.version:
            return _Result(job.version, job.block, job.active_outcomes, job.active_scores, None, None, stale=True)
        try:
            scores = [float(score) for score in model.score_images(frames).scores]
        except Exception:
            log.exception("shadow model %s failed", job.version)
            return failed
        finally:
            del frames  # no view outlives the block
    outcomes = [decide(s, job.thresholds).outcome for s in scores]
    return _Result(job.version, job.block, job.active_outcomes, job.active_scores, scores, outcomes)


def _discard(channel: Any) -> None:
    """Close a queue of a process that was replaced; never wait at exit for what it still buffers."""
    if channel is not None:
        channel.close()
        channel.cancel_join_thread()


class ShadowRunner:
    """Runs the shadow process for the current candidate (`use`), hands it frames (`submit`,
    never blocking) and keeps the agreement reports."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        providers: Sequence[str] | None = None,
        max_backlog: int = 4,
        niceness: int = 10,
        hang_s: float = 30.0,
        restart_after_s: float | None = None,
        load_timeout_s: float = 60.0,
        log_level: str = "info",
    ) -> None:
        self._metrics = metrics
        self._providers = list(providers) if providers else None
        self._max_backlog = max_backlog
        self._hang_s = hang_s
        self._restart_after_s = min(5.0, hang_s) if restart_after_s is None else restart_after_s  # at most one restart this often
        self._load_timeout_s = load_timeout_s
        self._log_level = log_level
        self._lock = threading.Lock()  # the agreements
        self._agreements: dict[str, Agreement] = {}
        self._lifecycle = threading.Lock()  # starting, loading into and ending the process: one at a time
        self._handoff = threading.Lock()  # what `submit` reads: the queues, the candidate, the backlog
        self._process = ProcessWorker("gaikan-shadow", shadow_main, niceness=niceness, join_timeout_s=10.0)
        self._jobs: Any = None
        self._results: Any = None
        self._ready = False  # a process runs that takes jobs
        self._candidate: ShadowCandidate | None = None
        self._outstanding = 0  # jobs handed over, not answered
        self._blocks: set[str] = set()  # their shared-memory blocks (freed here when the process is replaced)
        self._serial = itertools.count(1)
        self._answered = threading.Condition()
        self._answers: dict[int, _Loaded] = {}
        self._started_at = 0.0
        self._progress_at = 0.0  # when the process last answered (or started)
        self._answering = False  # it answered since it started (until then it may take `load_timeout_s` to start and load)
        self._collector = Worker("gaikan-shadow-results", self._collect)
        self._watchdog = Worker("gaikan-shadow-watchdog", self._watch)

    def start(self) -> None:
        """The process itself starts with the first candidate (`use`)."""
        self._collector.start()
        self._watchdog.start()

    def stop(self) -> None:
        self._watchdog.stop()
        with self._lifecycle:
            self._end_process()
        self._collector.stop()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def reset(self, version: str) -> None:
        with self._lock:
            self._agreements[version] = Agreement(version=version)

    def reports(self, view: Callable[[Agreement], T]) -> dict[str, T]:
        """`view` of every version's agreement, each taken consistently under the lock."""
        with self._lock:
            return {version: view(agreement) for version, agreement in self._agreements.items()}

    # -- the candidate -----------------------------------------------------------------------
    def use(self, candidate: ShadowCandidate | None) -> None:
        """Score with `candidate` from now on; None stops shadow scoring and ends its process.
        The shadow process loads it and answers: a package it cannot load raises
        `InvalidPackage` with the reason, no answer within `load_timeout_s` raises
        `LineUnavailable` (and the process is restarted). The previous candidate stays in use
        when it raises."""
        with self._lifecycle:
            if candidate is None:
                with self._handoff:
                    self._candidate = None
                self._end_process()
                return
            if self._process.pid is None:
                self._start_process()
            elif not self._process.alive:
                self._restart("crashed")
            answer = self._load(candidate)
            if answer is None:
                reason = "hung" if self._process.alive else "crashed"
                self._restart(reason)
                raise LineUnavailable(f"the shadow process {reason} while loading {candidate.version}: try again")
            if answer.error is not None:
                if self._candidate is None:
                    self._end_process()
                raise InvalidPackage(f"shadow candidate {candidate.version} could not be loaded: {answer.error}")
            with self._handoff:
                self._candidate = candidate

    def _load(self, candidate: ShadowCandidate) -> _Loaded | None:
        """Ask the process to load `candidate`; its answer, or None when it gives none in time (or ends)."""
        serial = next(self._serial)
        self._jobs.put(_Load(serial, candidate.version, candidate.path, self._providers))
        deadline = time.monotonic() + self._load_timeout_s
        with self._answered:
            while serial not in self._answers:
                left = deadline - time.monotonic()
                if left <= 0 or not self._process.alive:
                    return None
                self._answered.wait(min(left, 0.5))
            return self._answers.pop(serial)

    # -- the process (under the lifecycle lock) ------------------------------------------------
    def _start_process(self) -> None:
        context = self._process.context
        jobs, results = context.Queue(), context.Queue()
        self._process.start(jobs, results, self._log_level)
        with self._handoff:
            self._jobs, self._results = jobs, results
            self._outstanding = 0
            self._started_at = self._progress_at = time.monotonic()
            self._answering = False
            if self._candidate is not None:  # a restart: the candidate again
                jobs.put(_Load(0, self._candidate.version, self._candidate.path, self._providers))
            self._ready = True

    def _end_process(self) -> None:
        with self._handoff:
            self._ready = False
            jobs, results = self._jobs, self._results
            self._jobs = self._results = None
            blocks, self._blocks = self._blocks, set()
        self._process.stop(signal=lambda: jobs.put(None) if jobs is not None else None)
        _discard(jobs)
        _discard(results)
        for block in blocks:  # handed to a process that did not answer for them
            try:
                free(block)
            except FileNotFoundError:
                pass  # it freed the block but its answer was lost with it

    def _restart(self, reason: str) -> None:
        log.error("the shadow process %s (exit code %s): starting it again", reason, self._process.exitcode)
        self._metrics.shadow_restarts.labels(reason=reason).inc()
        candidate = self._candidate
        if candidate is not None:
            with self._lock:
                self._agreement(candidate.version).restarts += 1
        with self._handoff:
            self._ready = False
        self._process.kill()
        self._end_process()
        self._start_process()

    def _watch(self, stop: threading.Event) -> None:
        """Restart a shadow process that ended, or makes no progress with work waiting (for `hang_s`;
        `load_timeout_s` until a new process first answers), at most every `restart_after_s`."""
        while not stop.wait(0.25):
            if self._candidate is None or not self._lifecycle.acquire(blocking=False):  # none needed, or a load is under way
                continue
            try:
                now = time.monotonic()
                alive = self._process.alive
                limit = self._hang_s if self._answering else self._load_timeout_s
                hung = alive and self._outstanding > 0 and now - self._progress_at > limit
                if self._candidate is not None and (hung or not alive) and now - self._started_at >= self._restart_after_s:
                    self._restart("hung" if hung else "crashed")
            except Exception:
                log.exception("restarting the shadow process failed")
            finally:
                self._lifecycle.release()

    # -- frames ------------------------------------------------------------------------------
    def submit(self, pixels: list[np.ndarray], outcomes: list[Outcome], scores: list[float | None]) -> None:
        """Offer frames the active model just decided; never blocks. Skipped (and counted) when the
        shadow process is behind, hung or being restarted."""
        with self._handoff:
            candidate = self._candidate
            if candidate is None:
                return
            handed = False
            if self._ready and self._outstanding < self._max_backlog:
                block = None
                try:
                    block, refs = to_shared(pixels)
                    self._jobs.put(_Job(candidate.version, candidate.thresholds, block, refs, list(outcomes), list(scores)))
                    self._outstanding += 1
                    self._blocks.add(block)
                    handed = True
                except Exception:
                    log.exception("could not hand frames to the shadow process")
                    if block is not None:
                        free(block)
        if not handed:
            self._skip(candidate.version, len(pixels))

    def _skip(self, version: str, frames: int) -> None:
        with self._lock:
            self._agreement(version).skipped += frames

    def _agreement(self, version: str) -> Agreement:
        return self._agreements.setdefault(version, Agreement(version=version))

    def _collect(self, stop: threading.Event) -> None:
        while not stop.is_set():
            results = self._results
            if results is None:  # no process
                stop.wait(0.2)
                continue
            try:
                message: _Result | _Loaded = results.get(timeout=0.2)
            except queue.Empty:
                continue
            except (EOFError, OSError, ValueError):  # the queue of a process being replaced
                stop.wait(0.2)
                continue
            with self._handoff:
                if results is not self._results:  # from a process that was replaced
                    continue
                self._progress_at = time.monotonic()
                self._answering = True
                if isinstance(message, _Result):
                    self._outstanding -= 1
                    self._blocks.discard(message.block)
            if isinstance(message, _Loaded):
                with self._answered:
                    if message.serial:
                        self._answers[message.serial] = message
                    self._answered.notify_all()
            else:
                self._tally(message)

    def _tally(self, result: _Result) -> None:
        with self._lock:
            agreement = self._agreement(result.version)
            if result.stale:
                agreement.skipped += len(result.active_outcomes)
            elif result.scores is None or result.outcomes is None:
                agreement.errors += len(result.active_outcomes)
            else:
                for active, active_score, outcome, score in zip(
                    result.active_outcomes, result.active_scores, result.outcomes, result.scores, strict=True
                ):
                    agreement.add(active, outcome, active_score, score)
