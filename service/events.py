"""Fan-out of live events (stored decisions, status changes) from worker threads to asyncio
subscribers such as the dashboard's Server-Sent Events stream. An event is its encoded text,
made once by the publisher for every subscriber."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class EventHub:
    """Thread-safe publish; each subscriber gets a bounded queue (a slow one loses its oldest events)."""

    def __init__(self, queue_size: int = 256) -> None:
        self._queue_size = queue_size
        self._lock = threading.Lock()
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]] = set()

    @property
    def has_subscribers(self) -> bool:
        """Whether anyone listens now (a publisher may skip encoding an event nobody reads)."""
        with self._lock:
            return bool(self._subscribers)

    def publish(self, event: str) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Queue[str]]] = {}
        for loop, queue in subscribers:
            by_loop.setdefault(loop, []).append(queue)
        for loop, queues in by_loop.items():  # one wake-up per event loop, not per subscriber
            try:
                loop.call_soon_threadsafe(self._offer, queues, event)
            except RuntimeError:  # the subscribers' loop has closed
                with self._lock:
                    self._subscribers -= {(loop, queue) for queue in queues}

    @staticmethod
    def _offer(queues: list[asyncio.Queue[str]], event: str) -> None:
        for queue in queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[str]]:
        entry = (asyncio.get_running_loop(), asyncio.Queue[str](maxsize=self._queue_size))
        with self._lock:
            self._subscribers.add(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                self._subscribers.discard(entry)
