"""Saving part images and heatmap overlays under a disk budget, oldest first out."""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from gaikan.models.overlay import heatmap_overlay
from gaikan.models.package import InputSpec
from gaikan.service.metrics import Metrics
from gaikan.service.storage.decisions import DecisionStore
from gaikan.service.workers import Worker, put_stop_marker

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What to save for one decision: the frame and, when the model ran, its anomaly map."""

    pixels: np.ndarray
    anomaly_map: np.ndarray | None
    input_spec: InputSpec | None
    vmax: float | None  # heatmap colour scale top (the reject threshold)


# Fast lossless PNG: light zlib, the "sub" filter and run-length matching (about 2x faster than
# OpenCV's default filtering on camera frames, files about the same size).
_FAST_PNG = [
    cv2.IMWRITE_PNG_COMPRESSION, 1,
    cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB,
    cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE,
]  # fmt: skip


def _write_png(path: Path, rgb_or_grey: np.ndarray) -> int:
    image = cv2.cvtColor(rgb_or_grey, cv2.COLOR_RGB2BGR) if rgb_or_grey.ndim == 3 else rgb_or_grey
    ok, encoded = cv2.imencode(".png", image, _FAST_PNG)
    if not ok:
        raise OSError(f"cannot encode {path.name}")
    temporary = path.with_suffix(".partial")
    temporary.write_bytes(encoded.tobytes())
    temporary.replace(path)
    return len(encoded)


HEATMAP_MAX_SIDE = 1024  # the overlay is for people to look at; the part image itself is kept at full size


def render_heatmap(evidence: Evidence) -> np.ndarray | None:
    """The anomaly map over the frame, coloured on [0, reject threshold], at most 1024 px on its
    longer side."""
    if evidence.anomaly_map is None or evidence.input_spec is None or evidence.vmax is None:
        return None
    return heatmap_overlay(
        evidence.pixels, evidence.anomaly_map, evidence.input_spec, vmin=0.0, vmax=evidence.vmax, max_side=HEATMAP_MAX_SIDE
    )


class EvidenceWriter:
    """A thread that writes `<seq>.png` and `<seq>_heatmap.png`, records their paths on the
    decision, and deletes the oldest files once `budget_bytes` is exceeded. It never blocks the
    caller: when `max_backlog` images wait already, new ones are skipped and counted. It runs at a
    lower CPU priority than inspection, so encoding pictures never slows decisions down."""

    def __init__(
        self,
        folder: Path,
        store: DecisionStore,
        metrics: Metrics,
        *,
        budget_bytes: int,
        max_backlog: int = 64,
        niceness: int = 10,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        self._folder = Path(folder)
        self._folder.mkdir(parents=True, exist_ok=True)
        self._store = store
        self._metrics = metrics
        self._budget = budget_bytes
        self._on_done = on_done  # after each submitted picture is written, failed or skipped
        self._queue: queue.Queue[tuple[int, Evidence] | None] = queue.Queue(maxsize=max_backlog)
        self._files: deque[tuple[int, list[Path], int]] = deque()
        self._total = 0
        self._worker = Worker("gaikan-evidence", self._run, wake=lambda: put_stop_marker(self._queue), niceness=niceness)
        self._scan()

    def _scan(self) -> None:
        by_seq: dict[int, list[Path]] = {}
        for path in self._folder.glob("*.png"):
            stem = path.stem.removesuffix("_heatmap")
            if stem.isdigit():
                by_seq.setdefault(int(stem), []).append(path)
        for seq in sorted(by_seq):
            size = sum(p.stat().st_size for p in by_seq[seq])
            self._files.append((seq, by_seq[seq], size))
            self._total += size

    @property
    def used_bytes(self) -> int:
        return self._total

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()

    def submit(self, seq: int, evidence: Evidence) -> None:
        try:
            self._queue.put_nowait((seq, evidence))
        except queue.Full:
            self._metrics.evidence_skipped.inc()
            self._done()

    def _done(self) -> None:
        if self._on_done is not None:
            self._on_done()

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set() or not self._queue.empty():
            item = self._queue.get()
            if item is None:
                break
            seq, evidence = item
            try:
                self._save(seq, evidence)
            except Exception:  # a full disk must not stop the line
                log.exception("could not save images for decision %s", seq)
            self._done()

    def _save(self, seq: int, evidence: Evidence) -> None:
        image_path = self._folder / f"{seq}.png"
        size = _write_png(image_path, evidence.pixels)
        paths = [image_path]
        heatmap = render_heatmap(evidence)
        heatmap_path = None
        if heatmap is not None:
            heatmap_path = self._folder / f"{seq}_heatmap.png"
            size += _write_png(heatmap_path, heatmap)
            paths.append(heatmap_path)
        self._store.attach_evidence(seq, str(image_path), str(heatmap_path) if heatmap_path else None)
        self._files.append((seq, paths, size))
        self._total += size
        self._enforce_budget()

    def _enforce_budget(self) -> None:
        while self._total > self._budget and len(self._files) > 1:
            seq, paths, size = self._files.popleft()
            for path in paths:
                path.unlink(missing_ok=True)
            self._total -= size
            self._store.attach_evidence(seq, None, None)
