"""The API side of the boundary: starts the line process, sends it commands, keeps its newest
status snapshot, and forwards its decision stream. A watchdog reports a dead or stuck line
process as a fail-safe reason at once and restarts it.

Readers (status pages, the PLC heartbeat, metrics) read the snapshot this side already holds, so
any number of them costs the line process nothing.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gaikan.service import line_process
from gaikan.service.errors import LineUnavailable
from gaikan.service.line_protocol import Command, DecisionStored, LineEvent, LineSnapshot, ModelSwapped, Reply, Stop
from gaikan.service.settings import Settings
from gaikan.service.workers import ProcessWorker, Worker

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WatchdogConfig:
    stale_after_s: float = 1.5  # no snapshot for this long: fail-safe `line_unresponsive`
    restart_after_s: float = 10.0  # unresponsive, or a model call hung, this long: the process is restarted
    start_timeout_s: float = 60.0  # first snapshot of a new process (imports, model load)
    command_timeout_s: float = 120.0  # a model load can take a while
    check_interval_s: float = 0.1
    min_restart_interval_s: float = 2.0  # a process that dies at once is not restarted in a tight loop


class _Channel:
    """One incarnation of the line process: its pipe, its event queue and the thread reading it.
    A process killed in the middle of a message can leave that thread blocked for good; the next
    incarnation gets a fresh queue and thread, so the stream goes on."""

    def __init__(self, worker: ProcessWorker, dispatch: Callable[[_Channel, LineEvent], None], number: int) -> None:
        context = worker.context
        self.commands, self.child_commands = context.Pipe()
        self.events: queue.Queue[LineEvent] = context.Queue()  # type: ignore[assignment]
        self.started = time.monotonic()
        self.snapshot: LineSnapshot | None = None
        self._dispatch = dispatch
        self.reader = Worker(f"gaikan-line-events-{number}", self._read, join_timeout_s=1.0)

    def _read(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                continue
            except (EOFError, OSError, ValueError):  # the queue was closed
                return
            self._dispatch(self, event)

    def close(self) -> None:
        self.reader.stop()
        self.commands.close()


def _plain_settings(settings: Settings) -> Settings:
    """A `Settings` (not a subclass made for one config file) that pickles into the line process."""
    return Settings.model_construct(**{name: getattr(settings, name) for name in Settings.model_fields})


class LineClient:
    def __init__(
        self,
        settings: Settings,
        *,
        on_decision: Callable[[DecisionStored], None] | None = None,
        on_model: Callable[[ModelSwapped], None] | None = None,
        on_spawn: Callable[[], None] | None = None,
        watchdog: WatchdogConfig = WatchdogConfig(),
    ) -> None:
        """`on_decision` and `on_model` get the decision stream; `on_spawn` is called before each
        (re)start of the line process, when no old one can send anything any more."""
        self._settings = _plain_settings(settings)
        self._on_decision = on_decision
        self._on_model = on_model
        self._on_spawn = on_spawn
        self._config = watchdog
        self._process = ProcessWorker("gaikan-line", line_process.main, join_timeout_s=30.0, daemon=False)  # it starts the evidence process
        self._channel: _Channel | None = None
        self._command_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._stopping = False
        self.restarts = 0
        self._watchdog = Worker("gaikan-line-watchdog", self._watch)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the line process and its watchdog; returns at once (until the line reports, the
        fail-safe reason is `line_starting`, and commands wait for it)."""
        self._stopping = False
        self._spawn()
        self._watchdog.start()

    def wait_ready(self, timeout_s: float) -> bool:
        """Wait until the line process has reported its first snapshot."""
        deadline = time.monotonic() + timeout_s
        while self.snapshot is None and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.snapshot is not None

    def _spawn(self) -> None:
        with self._state_lock:
            previous, self._channel = self._channel, None
        if previous is not None:
            previous.close()  # nothing from the old process is dispatched after this
        if self._on_spawn is not None:
            self._on_spawn()
        channel = _Channel(self._process, self._dispatch, self.restarts)
        self._process.start(self._settings, channel.child_commands, channel.events)
        channel.child_commands.close()
        channel.reader.start()
        with self._state_lock:
            self._channel = channel

    def stop(self) -> None:
        """Let the line decide and store what it holds, then end it and the helpers."""
        self._stopping = True
        self._watchdog.stop()  # no restarts from here on
        channel = self._channel
        with self._command_lock:
            self._process.stop(signal=lambda: self._ask_to_stop(channel))
        with self._state_lock:
            self._channel = None
        if channel is not None:
            channel.close()

    def _ask_to_stop(self, channel: _Channel | None) -> None:
        if channel is None:
            return
        channel.commands.send(Stop())
        if channel.commands.poll(self._config.command_timeout_s):
            channel.commands.recv()

    # -- reading -----------------------------------------------------------------------------
    @property
    def snapshot(self) -> LineSnapshot | None:
        """The newest snapshot of the current line process (None until it reported)."""
        channel = self._channel
        return channel.snapshot if channel is not None else None

    @property
    def alive(self) -> bool:
        return self._process.alive

    def fail_safe_reasons(self) -> list[str]:
        """Why every part is being rejected now, as far as the API can tell."""
        channel, snapshot = self._channel, self.snapshot
        if channel is None or not self._process.alive:
            return ["line_down"]
        if snapshot is None:
            return ["line_starting"]
        if time.monotonic() - snapshot.taken_at > self._config.stale_after_s:
            return ["line_unresponsive"]
        return list(snapshot.fail_safe)

    def _accept(self, channel: _Channel, snapshot: LineSnapshot) -> None:
        with self._state_lock:
            current = channel.snapshot
            if current is None or snapshot.serial > current.serial:
                channel.snapshot = snapshot

    def _dispatch(self, channel: _Channel, event: LineEvent) -> None:
        try:
            if isinstance(event, LineSnapshot):
                self._accept(channel, event)
            elif isinstance(event, DecisionStored) and self._on_decision is not None:
                self._on_decision(event)
            elif isinstance(event, ModelSwapped) and self._on_model is not None:
                self._on_model(event)
        except Exception:
            log.exception("handling a line event failed")

    # -- commands ----------------------------------------------------------------------------
    def execute(self, command: Command) -> object:
        """Carry out `command` in the line process: its value, or its domain error raised here;
        `LineUnavailable` when the line process is down or does not answer."""
        with self._command_lock:
            channel = self._channel
            if channel is None or not self._process.alive:
                raise LineUnavailable("the line process is not running (the watchdog is restarting it)")
            try:
                channel.commands.send(command)
                reply = self._await_reply(channel)
            except (EOFError, OSError, BrokenPipeError) as error:
                raise LineUnavailable(f"the line process went away during the command: {error}") from error
        if reply.snapshot is not None:
            self._accept(channel, reply.snapshot)
        if reply.error is not None:
            raise reply.error
        return reply.value

    def _await_reply(self, channel: _Channel) -> Reply:
        deadline = time.monotonic() + self._config.command_timeout_s
        while not channel.commands.poll(0.1):
            if not self._process.alive:
                raise LineUnavailable("the line process died during the command")
            if time.monotonic() > deadline:
                log.error("the line process did not answer within %.0f s: restarting it", self._config.command_timeout_s)
                self._process.kill()  # its late answer must never be read as the next command's
                raise LineUnavailable("the line process did not answer; it is being restarted")
        reply = channel.commands.recv()
        assert isinstance(reply, Reply)
        return reply

    # -- the watchdog ------------------------------------------------------------------------
    def _watch(self, stop: threading.Event) -> None:
        while not stop.wait(self._config.check_interval_s):
            if self._stopping:
                return
            try:
                self._check()
            except Exception:
                log.exception("line watchdog check failed")

    def _check(self) -> None:
        channel = self._channel
        now = time.monotonic()
        if channel is None or not self._process.alive:
            if channel is not None and now - channel.started < self._config.min_restart_interval_s:
                return
            log.error("the line process ended (exit code %s): restarting it", self._process.exitcode)
            self._restart()
            return
        snapshot = channel.snapshot
        if snapshot is None:
            stuck_for = now - channel.started - self._config.start_timeout_s
        else:
            stuck_for = max(now - snapshot.taken_at, snapshot.inference_busy_s)
        if stuck_for > self._config.restart_after_s:
            log.error("the line process has not decided for %.1f s: killing it for a restart", stuck_for)
            self._process.kill()

    def _restart(self) -> None:
        with self._command_lock:
            if self._stopping:
                return
            self._process.stop()  # reaps the dead process (or kills a survivor)
            self.restarts += 1
            self._spawn()
