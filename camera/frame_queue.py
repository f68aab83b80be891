"""The bounded hand-over between a source's grab thread and its reader, with an explicit
overflow policy: where a lagging reader loses frames, and how that is counted."""

from __future__ import annotations

import enum
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

from gaikan.camera.source import CameraFault, FramesLost

T = TypeVar("T")


class Overflow(enum.StrEnum):
    """What happens when the reader lags and the queue is full."""

    DROP_OLDEST = "drop_oldest"  # free-run: the oldest frame goes, the reader always gets the newest
    REPORT_LOST = "report_lost"  # triggered: every frame is a part; a refused one is reported as lost


@dataclass(slots=True)
class _Lost:
    """Frames lost at this point of the sequence (consecutive losses merge)."""

    count: int
    reason: str


class FrameQueue(Generic[T]):
    """A thread-safe bounded queue of grabbed images, the losses between them, and a fault to
    report after them.

    `put` never blocks (the grab thread must keep re-queuing driver buffers). `get` waits at most
    `timeout` and hands out what happened in capture order: the next frame, or `FramesLost` for
    frames lost at that point (refused because the queue was full, or reported by `report_lost`);
    once everything queued was delivered, the pending fault is raised (once); else None.
    Only frames count against `capacity`.
    """

    def __init__(self, capacity: int, overflow: Overflow) -> None:
        if capacity < 1:
            raise ValueError("queue capacity must be at least 1")
        self.capacity = capacity
        self.overflow = overflow
        self._entries: deque[T | _Lost] = deque()
        self._frames = 0
        self._fault: CameraFault | None = None
        self._ready = threading.Condition()

    def put(self, item: T) -> int:
        """Queue a frame; returns how many frames were discarded to make room or refused (0 or 1)."""
        with self._ready:
            discarded = 0
            if self._frames >= self.capacity:
                if self.overflow is Overflow.REPORT_LOST:
                    self._mark_lost(1, f"reader lagged: queue of {self.capacity} frames full")
                    return 1
                while isinstance(self._entries[0], _Lost):  # only frames are dropped
                    self._entries.popleft()
                self._entries.popleft()
                self._frames -= 1
                discarded = 1
            self._entries.append(item)
            self._frames += 1
            self._ready.notify()
            return discarded

    def report_lost(self, count: int, reason: str) -> None:
        """Frames that never reached the queue (incomplete, device frame-id gap), at this point."""
        if count > 0:
            with self._ready:
                self._mark_lost(count, reason)

    def _mark_lost(self, count: int, reason: str) -> None:
        tail = self._entries[-1] if self._entries else None
        if isinstance(tail, _Lost):
            tail.count += count
            tail.reason = reason
        else:
            self._entries.append(_Lost(count, reason))
        self._ready.notify()

    def fail(self, fault: CameraFault) -> None:
        """Report `fault` from `get` once what was queued before it was delivered."""
        with self._ready:
            self._fault = fault
            self._ready.notify()

    def get(self, timeout: float) -> T | None:
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._ready:
            while True:
                if self._entries:
                    entry = self._entries.popleft()
                    if isinstance(entry, _Lost):
                        raise FramesLost(entry.count, f"{entry.count} frame(s) lost: {entry.reason}")
                    self._frames -= 1
                    return entry
                if self._fault is not None:
                    fault, self._fault = self._fault, None
                    raise fault
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._ready.wait(remaining)

    def clear(self) -> None:
        with self._ready:
            self._entries.clear()
            self._frames = 0
            self._fault = None

    def __len__(self) -> int:
        """Frames queued."""
        with self._ready:
            return self._frames
