"""Saving part images and heatmap overlays under a disk budget, oldest first out."""

from __future__ import annotations

import logging
import queue
import shutil
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from gaikan.models.overlay import heatmap_overlay
from gaikan.models.package import InputSpec
from gaikan.service.records import ViewPictures
from gaikan.service.storage.decisions import DecisionStore
from gaikan.service.workers import Worker, put_stop_marker

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DiskReserve:
    """Free space the image writer leaves on its disk, so the database can still commit when
    pictures have filled the rest: the larger of `min_free_mb` and `min_free_percent` of the disk."""

    min_free_mb: float = 1024.0
    min_free_percent: float = 5.0

    def bytes_on(self, total_bytes: int) -> int:
        return int(max(self.min_free_mb * 1024 * 1024, total_bytes * self.min_free_percent / 100.0))


@dataclass(frozen=True, slots=True)
class Evidence:
    """What to save for one decision: the frame and, when the model ran, its anomaly map."""

    pixels: np.ndarray
    anomaly_map: np.ndarray | None
    input_spec: InputSpec | None
    vmax: float | None  # heatmap colour scale top (the reject threshold)


@dataclass(frozen=True, slots=True)
class PartEvidence:
    """What to save for a station's part decision: each view's pictures, in the station's order,
    and the view whose pictures stand for the part (the decision's `image_path`)."""

    views: tuple[tuple[str, Evidence], ...]
    decisive: str


Pictures = Evidence | PartEvidence  # one camera's decision, or a station's part


def by_view(pictures: Pictures) -> tuple[tuple[str | None, Evidence], ...]:
    """The pictures to save, each with its view's name (None: one camera's decision)."""
    return pictures.views if isinstance(pictures, PartEvidence) else ((None, pictures),)


# Fast lossless PNG: light zlib, the "sub" filter and run-length matching (about 2x faster than
# OpenCV's default filtering on camera frames, files about the same size).
_FAST_PNG = [
    cv2.IMWRITE_PNG_COMPRESSION, 1,
    cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB,
    cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE,
]  # fmt: skip


# The heatmap overlay is for people to look at: JPEG, about 15x cheaper to encode than even the fast
# PNG and a tenth of its size (measured on the demo line's 256 px parts: 0.3 ms vs 4-5 ms CPU).
_HEATMAP_JPEG = [cv2.IMWRITE_JPEG_QUALITY, 90]


def _write_png(path: Path, rgb_or_grey: np.ndarray) -> int:
    return _write_image(path, rgb_or_grey, ".png", _FAST_PNG)


def _write_image(path: Path, rgb_or_grey: np.ndarray, extension: str, params: list[int]) -> int:
    image = cv2.cvtColor(rgb_or_grey, cv2.COLOR_RGB2BGR) if rgb_or_grey.ndim == 3 else rgb_or_grey
    ok, encoded = cv2.imencode(extension, image, params)
    if not ok:
        raise OSError(f"cannot encode {path.name}")
    temporary = path.with_name(path.name + ".partial")
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


class Count(Protocol):
    def inc(self, amount: float = 1) -> None: ...


class EvidenceCounters(Protocol):
    """The counters a picture writer moves (`Metrics` has them; so has the evidence process's
    channel to the line process)."""

    @property
    def evidence_skipped(self) -> Count: ...

    @property
    def evidence_no_space(self) -> Count: ...


HeldSeqs = Callable[[Sequence[int]], set[int]]
_HOLD_BATCH = 256  # decisions asked about at once when choosing what to delete


class EvidenceWriter:
    """A thread that writes `<seq>.png` (lossless) and `<seq>_heatmap.jpg` (for a station's part,
    each view's: `<seq>.<view>.png`, `<seq>.<view>_heatmap.jpg`), records their paths on the
    decision, and deletes the oldest files (a part's all together) once `budget_bytes` is exceeded,
    except those `held` names (re-checked parts not exported yet: they stay even beyond the budget). It never blocks the
    caller: when `max_backlog` images wait already, new ones are skipped and counted. It runs at a
    lower CPU priority than inspection, so encoding pictures never slows decisions down. It keeps
    the `reserve` free on its disk for the database: below it, the oldest pictures go first, and
    when none are left to delete a picture is not saved (counted in `gaikan_evidence_no_space_total`)."""

    def __init__(
        self,
        folder: Path,
        store: DecisionStore,
        metrics: EvidenceCounters,
        *,
        budget_bytes: int,
        max_backlog: int = 64,
        niceness: int = 10,
        reserve: DiskReserve = DiskReserve(),
        held: HeldSeqs | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        self._folder = Path(folder)
        self._folder.mkdir(parents=True, exist_ok=True)
        self._store = store
        self._metrics = metrics
        self._budget = budget_bytes
        self._reserve = reserve
        self._short_of_space = False
        self._held = held
        self._on_done = on_done  # after each submitted picture is written, failed or skipped
        self._queue: queue.Queue[tuple[int, Pictures] | None] = queue.Queue(maxsize=max_backlog)
        self._files: deque[tuple[int, list[Path], int]] = deque()
        self._total = 0
        self._worker = Worker("gaikan-evidence", self._run, wake=lambda: put_stop_marker(self._queue), niceness=niceness)
        self._scan()

    def _scan(self) -> None:
        by_seq: dict[int, list[Path]] = {}
        for path in [*self._folder.glob("*.png"), *self._folder.glob("*.jpg")]:
            stem = path.name.split(".", 1)[0].removesuffix("_heatmap")  # 12.png, 12_heatmap.jpg, 12.top.png, 12.top_heatmap.jpg
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

    def submit(self, seq: int, pictures: Pictures) -> None:
        try:
            self._queue.put_nowait((seq, pictures))
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
            self.write(*item)

    def write(self, seq: int, pictures: Pictures) -> None:
        """Save one decision's pictures on the calling thread (what the writer's own thread does
        with each submitted one); failures are logged, never raised."""
        try:
            self._save(seq, pictures)
        except Exception:  # a full disk must not stop the line
            log.exception("could not save images for decision %s", seq)
        self._done()

    def _room_for(self, needed: int) -> bool:
        usage = shutil.disk_usage(self._folder)
        return usage.free - needed >= self._reserve.bytes_on(usage.total)

    def _make_room(self, needed: int) -> bool:
        """Delete the oldest pictures (not held) until `needed` bytes fit above the reserve; False if
        they cannot."""
        if self._delete_oldest(lambda: self._room_for(needed), keep_newest=False):
            if self._short_of_space:
                log.info("disk has room for pictures again (%d MiB free)", shutil.disk_usage(self._folder).free // (1024 * 1024))
            self._short_of_space = False
            return True
        if not self._short_of_space:
            usage = shutil.disk_usage(self._folder)
            log.warning(
                "not saving pictures: %d MiB free is within the %d MiB reserve kept for the database",
                usage.free // (1024 * 1024),
                self._reserve.bytes_on(usage.total) // (1024 * 1024),
            )
        self._short_of_space = True
        return False

    def _save(self, seq: int, pictures: Pictures) -> None:
        views = by_view(pictures)
        # At most the raw pixels twice (image and heatmap) per view; PNG is usually smaller.
        if not self._make_room(sum(2 * evidence.pixels.nbytes for _, evidence in views)):
            self._metrics.evidence_no_space.inc()
            return
        paths: list[Path] = []
        saved: dict[str | None, ViewPictures] = {}
        size = 0
        try:
            for view, evidence in views:
                stem = str(seq) if view is None else f"{seq}.{view}"
                image_path = self._folder / f"{stem}.png"
                size += _write_png(image_path, evidence.pixels)
                paths.append(image_path)
                heatmap = render_heatmap(evidence)
                heatmap_path = None
                if heatmap is not None:
                    heatmap_path = self._folder / f"{stem}_heatmap.jpg"
                    size += _write_image(heatmap_path, heatmap, ".jpg", _HEATMAP_JPEG)
                    paths.append(heatmap_path)
                saved[view] = ViewPictures(str(image_path), str(heatmap_path) if heatmap_path else None)
            part = saved[pictures.decisive if isinstance(pictures, PartEvidence) else None]
            per_view = {view: kept for view, kept in saved.items() if view is not None}
            self._store.attach_evidence(seq, part.image_path, part.heatmap_path, per_view or None)
        except BaseException:
            for path in paths:  # nothing half-saved stays behind unrecorded
                path.unlink(missing_ok=True)
            raise
        self._files.append((seq, paths, size))
        self._total += size
        self._enforce_budget()

    def _enforce_budget(self) -> None:
        """Delete the oldest files not held until the total fits the budget (the newest part's
        files always stay)."""
        self._delete_oldest(lambda: self._total <= self._budget, keep_newest=True)

    def _delete_oldest(self, enough: Callable[[], bool], *, keep_newest: bool) -> bool:
        """Delete the oldest pictures, except those `held` names (re-checked parts not exported
        yet), until `enough()`; False when nothing more may go."""
        kept: list[tuple[int, list[Path], int]] = []
        try:
            while not enough():
                spare = len(self._files) - (1 if keep_newest else 0)
                if spare <= 0:
                    return False
                batch = [self._files.popleft() for _ in range(min(_HOLD_BATCH, spare))]
                try:
                    held = self._held([seq for seq, _, _ in batch]) if self._held else set()
                except Exception:
                    self._files.extendleft(reversed(batch))  # cannot tell what is held: delete nothing
                    raise
                for index, (seq, paths, size) in enumerate(batch):
                    if enough():
                        self._files.extendleft(reversed(batch[index:]))
                        break
                    if seq in held:
                        kept.append((seq, paths, size))
                        continue
                    for path in paths:
                        path.unlink(missing_ok=True)
                    self._total -= size
                    self._store.attach_evidence(seq, None, None)
            return True
        finally:
            self._files.extendleft(reversed(kept))
