"""The bounded hand-over between a source's grab thread and its reader, with an explicit
overflow policy: where a lagging reader loses frames, and how that is counted."""

from __future__ import annotations

import enum
import threading
import time
from collections import deque
from typing import Generic, TypeVar

from gaikan.camera.source import CameraFault, FramesLost

T = TypeVar("T")


class Overflow(enum.StrEnum):
    """What happens when the reader lags and the queue is full."""

    DROP_OLDEST = "drop_oldest"  # free-run: the oldest frame goes, the reader always gets the newest
    REPORT_LOST = "report_lost"  # triggered: every frame is a part; a refused one is reported as lost


class FrameQueue(Generic[T]):
    """A thread-safe bounded queue of grabbed images plus the faults to report after them.

    `put` never blocks (the grab thread must keep re-queuing driver buffers). `get` waits at most
    `timeout` and, in this order: raises `FramesLost` when frames were refused since the last
    report, returns the oldest queued item, raises the pending fault once everything queued
    before it was delivered, or returns None.
    """

    def __init__(self, capacity: int, overflow: Overflow) -> None:
        if capacity < 1:
            raise ValueError("queue capacity must be at least 1")
        self.capacity = capacity
        self.overflow = overflow
        self._items: deque[T] = deque()
        self._lost_unreported = 0
        self._lost_reason = ""
        self._fault: CameraFault | None = None
        self._ready = threading.Condition()

    def put(self, item: T) -> int:
        """Queue an item; returns how many items were discarded to make room or refused (0 or 1)."""
        with self._ready:
            discarded = 0
            if len(self._items) >= self.capacity:
                if self.overflow is Overflow.DROP_OLDEST:
                    self._items.popleft()
                else:
                    self._lost_unreported += 1
                    self._lost_reason = f"reader lagged: queue of {self.capacity} frames full"
                    self._ready.notify()
                    return 1
                discarded = 1
            self._items.append(item)
            self._ready.notify()
            return discarded

    def report_lost(self, count: int, reason: str) -> None:
        """Frames that never reached the queue (incomplete, device frame-id gap): the next `get` says so."""
        if count <= 0:
            return
        with self._ready:
            self._lost_unreported += count
            self._lost_reason = reason
            self._ready.notify()

    def fail(self, fault: CameraFault) -> None:
        """Report `fault` from `get` once the items queued before it were delivered."""
        with self._ready:
            self._fault = fault
            self._ready.notify()

    def get(self, timeout: float) -> T | None:
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._ready:
            while True:
                if self._lost_unreported:
                    count, self._lost_unreported = self._lost_unreported, 0
                    raise FramesLost(count, f"{count} frame(s) lost: {self._lost_reason}")
                if self._items:
                    return self._items.popleft()
                if self._fault is not None:
                    fault, self._fault = self._fault, None
                    raise fault
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._ready.wait(remaining)

    def clear(self) -> None:
        with self._ready:
            self._items.clear()
            self._lost_unreported = 0
            self._fault = None

    def __len__(self) -> int:
        with self._ready:
            return len(self._items)
