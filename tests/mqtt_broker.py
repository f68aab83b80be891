"""A throw-away mosquitto broker for the MQTT tests, when Debian's `mosquitto` is installed here."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

from tests.live_server import free_port


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if os.access(p, os.X_OK)), None)


class Broker:
    """mosquitto on a free loopback port, anonymous, with persistence (a restart keeps the
    queued messages of durable subscribers, as a production broker does)."""

    def __init__(self, root: Path) -> None:
        binary = mosquitto_binary()
        assert binary is not None
        self.binary = binary
        self.root = root
        self.port = free_port()
        self.config = root / "mosquitto.conf"
        root.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {root}/\n"
            f"log_dest file {root}/mosquitto.log\nuser {getpass.getuser()}\n",  # as root: stay root, the folder is ours
            encoding="utf-8",
        )
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Broker:
        self._process = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mosquitto did not start: {self._process.stderr.read().decode() if self._process.stderr else ''}")
                time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(sig)
            self._process.wait(timeout=10)
        self._process = None


class Subscriber:
    """A real paho client that records every message it gets."""

    def __init__(self, broker: Broker, topic: str, *, client_id: str = "", durable: bool = False) -> None:
        self.messages: list[tuple[str, dict[str, Any], bool]] = []
        self._lock = threading.Lock()
        self._client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not durable)
        self._client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(0.1, 0.5)
        self._client.connect("127.0.0.1", broker.port, keepalive=5)
        self._client.loop_start()

    def _on_message(self, _c: object, _u: object, message: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, json.loads(message.payload), bool(message.retain)))

    def decisions(self) -> list[dict[str, Any]]:
        with self._lock:
            return [body for topic, body, _ in self.messages if topic.endswith("/decision")]

    def seqs(self) -> list[int]:
        return [d["seq"] for d in self.decisions()]

    def states(self) -> list[dict[str, Any]]:
        with self._lock:
            return [body for topic, body, _ in self.messages if topic.endswith("/state")]

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()
