"""Shadow mode: a candidate model scores the live frames beside the active one, in its own
lower-priority process, without affecting any decision. Its agreement with the active model is
what an engineer promotes on.

The candidate is loaded once, where it scores: the shadow process (`service/shadow_process.py`,
nice 10) reads its stored package and opens a one-thread ONNX Runtime session; the line process
holds no session of it (the registry checks the stored package before it is handed over). The
process answers whether it could load it: a failure is shown in the report (`load_error`) and
every frame counts as an error. The line process copies a batch's frames into shared memory and
queues the block's name (it never waits): the shadow process scores them and sends back its
outcomes, which a thread of the line process adds to the agreement. At most `max_backlog`
batches are outstanding; more are skipped and counted. A watchdog thread ends and starts again a
shadow process that dies, or makes no progress for `hang_s` with work waiting (counted in the
report and `gaikan_shadow_restarts_total`); the inference thread only ever skips frames
meanwhile, so a candidate that crashes or hangs never slows or changes a decision.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from gaikan.service import shadow_process
from gaikan.service.decision import Outcome
from gaikan.service.metrics import Metrics
from gaikan.service.registry import ShadowCandidate
from gaikan.service.shadow_process import Job, Load, Loaded, Result
from gaikan.service.shared_arrays import free, to_shared
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
    load_error: str | None = None  # why the shadow process could not load it (None: loaded, or loading)
    loaded: bool = False  # the shadow process holds its session
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
        start_timeout_s: float = 60.0,
        log_level: str = "info",
    ) -> None:
        self._metrics = metrics
        self._providers = list(providers) if providers else None
        self._max_backlog = max_backlog
        self._hang_s = hang_s
        self._restart_after_s = min(5.0, hang_s) if restart_after_s is None else restart_after_s  # at most one restart this often
        self._start_timeout_s = start_timeout_s
        self._log_level = log_level
        self._lock = threading.Lock()  # the agreements
        self._agreements: dict[str, Agreement] = {}
        self._lifecycle = threading.Lock()  # changing the candidate, starting and ending the process: one at a time
        self._handoff = threading.Lock()  # what `submit` reads: the queues, the candidate, the backlog
        self._process = ProcessWorker("gaikan-shadow", shadow_process.main, niceness=niceness, join_timeout_s=10.0)
        self._jobs: Any = None
        self._results: Any = None
        self._ready = False  # a process runs that takes jobs
        self._candidate: ShadowCandidate | None = None
        self._outstanding = 0  # jobs handed over, not answered
        self._blocks: set[str] = set()  # their shared-memory blocks (freed here when the process is replaced)
        self._started_at = 0.0
        self._progress_at = 0.0  # when the process last answered (or started)
        self._answering = False  # it answered since it started (until then it may take `start_timeout_s` to start and load)
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

    def reports(self, view: Callable[[Agreement], T]) -> dict[str, T]:
        """`view` of every version's agreement, each taken consistently under the lock."""
        with self._lock:
            return {version: view(agreement) for version, agreement in self._agreements.items()}

    # -- the candidate -----------------------------------------------------------------------
    def use(self, candidate: ShadowCandidate | None) -> None:
        """Score with `candidate` from now on (None: stop, and end the shadow process). Returns at
        once: the shadow process (started now if need be) loads it, and the report says when it
        could not (`load_error`). The candidate's report starts afresh."""
        with self._lifecycle:
            if candidate is not None:
                with self._lock:
                    self._agreements[candidate.version] = Agreement(version=candidate.version)
            with self._handoff:
                self._candidate = candidate
            if candidate is None:
                self._end_process()
            elif self._process.pid is None:
                self._start_process()
            elif not self._process.alive:
                self._restart("crashed")
            else:
                with self._handoff:
                    self._jobs.put(self._load_message(candidate))
                    self._answering, self._progress_at = False, time.monotonic()  # loading may take `start_timeout_s`

    def _load_message(self, candidate: ShadowCandidate) -> Load:
        return Load(candidate.version, candidate.path, self._providers)

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
            if self._candidate is not None:
                jobs.put(self._load_message(self._candidate))
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
                agreement = self._agreement(candidate.version)
                agreement.restarts += 1
                agreement.loaded = False
        with self._handoff:
            self._ready = False
        self._process.kill()
        self._end_process()
        self._start_process()

    def _watch(self, stop: threading.Event) -> None:
        """Restart a shadow process that ended, or makes no progress with work waiting (for `hang_s`;
        `start_timeout_s` until a new process first answers), at most every `restart_after_s`."""
        while not stop.wait(0.25):
            if self._candidate is None or not self._lifecycle.acquire(blocking=False):  # none needed, or `use` is changing it
                continue
            try:
                now = time.monotonic()
                alive = self._process.alive
                limit = self._hang_s if self._answering else self._start_timeout_s
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
                    self._jobs.put(Job(candidate.version, candidate.thresholds, block, refs, list(outcomes), list(scores)))
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
                message: Result | Loaded = results.get(timeout=0.2)
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
                if isinstance(message, Result):
                    self._outstanding -= 1
                    self._blocks.discard(message.block)
            if isinstance(message, Loaded):
                with self._lock:
                    agreement = self._agreement(message.version)
                    agreement.load_error, agreement.loaded = message.error, message.error is None
            else:
                self._tally(message)

    def _tally(self, result: Result) -> None:
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
