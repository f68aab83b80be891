"""Parts in flight and their deadlines: each part is decided exactly once."""

from __future__ import annotations

import heapq
import threading
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PendingPart:
    frame_id: str
    camera_id: str
    captured_at: float  # wall clock
    deadline: float  # monotonic
    source: str | None = None
    part_key: str | None = None  # which part it shows, for matching the views of a station


class PartTracker:
    """Whoever claims a part first decides it: the inference path with a score, or the
    watchdog with a timeout reject once the deadline has passed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, PendingPart] = {}
        self._deadlines: list[tuple[float, str]] = []

    def register(self, part: PendingPart) -> None:
        with self._lock:
            self._pending[part.frame_id] = part
            heapq.heappush(self._deadlines, (part.deadline, part.frame_id))

    def claim(self, frame_id: str) -> bool:
        """Take the right to decide this part; False if it was already decided or discarded."""
        with self._lock:
            return self._pending.pop(frame_id, None) is not None

    def is_pending(self, frame_id: str) -> bool:
        with self._lock:
            return frame_id in self._pending

    def claim_expired(self, now: float) -> list[PendingPart]:
        """Claim every part whose deadline is at or before `now`."""
        expired: list[PendingPart] = []
        with self._lock:
            while self._deadlines and self._deadlines[0][0] <= now:
                _, frame_id = heapq.heappop(self._deadlines)
                part = self._pending.pop(frame_id, None)
                if part is not None:
                    expired.append(part)
        return expired

    def next_deadline(self) -> float | None:
        with self._lock:
            while self._deadlines and self._deadlines[0][1] not in self._pending:
                heapq.heappop(self._deadlines)
            return self._deadlines[0][0] if self._deadlines else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)
