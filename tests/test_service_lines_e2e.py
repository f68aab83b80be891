"""Two real services (one per line) writing to one real PostgreSQL and one real mosquitto: each
numbers its decisions from 1, serves only its own in its reject stream and status, and publishes
them under its own line's topics; another line's decisions are read only when asked (`?line=`)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gaikan.camera.config import ReplayConfig
from gaikan.service.settings import MqttSettings, Settings
from gaikan.service.storage.database import open_database
from tests.conftest import write_test_line
from tests.live_server import LiveServer, wait_for
from tests.mqtt_broker import Broker, Subscriber

PARTS = 6


@contextmanager
def running_together(servers: list[LiveServer]) -> Iterator[list[LiveServer]]:
    """Start the services at once and stop them at once, as edge nodes of two lines would."""
    with ThreadPoolExecutor(len(servers)) as pool:
        starting = [pool.submit(server.__enter__) for server in servers]
        started = [server for server, future in zip(servers, starting, strict=True) if future.exception() is None]
        try:
            for future in starting:
                future.result()
            yield servers
        finally:
            list(pool.map(lambda server: server.__exit__(None, None, None), started))


def _decided(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("has_image", "has_heatmap")}


def _settings(tmp_path: Path, line: str, database_url: str, model: Path, broker: Broker) -> Settings:
    return Settings(
        line_id=line,
        data_dir=tmp_path / line,
        database_url=database_url,
        camera=ReplayConfig(path=write_test_line(tmp_path / f"{line}-parts", PARTS), fps=30, loop=False, camera_id="cam1"),
        initial_model=model,
        mqtt=MqttSettings(enabled=True, port=broker.port, history=True),
    )


def test_two_services_on_one_database_keep_their_lines_apart(
    tmp_path: Path, postgres_url: str, template_model_file: Path, mqtt_broker: Broker
) -> None:
    database = postgres_url  # one database, shared by both services
    open_database(database).dispose()  # the schema first: two services starting at once both wait on its lock anyway
    subscriber = Subscriber(mqtt_broker, "gaikan/+/+/+/decision")
    servers = [LiveServer(_settings(tmp_path, line, database, template_model_file, mqtt_broker)) for line in ("line-a", "line-b")]
    with running_together(servers) as (a, b), a.client() as client_a, b.client() as client_b:
        for client in (client_a, client_b):
            wait_for(lambda c=client: c.get("/api/v1/status").json()["last_seq"] >= PARTS, timeout=60)
        wait_for(lambda: len(subscriber.decisions()) >= 2 * PARTS, timeout=30)

        for client, line in ((client_a, "line-a"), (client_b, "line-b")):
            # The last hour's counts are refreshed at most once a second (status is cached for readers).
            wait_for(lambda c=client: sum(c.get("/api/v1/status").json()["counts_last_hour"].values()) >= PARTS, timeout=10)
            status = client.get("/api/v1/status").json()
            assert status["line_id"] == line and status["last_seq"] == PARTS
            assert sum(status["counts_last_hour"].values()) == PARTS  # its own line's parts only
            assert status["mqtt"]["connected"] is True
            items = client.get("/api/v1/reject", params={"after": 0, "limit": 100}).json()["items"]
            assert [(d["line_id"], d["seq"]) for d in items] == [(line, seq) for seq in range(1, PARTS + 1)]
            # MQTT: the same items, under the line's own topics, once each and in order (published
            # as soon as stored: whether the pictures are kept is only known a moment later).
            published = [d for d in subscriber.decisions() if d["line_id"] == line]
            assert [_decided(d) for d in published] == [_decided(d) for d in items]

        # A PLC's acknowledgement on one line is not the other line's.
        assert client_a.post("/api/v1/reject/ack", json={"seq": PARTS}).json()["acked_seq"] == PARTS
        assert client_b.get("/api/v1/reject/heartbeat").json()["acked_seq"] == 0
        # Another line's decisions only when asked for.
        own = client_a.get("/api/v1/results").json()["items"]
        other = client_a.get("/api/v1/results", params={"line": "line-b"}).json()["items"]
        assert {d["line_id"] for d in own} == {"line-a"} and {d["line_id"] for d in other} == {"line-b"}
        assert [d["seq"] for d in other] == list(range(PARTS, 0, -1))
    subscriber.close()
