"""One lifecycle for every background loop: `start` creates the thread, one stop signal, `stop`
joins with a timeout and logs a survivor; optionally at a lower CPU priority.

A worker is started again after `stop` with a fresh thread, so a line can be stopped and
started twice. The loop receives the stop signal and returns once it is set (after draining
what it must); `wake` (optional) unblocks a loop that waits on something else, such as a queue.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.context
import multiprocessing.process
import os
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

Loop = Callable[[threading.Event], None]


def lower_thread_priority(niceness: int) -> None:
    """Make the calling thread nicer (Linux schedules threads individually), so background work
    (shadow scoring, picture encoding) gives way to inspection. Best effort elsewhere."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (OSError, AttributeError):
        log.info("could not lower the priority of thread %s", threading.current_thread().name)


class Worker:
    """A named loop on its own daemon thread."""

    def __init__(
        self,
        name: str,
        loop: Loop,
        *,
        wake: Callable[[], None] | None = None,
        niceness: int = 0,
        join_timeout_s: float = 10.0,
    ) -> None:
        self.name = name
        self._loop = loop
        self._wake = wake
        self._niceness = niceness
        self._join_timeout_s = join_timeout_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, stop: threading.Event | None = None) -> None:
        """Start a fresh thread; workers of one group may share one `stop` signal."""
        if self.alive:
            raise RuntimeError(f"worker {self.name} is already running")
        self._stop = stop or threading.Event()
        self._thread = threading.Thread(target=self._main, args=(self._stop,), name=self.name, daemon=True)
        self._thread.start()

    def _main(self, stop: threading.Event) -> None:
        if self._niceness:
            lower_thread_priority(self._niceness)
        try:
            self._loop(stop)
        except Exception:
            log.exception("worker %s failed", self.name)

    def signal_stop(self) -> None:
        """Ask the loop to finish, without waiting for it."""
        self._stop.set()
        if self._wake is not None:
            self._wake()

    def join(self) -> bool:
        """Wait up to the join timeout; False (and logged) when the thread is still alive."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout=self._join_timeout_s)
        if thread.is_alive():
            log.warning("worker %s did not stop within %.1f s", self.name, self._join_timeout_s)
            return False
        self._thread = None
        return True

    def stop(self) -> bool:
        """Signal, then join; True when the thread ended."""
        self.signal_stop()
        return self.join()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()


def stop_all(workers: list[Worker]) -> bool:
    """Signal every worker first (they wind down together), then join each; True when all ended."""
    for worker in workers:
        worker.signal_stop()
    return all([worker.join() for worker in workers])


def put_stop_marker(work: queue.Queue[object | None], timeout_s: float = 5.0) -> None:
    """Wake a loop blocked on `work.get()` with the None that ends it; when the queue stays full
    the loop still ends, after it has drained the queue."""
    try:
        work.put(None, timeout=timeout_s)
    except queue.Full:
        log.warning("work queue full at stop: its loop ends once it has drained it")


class ProcessWorker:
    """The same lifecycle for a child process (multiprocessing, spawn): `start` creates a fresh
    process, `stop` gives it one stop signal, joins with a timeout and logs (then kills) a
    survivor; optionally at a lower CPU priority."""

    def __init__(
        self, name: str, target: Callable[..., None], *, niceness: int = 0, join_timeout_s: float = 30.0, daemon: bool = True
    ) -> None:
        """`daemon=False` for a process that starts processes of its own; it is then killed at
        interpreter exit if nobody stopped it."""
        self.name = name
        self._daemon = daemon
        self._target = target
        self._niceness = niceness
        self._join_timeout_s = join_timeout_s
        self._context = multiprocessing.get_context("spawn")
        self._process: multiprocessing.process.BaseProcess | None = None

    @property
    def context(self) -> multiprocessing.context.SpawnContext:
        """Make the pipes and queues the process is started with from this context."""
        return self._context  # type: ignore[return-value]

    def start(self, *args: object) -> None:
        if self.alive:
            raise RuntimeError(f"process {self.name} is already running")
        self._process = self._context.Process(target=self._target, args=args, name=self.name, daemon=self._daemon)
        self._process.start()
        if not self._daemon:
            atexit.register(self.kill)  # runs before multiprocessing's exit handler joins children
        if self._niceness and self._process.pid is not None:
            try:
                os.setpriority(os.PRIO_PROCESS, self._process.pid, self._niceness)
            except OSError:
                log.info("could not lower the priority of process %s", self.name)

    def stop(self, signal: Callable[[], None] | None = None) -> bool:
        """Send the stop signal (when given and alive), join with the timeout; a survivor is
        logged and killed. True when it ended by itself."""
        process = self._process
        if process is None:
            return True
        if signal is not None and process.is_alive():
            try:
                signal()
            except Exception:
                log.exception("could not signal process %s to stop", self.name)
        process.join(timeout=self._join_timeout_s)
        ended = not process.is_alive()
        if not ended:
            log.warning("process %s (pid %s) did not stop within %.1f s: killed", self.name, process.pid, self._join_timeout_s)
            self.kill()
        if not self._daemon:
            atexit.unregister(self.kill)
        self._process = None
        return ended

    def kill(self) -> None:
        process = self._process
        if process is not None and process.is_alive():
            process.kill()
            process.join(timeout=5)

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def exitcode(self) -> int | None:
        return self._process.exitcode if self._process is not None else None
