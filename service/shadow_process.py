"""The shadow process (`service/shadow.py` runs it): loads the candidate from its stored package
into a one-thread ONNX Runtime session, scores the frames it is handed in shared memory and
sends back its outcomes. Kept apart so that the process imports only what scoring needs."""

from __future__ import annotations

import logging
import queue
import signal
from dataclasses import dataclass
from multiprocessing import parent_process
from pathlib import Path
from typing import Any

from gaikan.models.thresholds import Thresholds
from gaikan.service.decision import Outcome, decide
from gaikan.service.shared_arrays import ArrayRef, received

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Load:
    """Load this candidate (a new one, or the same again in a restarted process)."""

    version: str
    path: str
    providers: list[str] | None


@dataclass(frozen=True, slots=True)
class Loaded:
    version: str
    error: str | None  # why the candidate could not be loaded (the process then scores nothing: every frame is an error)


@dataclass(frozen=True, slots=True)
class Job:
    version: str
    thresholds: Thresholds
    block: str  # shared-memory name
    frames: list[ArrayRef]
    active_outcomes: list[Outcome]
    active_scores: list[float | None]


@dataclass(frozen=True, slots=True)
class Result:
    version: str
    block: str
    active_outcomes: list[Outcome]
    active_scores: list[float | None]
    scores: list[float] | None  # None: not scored (see `stale`)
    outcomes: list[Outcome] | None
    stale: bool = False  # frames for a candidate the process no longer holds (it was replaced): skipped, not an error


def main(jobs: Any, results: Any, log_level: str) -> None:
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
        if isinstance(item, Load):
            model = None  # the previous candidate's session goes first
            error = None
            try:
                model = OnnxModel(read_package(Path(item.path)), providers=item.providers, intra_op_threads=1)
            except Exception as failure:
                log.exception("shadow model %s could not be loaded", item.version)
                error = str(failure) or type(failure).__name__
            results.put(Loaded(item.version, error))
            continue
        results.put(_score(item, model))


def _score(job: Job, model: Any) -> Result:
    failed = Result(job.version, job.block, job.active_outcomes, job.active_scores, None, None)
    with received(job.block, job.frames) as frames:
        if model is None:
            return failed
        if model.version != job.version:
            return Result(job.version, job.block, job.active_outcomes, job.active_scores, None, None, stale=True)
        try:
            scores = [float(score) for score in model.score_images(frames).scores]
        except Exception:
            log.exception("shadow model %s failed", job.version)
            return failed
        finally:
            del frames  # no view outlives the block
    outcomes = [decide(s, job.thresholds).outcome for s in scores]
    return Result(job.version, job.block, job.active_outcomes, job.active_scores, scores, outcomes)
