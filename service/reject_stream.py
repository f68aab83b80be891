"""The reject stream: the one source every PLC protocol (REST, OPC UA, Modbus TCP) reads.

Decisions after a seq in seq order, acknowledgement up to a seq per client, the heartbeat, and
PLC liveness (when each client last polled and acknowledged). It is built from its dependencies
only (decision store, ack store, a callable returning the line's current state), never from the
line itself, so it works the same wherever the line runs.

Client identity: a client is a name. Over REST it is the API key's name (`local` without keys);
the OPC UA and Modbus servers each serve one configured client name (`[plc.opcua] client`,
`[plc.modbus] client`). Whatever protocol acknowledges for a name moves that name's one acked seq.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gaikan.service.errors import InvalidInput
from gaikan.service.records import StoredDecision
from gaikan.service.storage.acks import AckStore
from gaikan.service.storage.decisions import DecisionStore

PLC_BACKLOG = "plc_backlog"  # fail-safe reason: this client has more unacknowledged decisions than the buffer limit


@dataclass(frozen=True, slots=True)
class LineState:
    """What the line says about itself right now (from the line, or its status snapshot)."""

    fail_safe: tuple[str, ...]
    camera_state: str
    active_model: str | None
    active_model_calibrated: bool | None = None  # None without an active model


@dataclass(frozen=True, slots=True)
class StreamHeartbeat:
    """The heartbeat one client sees. `fail_safe` is the line's reasons plus `plc_backlog` when
    this client is behind by more than the buffer limit."""

    server_time: float
    beat: int  # whole seconds since the stream started: a counter that moves while the service lives
    last_seq: int
    acked_seq: int
    pending: int  # decisions after acked_seq
    fail_safe: tuple[str, ...]
    camera_state: str
    active_model: str | None
    active_model_calibrated: bool | None
    plc_silent: tuple[str, ...]  # watched clients that stopped polling or acknowledging


@dataclass(frozen=True, slots=True)
class Buffer:
    """The oldest unacknowledged decisions of one client, with its heartbeat."""

    items: list[StoredDecision]
    heartbeat: StreamHeartbeat


@dataclass(frozen=True, slots=True)
class ClientLiveness:
    client: str
    acked_seq: int
    pending: int
    last_poll: float | None
    last_ack: float | None
    silent_for_s: float | None  # None while the client is in contact
    backlog: bool


class AckBeyondNewest(InvalidInput):
    """An acknowledgement for a seq the service has not stored yet."""


@dataclass(frozen=True, slots=True)
class StreamLimits:
    silence_s: float = 10.0  # a watched client silent this long is reported
    buffer_limit: int = 10_000  # more unacknowledged decisions than this: fail-safe `plc_backlog`
    watch: tuple[str, ...] = ()  # clients reported silent even before they are first seen


class RejectStream:
    """Thread-safe: the REST routes and each protocol adapter call it from their own threads."""

    def __init__(
        self,
        decisions: DecisionStore,
        acks: AckStore,
        line_state: Callable[[], LineState],
        limits: StreamLimits = StreamLimits(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._decisions = decisions
        self._acks = acks
        self._line_state = line_state
        self._limits = limits
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._acked: dict[str, int] = {}  # write-through cache of the ack store
        self._last_poll: dict[str, float] = {}
        self._last_ack: dict[str, float] = {}
        # per client: (acked seq, newest seq) -> (pending count, oldest waiting decision); the
        # store is asked again only when either seq moves (a PLC polls far faster than parts come)
        self._waiting: dict[str, tuple[int, int, int, StoredDecision | None]] = {}

    @property
    def limits(self) -> StreamLimits:
        return self._limits

    def last_seq(self) -> int:
        return self._decisions.last_seq()

    def acknowledged(self, client: str) -> int:
        with self._lock:
            if client not in self._acked:
                self._acked[client] = self._acks.acknowledged(client)
            return self._acked[client]

    def acknowledgements(self) -> dict[str, tuple[int, float]]:
        """Every client that ever acknowledged: its acked seq and when (wall clock), from the store."""
        return self._acks.all()

    def known(self, client: str) -> bool:
        """Whether `client` has ever acknowledged (its cursor is stored)."""
        return self._acks.known(client)

    def after(self, client: str, after: int | None, limit: int) -> list[StoredDecision]:
        """Decisions with seq > `after` (default: the client's acked seq), oldest first. Counts as a poll."""
        self.record_poll(client)
        return self._decisions.after(self.acknowledged(client) if after is None else after, limit)

    def since(self, seq: int, limit: int) -> list[StoredDecision]:
        """Decisions with seq > `seq`, oldest first, for subscribers that are not a PLC client
        (event streams): not a poll, acknowledges nothing."""
        return self._decisions.after(seq, limit)

    def buffer(self, client: str, limit: int, *, poll: bool = True) -> Buffer:
        """The client's oldest `limit` unacknowledged decisions and its heartbeat. Counts as a
        poll unless `poll` is False (a protocol server refreshing its own view)."""
        if poll:
            self.record_poll(client)
        beat = self.heartbeat(client, poll=False)
        if limit == 1:
            _, oldest = self._waiting_for(client, beat.acked_seq, beat.last_seq)
            return Buffer(items=[oldest] if oldest else [], heartbeat=beat)
        return Buffer(items=self._decisions.after(beat.acked_seq, limit), heartbeat=beat)

    def record_poll(self, client: str) -> None:
        """The client was in contact (read something) now."""
        self._touch(self._last_poll, client)

    def acknowledge(self, client: str, seq: int) -> int:
        """Every decision up to `seq` is handled by `client`. Acks never move backwards; returns the
        client's acked seq afterwards. Raises AckBeyondNewest for a seq not stored yet."""
        last = self._decisions.last_seq()
        if seq > last:
            raise AckBeyondNewest(f"cannot acknowledge seq {seq}: the newest decision is {last}")
        acked = self._acks.acknowledge(client, seq)
        with self._lock:
            self._acked[client] = acked
        self._touch(self._last_ack, client)
        self.record_poll(client)
        return acked

    def heartbeat(self, client: str, *, poll: bool = True) -> StreamHeartbeat:
        """The client's heartbeat. Counts as a poll (a PLC watching the heartbeat is in contact)
        unless `poll` is False."""
        if poll:
            self.record_poll(client)
        state = self._line_state()
        now = self._clock()
        last = self._decisions.last_seq()
        acked = self.acknowledged(client)
        pending, _ = self._waiting_for(client, acked, last)
        fail_safe = tuple(state.fail_safe) + ((PLC_BACKLOG,) if pending > self._limits.buffer_limit else ())
        return StreamHeartbeat(
            server_time=now,
            beat=int(now - self._started),
            last_seq=last,
            acked_seq=acked,
            pending=pending,
            fail_safe=fail_safe,
            camera_state=state.camera_state,
            active_model=state.active_model,
            active_model_calibrated=state.active_model_calibrated,
            plc_silent=tuple(c.client for c in self.liveness(last) if c.silent_for_s is not None),
        )

    def liveness(self, last_seq: int | None = None) -> list[ClientLiveness]:
        """Every watched or seen client. Silent: no poll for `silence_s`, or decisions waiting and
        no acknowledgement for `silence_s` (a client never seen counts from the stream's start)."""
        now = self._clock()
        last = self._decisions.last_seq() if last_seq is None else last_seq
        with self._lock:
            clients = sorted({*self._limits.watch, *self._last_poll})
            polls = dict(self._last_poll)
            ack_times = dict(self._last_ack)
        result = []
        for client in clients:
            acked = self.acknowledged(client)
            pending, oldest = self._waiting_for(client, acked, last)
            poll = polls.get(client)
            ack = ack_times.get(client)
            silence = now - (poll if poll is not None else self._started)
            if oldest is not None:  # waiting since the later of its last ack and the oldest unacknowledged decision
                waiting_since = max(ack if ack is not None else self._started, oldest.record.decided_at)
                silence = max(silence, now - waiting_since)
            result.append(
                ClientLiveness(
                    client=client,
                    acked_seq=acked,
                    pending=pending,
                    last_poll=poll,
                    last_ack=ack,
                    silent_for_s=round(silence, 1) if silence > self._limits.silence_s else None,
                    backlog=pending > self._limits.buffer_limit,
                )
            )
        return result

    def _waiting_for(self, client: str, acked: int, last: int) -> tuple[int, StoredDecision | None]:
        """How many decisions wait for `client` and the oldest of them. While only newer
        decisions arrive, just those are counted: a client that never acknowledges costs an
        index range per new decision, not a count of the whole stream."""
        with self._lock:
            cached = self._waiting.get(client)
        if cached is not None and cached[:2] == (acked, last):
            return cached[2], cached[3]
        if last <= acked:
            pending, oldest = 0, None
        elif cached is not None and cached[0] == acked and cached[1] < last:
            pending = cached[2] + self._decisions.count_between(cached[1], last)
            oldest = cached[3] or next(iter(self._decisions.after(acked, 1)), None)
        else:
            oldest = next(iter(self._decisions.after(acked, 1)), None)
            pending = self._decisions.count_between(acked, last) if oldest is not None else 0
        with self._lock:
            self._waiting[client] = (acked, last, pending, oldest)
        return pending, oldest

    def _touch(self, table: dict[str, float], client: str) -> None:
        now = self._clock()
        with self._lock:
            table[client] = now
