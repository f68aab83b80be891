"""A real uvicorn server on a free loopback port, run in a thread of the test process."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import uvicorn

from gaikan.service.app import create_app
from gaikan.service.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, settings: Settings, start_timeout_s: float = 30.0) -> None:
        self.settings = settings
        self.start_timeout_s = start_timeout_s
        self.port = free_port()
        self.app = create_app(settings)
        self.services = self.app.state.services
        self.context = self.services.context  # the API process's stores and line client
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + self.start_timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        # The API answers at once; tests start from a line that runs (model restored, camera open).
        if not self.context.line.wait_ready(120):
            raise RuntimeError("the line process did not report within 120 s")
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)

    def client(self, api_key: str | None = None) -> httpx.Client:
        headers = {"X-API-Key": api_key} if api_key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll until `condition()` is truthy; return its value or fail with a clear message."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def interrupt(process: subprocess.Popen[Any], timeout: float) -> int | None:
    """Ctrl-C `process` and wait for it to end: its exit code, or None when it was still running
    after `timeout` s (it is killed then)."""
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


def wait_decided(client: httpx.Client, count: int, timeout: float = 30.0) -> None:
    """Wait until the line behind `client` has stored `count` decisions (seq `count` and before)."""
    wait_for(lambda: client.get("/api/v1/status").json()["last_seq"] >= count, timeout=timeout)


def wait_pictures(client: httpx.Client, count: int) -> None:
    """Wait until the newest `count` results have their pictures written (the evidence process is behind the decisions)."""
    wait_for(lambda: all(d["has_image"] for d in client.get("/api/v1/results", params={"limit": count}).json()["items"]))
