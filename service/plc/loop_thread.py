"""An asyncio server in its own thread and event loop, so a protocol server never blocks the
HTTP API's loop or the line (and its blocking store calls block only itself)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Protocol

log = logging.getLogger(__name__)


class AsyncServer(Protocol):
    async def start(self) -> None:
        """Listen; return once clients can connect (raise if they cannot)."""

    async def stop(self) -> None: ...


class ServerThread:
    def __init__(self, name: str, server: AsyncServer, start_timeout_s: float = 300.0) -> None:
        self.name = name
        self.server = server
        self._start_timeout_s = start_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the server; returns when it listens, raises what stopped it from listening."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name=self.name, daemon=True)
        self._thread.start()
        starting = self._run(self.server.start)
        try:
            starting.result(timeout=self._start_timeout_s)
        except BaseException:
            starting.cancel()
            self._shutdown_loop()
            raise
        log.info("%s started", self.name)

    def stop(self) -> None:
        if self._loop is None:
            return
        try:
            self._run(self.server.stop).result(timeout=30)
        except Exception:
            log.exception("%s did not stop cleanly", self.name)
        self._shutdown_loop()
        log.info("%s stopped", self.name)

    def _run(self, coroutine: Callable[[], Awaitable[None]]) -> Future[None]:
        assert self._loop is not None

        async def call() -> None:
            await coroutine()

        return asyncio.run_coroutine_threadsafe(call(), self._loop)

    def _shutdown_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
