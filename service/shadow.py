"""Shadow mode: a candidate model scores the live frames beside the active one, in its own
lower-priority process, without affecting any decision. Its agreement with the active model is
what an engineer promotes on.

The line process copies a batch's frames into shared memory and queues the block's name (it never
waits): the shadow process (nice 10, a one-thread ONNX Runtime session of the candidate) scores
them and sends back its outcomes, which a thread of the line process adds to the agreement. At
most `max_backlog` batches are outstanding; more are skipped and counted. A shadow process that
dies, or makes no progress for `hang_s` with work waiting, is ended and started again; a
candidate that crashes or hangs never slows or changes a decision.
"""

from __future__ import annotations

import logging
import math
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import parent_process
from typing import Any, TypeVar

import numpy as np

from gaikan.models.package import ModelPackage
from gaikan.models.thresholds import Thresholds
from gaikan.service.decision import Outcome, decide
from gaikan.service.registry import ModelRegistry
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
    """Load this candidate (sent before its first batch, and again to a restarted process)."""

    version: str
    package: ModelPackage
    providers: list[str]


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
    active_outcomes: list[Outcome]
    active_scores: list[float | None]
    scores: list[float] | None  # None: the candidate failed on this batch
    outcomes: list[Outcome] | None


def shadow_main(jobs: Any, results: Any, outstanding: Any, log_level: str) -> None:
    """Entry point of the shadow process."""
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
            try:
                model = OnnxModel(item.package, providers=item.providers, intra_op_threads=1)
            except Exception:
                log.exception("shadow model %s could not be loaded", item.version)
                model = None
            continue
        try:
            results.put(_score(item, model))
        finally:
            with outstanding.get_lock():
                outstanding.value -= 1


def _score(job: _Job, model: Any) -> _Result:
    failed = _Result(job.version, job.active_outcomes, job.active_scores, None, None)
    with received(job.block, job.frames) as frames:
        if model is None or model.version != job.version:
            return failed
        try:
            scores = [float(score) for score in model.score_images(frames).scores]
        except Exception:
            log.exception("shadow model %s failed", job.version)
            return failed
        finally:
            del frames  # no view outlives the block
    return _Result(job.version, job.active_outcomes, job.active_scores, scores, [decide(s, job.thresholds).outcome for s in scores])


class ShadowRunner:
    def __init__(
        self, registry: ModelRegistry, *, max_backlog: int = 4, niceness: int = 10, hang_s: float = 30.0, log_level: str = "info"
    ) -> None:
        self._registry = registry
        self._max_backlog = max_backlog
        self._hang_s = hang_s
        self._log_level = log_level
        self._lock = threading.Lock()
        self._agreements: dict[str, Agreement] = {}
        self._process = ProcessWorker("gaikan-shadow", shadow_main, niceness=niceness, join_timeout_s=10.0)
        self._outstanding = self._process.context.Value("i", 0)
        self._jobs: Any = None
        self._results: Any = None
        self._loaded: str | None = None  # the candidate the running process was told to load
        self._started_at = 0.0
        self._progress_at = 0.0  # when the process last answered (or started)
        self._collector = Worker("gaikan-shadow-results", self._collect)

    def start(self) -> None:
        """The process itself starts with the first frames offered to a candidate."""
        self._collector.start()

    def _start_process(self) -> None:
        context = self._process.context
        self._jobs, self._results = context.Queue(), context.Queue()
        with self._outstanding.get_lock():
            self._outstanding.value = 0
        self._loaded = None
        self._started_at = self._progress_at = time.monotonic()
        self._process.start(self._jobs, self._results, self._outstanding, self._log_level)

    def stop(self) -> None:
        jobs = self._jobs
        self._process.stop(signal=lambda: jobs.put(None) if jobs is not None else None)
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

    def submit(self, pixels: list[np.ndarray], outcomes: list[Outcome], scores: list[float | None]) -> None:
        """Offer frames the active model just decided; never blocks. Skipped (and counted) when the
        shadow process is behind, hung or being restarted."""
        shadow = self._registry.shadow
        if shadow is None:
            return
        if not self._healthy():
            self._skip(shadow.version, len(pixels))
            return
        with self._outstanding.get_lock():
            if self._outstanding.value >= self._max_backlog:
                self._skip(shadow.version, len(pixels))
                return
            self._outstanding.value += 1
        block = None
        try:
            if self._loaded != shadow.version:
                self._jobs.put(_Load(shadow.version, shadow.model.package, shadow.model.session.get_providers()))
                self._loaded = shadow.version
            block, refs = to_shared(pixels)
            self._jobs.put(_Job(shadow.version, shadow.thresholds, block, refs, list(outcomes), list(scores)))
        except Exception:
            log.exception("could not hand frames to the shadow process")
            if block is not None:
                free(block)
            with self._outstanding.get_lock():
                self._outstanding.value -= 1
            self._skip(shadow.version, len(pixels))

    def _healthy(self) -> bool:
        """The process runs and answers; otherwise it is started again (at most every 5 s)."""
        now = time.monotonic()
        if self._process.pid is None:  # not started yet (or stopped): start it now
            self._start_process()
            return True
        alive = self._process.alive
        hung = alive and self._outstanding.value > 0 and now - self._progress_at > self._hang_s
        if alive and not hung:
            return True
        if now - self._started_at < 5.0:
            return False
        if hung:
            log.error("the shadow process answered nothing for %.0f s: ending it and starting it again", now - self._progress_at)
            self._process.kill()
        else:
            log.error("the shadow process ended (exit code %s): starting it again", self._process.exitcode)
        self._process.stop()
        self._start_process()
        return False

    def _skip(self, version: str, frames: int) -> None:
        with self._lock:
            self._agreement(version).skipped += frames

    def _agreement(self, version: str) -> Agreement:
        return self._agreements.setdefault(version, Agreement(version=version))

    def _collect(self, stop: threading.Event) -> None:
        while not stop.is_set():
            results = self._results
            if results is None:  # no candidate yet: the process is not started
                stop.wait(0.2)
                continue
            try:
                result: _Result = results.get(timeout=0.2)
            except queue.Empty:
                continue
            except (EOFError, OSError, ValueError):  # the queue of a process being replaced
                stop.wait(0.2)
                continue
            self._progress_at = time.monotonic()
            with self._lock:
                agreement = self._agreement(result.version)
                if result.scores is None or result.outcomes is None:
                    agreement.errors += len(result.active_outcomes)
                    continue
                for active, active_score, outcome, score in zip(
                    result.active_outcomes, result.active_scores, result.outcomes, result.scores, strict=True
                ):
                    agreement.add(active, outcome, active_score, score)
