"""The MQTT publisher: reads the one reject stream from a persisted cursor and publishes each
decision, in seq order, plus the line's retained state, with a last will that marks it offline.

Delivery is at least once. The cursor is the newest seq the broker has confirmed (PUBACK) with
every seq before it; it is stored as the acknowledged seq of the reject-stream client
`[mqtt] cursor` ("mqtt"), so it survives restarts and shows in status and metrics like a PLC's.
It is stored at most every `_SAVE_S` while publishing and whenever a connection ends. After a
broker outage, a lost connection or a restart, publishing resumes after the stored cursor: a
decision the broker took but did not confirm before the connection broke is published again, and
after a crash (no clean stop) so are those confirmed in the last `_SAVE_S`.
Subscribers tell repeats apart by (line_id, seq). Each connection is a fresh paho client with no
reconnect of its own, so only this loop decides what is sent again.

A broker that cannot be reached is reported (status, metrics, the cursor client's liveness) and,
only with `[mqtt] required`, makes the line fail-safe (`mqtt_down`) after `down_after_s`.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as paho
from pydantic import BaseModel

from gaikan.service.mqtt.topics import decision_topic, state_payload, state_topic
from gaikan.service.records import StoredDecision
from gaikan.service.reject_stream import LineState, RejectStream
from gaikan.service.settings import MqttSettings
from gaikan.service.workers import Worker

log = logging.getLogger(__name__)

MQTT_DOWN = "mqtt_down"  # fail-safe reason, only with [mqtt] required
_TICK_S = 0.02  # network loop timeout: how soon a new decision is noticed
_RETRY_S = (0.5, 1.0, 2.0, 5.0)  # waits between connection attempts
_SAVE_S = 0.5  # the confirmed cursor is stored at most this often (a store write per PUBACK would pace publishing)


@dataclass(frozen=True, slots=True)
class MqttStatus:
    broker: str
    connected: bool
    published_seq: int  # every decision up to here is confirmed by the broker
    pending: int  # decisions stored after it
    down_since: float | None  # when the broker was last seen, while it is unreachable
    last_error: str | None
    published: int  # decisions confirmed since the service started


class _Session:
    """One connection: a fresh paho client, its in-flight decisions in seq order."""

    def __init__(self, client: paho.Client) -> None:
        self.client = client
        self.connected = threading.Event()
        self.refused: str | None = None
        self.lost = False
        self.confirmed: set[int] = set()  # message ids the broker acknowledged
        self.in_flight: deque[tuple[int, int]] = deque()  # (seq, mid), oldest first


class MqttPublisher:
    def __init__(
        self,
        settings: MqttSettings,
        line_id: str,
        stream: RejectStream,
        line_state: Callable[[], LineState],
        item: Callable[[StoredDecision], BaseModel],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._line = line_id
        self._stream = stream
        self._line_state = line_state
        self._item = item
        self._clock = clock
        self._state_topic = state_topic(settings.topic_root, line_id)
        self._lock = threading.Lock()
        self._connected = False
        self._down_since: float | None = clock()  # not connected yet
        self._last_error: str | None = None
        self._published = 0
        self._cursor: int | None = None  # confirmed seq, ahead of the stored one by up to _SAVE_S
        self._saved_at = 0.0
        self._saved: int | None = None
        self._worker = Worker("mqtt-publisher", self._run, join_timeout_s=10.0)

    # --- lifecycle and what others read ---------------------------------------------------

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()

    @property
    def broker(self) -> str:
        return f"{'mqtts' if self._settings.tls else 'mqtt'}://{self._settings.host}:{self._settings.port}"

    def status(self) -> MqttStatus:
        with self._lock:
            cursor = self._cursor
        if cursor is None:
            cursor = self._stream.acknowledged(self._settings.cursor)
        with self._lock:
            return MqttStatus(
                broker=self.broker,
                connected=self._connected,
                published_seq=cursor,
                pending=max(self._stream.last_seq() - cursor, 0),
                down_since=self._down_since,
                last_error=self._last_error,
                published=self._published,
            )

    def fail_safe_reasons(self) -> tuple[str, ...]:
        """`mqtt_down` when the broker is required and unreachable for longer than down_after_s."""
        if not self._settings.required:
            return ()
        with self._lock:
            down = self._down_since
        return (MQTT_DOWN,) if down is not None and self._clock() - down > self._settings.down_after_s else ()

    # --- the loop -------------------------------------------------------------------------

    def _run(self, stop: threading.Event) -> None:
        attempt = 0
        while not stop.is_set():
            session = self._connect() if self._cursor_ready() else None
            if session is None:
                stop.wait(_RETRY_S[min(attempt, len(_RETRY_S) - 1)])
                attempt += 1
                continue
            attempt = 0
            self._set_connected(True)
            try:
                self._publish(session, self._confirmed(), stop)
            except ConnectionError as error:
                self._set_error(str(error))
            except Exception as error:  # noqa: BLE001 - a database or broker error: reconnect, resume at the cursor
                log.exception("MQTT publishing failed; reconnecting")
                self._set_error(f"{type(error).__name__}: {error}")
            finally:
                self._close(session, clean=stop.is_set())
                self._save(self._confirmed())
                self._set_connected(False)

    def _confirmed(self) -> int:
        with self._lock:
            return self._cursor or 0

    def _cursor_ready(self) -> bool:
        """Read the stored cursor once (the store may be down at start: then try again later)."""
        with self._lock:
            if self._cursor is not None:
                return True
        try:
            self._start_cursor()
            return True
        except Exception as error:  # noqa: BLE001 - reported; retried with the connection
            self._set_error(f"cannot read the published seq from the store: {error}")
            return False

    def _start_cursor(self) -> None:
        """The persisted cursor; on the very first start, the newest decision (unless `history`)."""
        name = self._settings.cursor
        if not self._stream.known(name):
            self._stream.acknowledge(name, 0 if self._settings.history else self._stream.last_seq())
        cursor = self._stream.acknowledged(name)
        with self._lock:
            self._cursor = cursor

    def _connect(self) -> _Session | None:
        settings = self._settings
        client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=settings.client_id or f"gaikan-{self._line}",
            clean_session=True,
            protocol=paho.MQTTv311,
            reconnect_on_failure=False,
        )
        session = _Session(client)
        client.max_inflight_messages_set(settings.window)
        client.max_queued_messages_set(0)
        if settings.username:
            client.username_pw_set(settings.username, settings.password.get_secret_value() if settings.password else None)
        if settings.tls:
            client.tls_set(ca_certs=str(settings.ca_file) if settings.ca_file else None, cert_reqs=ssl.CERT_REQUIRED)
        client.will_set(
            self._state_topic,
            state_payload(self._line, None, online=False, reason="connection lost", stamped=False),
            qos=settings.qos,
            retain=True,
        )

        def on_connect(_c: paho.Client, _u: object, _f: object, reason: paho.ReasonCode, _p: object) -> None:
            if reason.is_failure:
                session.refused = str(reason)
            session.connected.set()

        def on_disconnect(_c: paho.Client, _u: object, _f: object, _reason: object, _p: object) -> None:
            session.lost = True

        def on_publish(_c: paho.Client, _u: object, mid: int, _reason: object, _p: object) -> None:
            session.confirmed.add(mid)

        client.on_connect, client.on_disconnect, client.on_publish = on_connect, on_disconnect, on_publish
        client.connect_timeout = 3.0
        try:
            client.connect(settings.host, settings.port, keepalive=settings.keepalive_s)
            deadline = time.monotonic() + 5.0
            while not session.connected.is_set() and not session.lost and time.monotonic() < deadline:
                client.loop(timeout=0.05)
        except Exception as error:  # noqa: BLE001 - OSError, ssl.SSLError, a refused setting: reported, retried
            self._set_error(f"cannot reach {self.broker}: {error}")
            return None
        if session.refused or not session.connected.is_set():
            self._set_error(f"{self.broker} refused the connection: {session.refused or 'no answer'}")
            client.disconnect()
            return None
        return session

    def _publish(self, session: _Session, cursor: int, stop: threading.Event) -> None:
        """Publish after `cursor` while connected; the confirmed seq moves on in `self._cursor`."""
        settings, client = self._settings, session.client
        published_state: bytes | None = None
        sent = cursor  # newest seq handed to the client
        while not stop.is_set():
            client.loop(timeout=_TICK_S)
            if session.lost:
                raise ConnectionError(f"lost the connection to {self.broker}")
            self._stream.record_poll(self._settings.cursor)  # in contact: the cursor client is not silent
            state = self._line_state()
            payload = state_payload(self._line, state, online=True, stamped=False)
            if payload != published_state:  # publish on change, with the time of the change
                client.publish(self._state_topic, state_payload(self._line, state, online=True), qos=settings.qos, retain=True)
                published_state = payload
            room = settings.window - len(session.in_flight)
            if room > 0:
                for stored in self._stream.since(sent, room):
                    item = self._item(stored)
                    topic = decision_topic(settings.topic_root, self._line, settings.station, item)
                    info = client.publish(topic, item.model_dump_json(), qos=settings.qos)
                    session.in_flight.append((stored.seq, info.mid))
                    sent = stored.seq
            cursor = self._advance(session, cursor)
            if self._clock() - self._saved_at >= _SAVE_S:
                self._save(cursor)

    def _advance(self, session: _Session, cursor: int) -> int:
        """Move the cursor over the oldest in-flight decisions the broker confirmed."""
        moved = 0
        while session.in_flight and session.in_flight[0][1] in session.confirmed:
            seq, mid = session.in_flight.popleft()
            session.confirmed.discard(mid)
            cursor, moved = seq, moved + 1
        if moved:
            with self._lock:
                self._cursor = cursor
                self._published += moved
        return cursor

    def _save(self, cursor: int) -> None:
        """Store the cursor when it moved (acks never move back: an older one changes nothing)."""
        self._saved_at = self._clock()
        if cursor == self._saved:
            return
        try:
            self._stream.acknowledge(self._settings.cursor, cursor)
            self._saved = cursor
        except Exception:  # noqa: BLE001 - the store is down: the line reports that; saved next time
            log.warning("MQTT: could not store the published seq %d", cursor, exc_info=True)

    def _close(self, session: _Session, *, clean: bool) -> None:
        client = session.client
        try:
            if clean and not session.lost:  # a clean stop: say so (a vanished service is the will's job)
                info = client.publish(
                    self._state_topic, state_payload(self._line, None, online=False, reason="stopped"), qos=self._settings.qos, retain=True
                )
                deadline = time.monotonic() + 2.0
                while not info.is_published() and not session.lost and time.monotonic() < deadline:
                    client.loop(timeout=0.05)
                self._advance(session, self._confirmed())
            client.disconnect()
            client.loop(timeout=0.05)
        except Exception:  # noqa: BLE001 - closing a broken connection
            log.debug("closing the MQTT connection failed", exc_info=True)

    def _set_connected(self, connected: bool) -> None:
        with self._lock:
            self._connected = connected
            if connected:
                self._down_since, self._last_error = None, None
            elif self._down_since is None:
                self._down_since = self._clock()
        if connected:
            log.info("MQTT: connected to %s", self.broker)
        else:
            log.warning("MQTT: disconnected from %s", self.broker)

    def _set_error(self, error: str) -> None:
        with self._lock:
            self._last_error = error
        log.warning("MQTT: %s", error)
