"""Shared inference: frames of several cameras that use the same model, scored in micro-batches
by one worker on one ONNX Runtime session (one copy of the model).

Each camera has a lane (its own bounded queue, filled by its pipeline's acquisition). The
worker takes a batch of up to `max_batch` frames across the lanes: lanes are visited in the order
of their oldest frame's deadline (earliest first) and each gives one frame per round, so a camera
that floods its lane cannot take the batch from another (fair), and the camera whose part is due
first is served first (per-camera deadlines). A frame whose part was already decided (its
deadline passed) is skipped, never scored late.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from gaikan.service.workers import Worker

Item = TypeVar("Item")


@dataclass(eq=False, slots=True)
class Lane(Generic[Item]):
    """One camera's queue into a shared batcher. `queue` is guarded by the batcher's `condition`."""

    name: str
    deadline_s: float  # how long after capture a frame of this lane may still be scored
    queue: deque[Item] = field(default_factory=deque)
    taken: int = 0  # frames handed to the model from this lane


Picked = tuple[Lane[Item], Item]


class MicroBatcher(Generic[Item]):
    """One inference worker for the lanes that share one model.

    `captured(item)` gives an item's monotonic capture time; `score(batch)` scores a batch of
    (lane, item) pairs (it must decide every item, also when scoring fails)."""

    def __init__(
        self,
        name: str,
        *,
        max_batch: int,
        captured: Callable[[Item], float],
        score: Callable[[list[Picked[Item]]], None],
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.name = name
        self.max_batch = max_batch
        self.condition = threading.Condition()
        self._captured = captured
        self._score = score
        self._lanes: list[Lane[Item]] = []
        self._stop = threading.Event()
        self.batches = 0
        self.last_batch_size = 0
        self._worker = Worker(f"gaikan-inference-{name}", self._loop, wake=self._wake)

    # -- lanes -----------------------------------------------------------------------------
    def add_lane(self, name: str, deadline_s: float) -> Lane[Item]:
        lane: Lane[Item] = Lane(name, deadline_s)
        with self.condition:
            self._lanes.append(lane)
        return lane

    @property
    def lanes(self) -> tuple[Lane[Item], ...]:
        return tuple(self._lanes)

    def queued(self) -> int:
        return sum(len(lane.queue) for lane in self._lanes)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._worker.alive:
            return
        self._stop = threading.Event()
        self._worker.start(self._stop)

    def stop(self) -> None:
        """Score what is queued, then end the worker."""
        self._worker.stop()

    @property
    def running(self) -> bool:
        return self._worker.alive

    def _wake(self) -> None:
        with self.condition:
            self.condition.notify_all()

    # -- taking a batch --------------------------------------------------------------------
    def take(self, timeout_s: float = 0.1) -> list[Picked[Item]]:
        """Up to `max_batch` frames across the lanes, fairly (waits up to `timeout_s` for one)."""
        with self.condition:
            if not any(lane.queue for lane in self._lanes):
                self.condition.wait(timeout_s)
            waiting = [lane for lane in self._lanes if lane.queue]
            waiting.sort(key=lambda lane: self._captured(lane.queue[0]) + lane.deadline_s)
            batch: list[Picked[Item]] = []
            while waiting and len(batch) < self.max_batch:
                for lane in list(waiting):
                    if len(batch) >= self.max_batch:
                        break
                    batch.append((lane, lane.queue.popleft()))
                    lane.taken += 1
                    if not lane.queue:
                        waiting.remove(lane)
            self.condition.notify_all()  # room in the lanes for blocked producers
        return batch

    def _loop(self, stop: threading.Event) -> None:
        while not stop.is_set() or self.queued():
            batch = self.take()
            if not batch:
                continue
            try:
                self._score(batch)
            finally:
                self.batches += 1
                self.last_batch_size = len(batch)
