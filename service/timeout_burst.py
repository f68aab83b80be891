"""A sustained burst of timeouts: more than a share of the recent decisions missed their deadline."""

from __future__ import annotations

import threading
from collections import deque

from gaikan.service.decision import Reason


class TimeoutBurst:
    """Watches the last `window` decisions; `alarming` while more than `max_fraction × window` of
    them are timeouts (so a short start with few decisions needs as many timeouts as a full window)."""

    def __init__(self, window: int = 50, max_fraction: float = 0.2) -> None:
        if window < 1 or not 0 < max_fraction <= 1:
            raise ValueError("window must be ≥ 1 and max_fraction in (0, 1]")
        self._recent: deque[bool] = deque(maxlen=window)
        self._limit = max_fraction * window
        self._timeouts = 0
        self._lock = threading.Lock()

    def add(self, reason: Reason) -> None:
        timed_out = reason is Reason.TIMEOUT
        with self._lock:
            if len(self._recent) == self._recent.maxlen and self._recent[0]:
                self._timeouts -= 1
            self._recent.append(timed_out)
            self._timeouts += timed_out

    @property
    def timeouts(self) -> int:
        """Timeouts among the recent decisions."""
        return self._timeouts

    @property
    def alarming(self) -> bool:
        return self._timeouts > self._limit
