"""MQTT with a real mosquitto broker and a real paho subscriber: decisions arrive once each and in
order, the line's state is retained, the last will marks a killed service offline, and neither a
broker restart nor a service restart loses a decision (the cursor is stored)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from gaikan.service.api.schemas import DecisionOut
from gaikan.service.decision import Outcome, Reason
from gaikan.service.line import Stores
from gaikan.service.mqtt.publisher import MQTT_DOWN, MqttPublisher
from gaikan.service.records import DecisionRecord
from gaikan.service.reject_stream import LineState, RejectStream
from gaikan.service.settings import MqttSettings
from tests.live_server import wait_for
from tests.mqtt_broker import Broker, Subscriber

STATE = LineState(fail_safe=(), camera_state="streaming", active_model="t1", active_model_calibrated=True)


def _record(i: int) -> DecisionRecord:
    t = time.time()
    return DecisionRecord(
        frame_id=f"cam:{i}", camera_id="cam", captured_at=t, decided_at=t + 0.01, decision=Outcome.REJECT, reason=Reason.SCORE, score=9.0
    )


def _publisher(stores: Stores, broker: Broker, **changes: Any) -> MqttPublisher:
    settings = MqttSettings(enabled=True, port=broker.port, keepalive_s=2, **changes)
    stream = RejectStream(stores.decisions, stores.acks, lambda: STATE)
    return MqttPublisher(settings, stores.decisions.line, stream, lambda: STATE, DecisionOut.of)


def _first_seen(seqs: list[int]) -> list[int]:
    seen: set[int] = set()
    return [s for s in seqs if not (s in seen or seen.add(s))]


def test_decisions_survive_a_broker_restart_and_a_service_restart(tmp_path: Path, mqtt_broker: Broker) -> None:
    stores = Stores.open(f"sqlite:///{tmp_path / 'gaikan.db'}", line="line-a")
    stores.decisions.append([_record(i) for i in range(2)])  # before MQTT was enabled: not published (history off)
    subscriber = Subscriber(mqtt_broker, "gaikan/line-a/#", client_id="durable-subscriber", durable=True)
    publisher = _publisher(stores, mqtt_broker, required=True, down_after_s=0.3)
    publisher.start()
    try:
        wait_for(lambda: publisher.status().connected, timeout=10)
        stores.decisions.append([_record(i) for i in range(2, 7)])
        wait_for(lambda: len(subscriber.seqs()) >= 5, timeout=10)
        assert subscriber.seqs() == [3, 4, 5, 6, 7]  # once each, in order
        first = subscriber.decisions()[0]
        assert first == DecisionOut.of(stores.decisions.get(3)).model_dump(mode="json")
        assert [t for t, _, _ in subscriber.messages if t.endswith("/decision")][0] == "gaikan/line-a/station-1/cam/decision"

        # A subscriber that comes later gets the line's state, retained.
        late = Subscriber(mqtt_broker, "gaikan/+/state")
        state = wait_for(lambda: late.states(), timeout=10)[0]
        assert state["online"] is True and state["line_id"] == "line-a" and state["active_model"] == "t1"
        assert late.messages[0][2] is True  # retained
        late.close()

        # The broker goes away: decisions wait in the store, the outage is visible, the line is
        # fail-safe only because this publisher is `required`.
        mqtt_broker.stop()
        stores.decisions.append([_record(i) for i in range(7, 12)])
        status = wait_for(lambda: (s := publisher.status()).pending == 5 and not s.connected and s, timeout=10)
        assert status.down_since is not None and status.published_seq == 7
        wait_for(lambda: publisher.fail_safe_reasons() == (MQTT_DOWN,), timeout=5)

        mqtt_broker.start()
        wait_for(lambda: set(subscriber.seqs()) >= set(range(3, 13)), timeout=20)
        assert _first_seen(subscriber.seqs()) == list(range(3, 13))
        wait_for(lambda: publisher.status().pending == 0, timeout=10)
        assert publisher.fail_safe_reasons() == ()
    finally:
        publisher.stop()
    wait_for(lambda: any(s.get("reason") == "stopped" and s["online"] is False for s in subscriber.states()), timeout=10)

    # The service restarts: it carries on after the stored cursor, nothing already confirmed again.
    before = len(subscriber.seqs())
    stores.decisions.append([_record(i) for i in range(12, 15)])
    again = _publisher(stores, mqtt_broker)
    again.start()
    try:
        wait_for(lambda: len(subscriber.seqs()) >= before + 3, timeout=10)
        time.sleep(0.3)
        assert subscriber.seqs()[before:] == [13, 14, 15]
    finally:
        again.stop()
        subscriber.close()
        stores.engine.dispose()


KILLED_SERVICE = textwrap.dedent(
    """
    import sys, time
    from gaikan.service.api.schemas import DecisionOut
    from gaikan.service.line import Stores
    from gaikan.service.mqtt.publisher import MqttPublisher
    from gaikan.service.reject_stream import LineState, RejectStream
    from gaikan.service.settings import MqttSettings

    stores = Stores.open(sys.argv[1], line="line-k")
    state = lambda: LineState(fail_safe=(), camera_state="streaming", active_model=None)
    publisher = MqttPublisher(
        MqttSettings(enabled=True, port=int(sys.argv[2]), keepalive_s=2),
        "line-k", RejectStream(stores.decisions, stores.acks, state), state, DecisionOut.of,
    )
    publisher.start()
    while not publisher.status().connected:
        time.sleep(0.05)
    print("connected", flush=True)
    time.sleep(60)
    """
)


def test_the_last_will_marks_a_killed_service_offline(tmp_path: Path, mqtt_broker: Broker) -> None:
    subscriber = Subscriber(mqtt_broker, "gaikan/line-k/state")
    service = subprocess.Popen(
        [sys.executable, "-c", KILLED_SERVICE, f"sqlite:///{tmp_path / 'k.db'}", str(mqtt_broker.port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert service.stdout is not None and service.stdout.readline().strip() == "connected"
        wait_for(lambda: any(s["online"] for s in subscriber.states()), timeout=10)
        service.kill()  # no clean stop: only the broker can tell
        service.wait(timeout=10)
        offline = wait_for(lambda: [s for s in subscriber.states() if not s["online"]], timeout=10)
        assert offline[-1] == {"line_id": "line-k", "online": False, "reason": "connection lost"}
    finally:
        service.kill()
        subscriber.close()
