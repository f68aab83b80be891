"""Shadow mode: a candidate model scores the live frames beside the active one, on its own
low-priority thread, without affecting any decision. Its agreement with the active model is
what an engineer promotes on."""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from gaikan.service.decision import Outcome, decide
from gaikan.service.registry import ModelRegistry
from gaikan.service.workers import Worker, put_stop_marker

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
class _Job:
    pixels: list[np.ndarray]
    active_outcomes: list[Outcome]
    active_scores: list[float | None]


class ShadowRunner:
    def __init__(self, registry: ModelRegistry, *, max_backlog: int = 4, niceness: int = 10) -> None:
        self._registry = registry
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=max_backlog)
        self._lock = threading.Lock()
        self._agreements: dict[str, Agreement] = {}
        self._worker = Worker("gaikan-shadow", self._run, wake=lambda: put_stop_marker(self._queue), niceness=niceness)

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()

    def reset(self, version: str) -> None:
        with self._lock:
            self._agreements[version] = Agreement(version=version)

    def reports(self, view: Callable[[Agreement], T]) -> dict[str, T]:
        """`view` of every version's agreement, each taken consistently under the lock."""
        with self._lock:
            return {version: view(agreement) for version, agreement in self._agreements.items()}

    def submit(self, pixels: list[np.ndarray], outcomes: list[Outcome], scores: list[float | None]) -> None:
        """Offer frames the active model just decided; dropped (and counted) when the shadow is behind."""
        shadow = self._registry.shadow
        if shadow is None:
            return
        try:
            self._queue.put_nowait(_Job(pixels, outcomes, scores))
        except queue.Full:
            with self._lock:
                self._agreement(shadow.version).skipped += len(pixels)

    def _agreement(self, version: str) -> Agreement:
        return self._agreements.setdefault(version, Agreement(version=version))

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set() or not self._queue.empty():
            job = self._queue.get()
            if job is None:
                break
            shadow = self._registry.shadow
            if shadow is None:
                continue
            try:
                result = shadow.model.score_images(job.pixels)
            except Exception:
                log.exception("shadow model %s failed", shadow.version)
                with self._lock:
                    self._agreement(shadow.version).errors += len(job.pixels)
                continue
            with self._lock:
                agreement = self._agreement(shadow.version)
                for outcome, active_score, score in zip(job.active_outcomes, job.active_scores, result.scores, strict=True):
                    agreement.add(outcome, decide(float(score), shadow.thresholds).outcome, active_score, float(score))
