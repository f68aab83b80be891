"""MQTT publishing figures: how many decisions a second the publisher gets confirmed by a real
mosquitto broker, and the latency from a decision's commit to a subscriber receiving it.

    python benchmarks/bench_mqtt.py [--burst 5000] [--rate 50] [--seconds 10] [--db sqlite|postgresql]

Starts mosquitto (Debian's, on a free loopback port), a real paho subscriber, and the service's
MqttPublisher reading the reject stream of a real store (SQLite file, or a throw-away PostgreSQL
server with `--db postgresql`). Prints, as Markdown:
1. burst: `--burst` decisions committed at once (the backlog after an outage); decisions/s from
   the first publish to the subscriber holding them all;
2. steady: one decision committed every 1/`--rate` s for `--seconds`; commit → received p50/p99
   (the publisher notices a new decision within its 20 ms loop tick).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import paho.mqtt.client as paho

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.*

from gaikan.service.api.schemas import DecisionOut  # noqa: E402
from gaikan.service.decision import Outcome, Reason  # noqa: E402
from gaikan.service.line import Stores  # noqa: E402
from gaikan.service.mqtt.publisher import MqttPublisher  # noqa: E402
from gaikan.service.records import DecisionRecord  # noqa: E402
from gaikan.service.reject_stream import LineState, RejectStream  # noqa: E402
from gaikan.service.settings import MqttSettings  # noqa: E402
from tests.mqtt_broker import Broker  # noqa: E402

STATE = LineState(fail_safe=(), camera_state="streaming", active_model="demo-1", active_model_calibrated=True)


def record(i: int) -> DecisionRecord:
    t = time.time()
    return DecisionRecord(
        frame_id=f"cam1:{i}", camera_id="cam1", captured_at=t - 0.02, decided_at=t, decision=Outcome.PASS,
        reason=Reason.SCORE, score=1.0, model_version="demo-1", stages_ms={"inference_ms": 9.0},
    )  # fmt: skip


class Receiver:
    def __init__(self, port: int) -> None:
        self.arrivals: dict[int, float] = {}
        self.done = threading.Event()
        self.expect = 0
        self._client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        self._client.on_connect = lambda c, *_: c.subscribe("gaikan/+/+/+/decision", qos=1)
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()

    def _on_message(self, _c: object, _u: object, message: paho.MQTTMessage) -> None:
        import json

        seq = json.loads(message.payload)["seq"]
        self.arrivals.setdefault(seq, time.perf_counter())
        if len(self.arrivals) >= self.expect:
            self.done.set()

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burst", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="gaikan-bench-mqtt-"))
    broker = Broker(root / "broker").start()
    if args.db == "postgresql":
        from tests.postgres import temporary_postgres

        database = temporary_postgres(Path(tempfile.mkdtemp(prefix="gaikan-bench-pg-")))  # a folder the server's user may own
        url = database.__enter__()
    else:
        url = f"sqlite:///{root / 'gaikan.db'}"
    stores = Stores.open(url, line="bench")
    stream = RejectStream(stores.decisions, stores.acks, lambda: STATE)
    publisher = MqttPublisher(MqttSettings(enabled=True, port=broker.port), "bench", stream, lambda: STATE, DecisionOut.of)
    receiver = Receiver(broker.port)
    publisher.start()
    while not publisher.status().connected:
        time.sleep(0.05)
    time.sleep(0.5)
    print(f"store {args.db}, mosquitto on loopback, QoS 1, window 100\n")
    print("| what | decisions | rate | commit → received p50 / p99 |\n|---|---|---|---|")

    # 1. burst
    receiver.expect = args.burst
    stored = stores.decisions.append([record(i) for i in range(args.burst)])
    start = time.perf_counter()
    receiver.done.wait(300)
    elapsed = max(receiver.arrivals.values()) - start
    print(f"| burst (backlog after an outage) | {len(receiver.arrivals)} of {args.burst} | {len(receiver.arrivals) / elapsed:.0f} /s | — |")

    # 2. steady
    committed: dict[int, float] = {}
    receiver.done.clear()
    total = int(args.rate * args.seconds)
    receiver.expect = args.burst + total
    next_at = time.perf_counter()
    for i in range(total):
        time.sleep(max(next_at - time.perf_counter(), 0))
        seq = stores.decisions.append([record(args.burst + i)])[0].seq
        committed[seq] = time.perf_counter()
        next_at += 1 / args.rate
    receiver.done.wait(30)
    latencies = [receiver.arrivals[s] - t for s, t in committed.items() if s in receiver.arrivals]
    p50, p99 = np.percentile(latencies, 50) * 1000, np.percentile(latencies, 99) * 1000
    print(f"| steady {args.rate:.0f} decisions/s for {args.seconds:.0f} s | {len(latencies)} of {total} | {args.rate:.0f} /s | {p50:.1f} / {p99:.1f} ms |")
    assert len(stored) == args.burst

    publisher.stop()
    receiver.close()
    broker.stop()
    stores.engine.dispose()
    if args.db == "postgresql":
        database.__exit__(None, None, None)


if __name__ == "__main__":
    main()
