"""Fan-out of live events (stored decisions, status changes) from worker threads to asyncio
subscribers such as the dashboard's Server-Sent Events stream."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


class EventHub:
    """Thread-safe publish; each subscriber gets a bounded queue (a slow one loses its oldest events)."""

    def __init__(self, queue_size: int = 256) -> None:
        self._queue_size = queue_size
        self._lock = threading.Lock()
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = set()

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(self._offer, queue, event)
            except RuntimeError:  # the subscriber's loop has closed
                with self._lock:
                    self._subscribers.discard((loop, queue))

    @staticmethod
    def _offer(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        entry = (asyncio.get_running_loop(), asyncio.Queue[dict[str, Any]](maxsize=self._queue_size))
        with self._lock:
            self._subscribers.add(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                self._subscribers.discard(entry)
