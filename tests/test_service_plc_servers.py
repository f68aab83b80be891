"""Starting and stopping the configured PLC servers: a port already taken stops the start."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient

from gaikan.service.auth import Authenticator
from gaikan.service.line import Stores
from gaikan.service.plc.models import ModelControl
from gaikan.service.plc.servers import PlcServers
from gaikan.service.reject_stream import LineState, RejectStream
from gaikan.service.settings import PlcSettings
from tests.live_server import free_port


def servers(tmp_path: Path, port: int) -> tuple[PlcServers, Stores]:
    stores = Stores.open(f"sqlite:///{tmp_path / 'gaikan.db'}")
    stream = RejectStream(stores.decisions, stores.acks, lambda: LineState(("no_camera",), "none", None))
    settings = PlcSettings(modbus={"enabled": True, "port": port})
    return PlcServers(settings, stream, ModelControl(lambda: [], lambda v, a: v), Authenticator([]), tmp_path), stores


def test_servers_listen_while_started_and_release_the_port_when_stopped(tmp_path: Path) -> None:
    port = free_port()
    plc, stores = servers(tmp_path, port)
    plc.start()
    try:
        client = ModbusTcpClient("127.0.0.1", port=port)
        assert client.connect()
        assert client.read_holding_registers(8, count=1, device_id=1).registers == [0b10], "fail-safe bit 1: no camera"
        client.close()
    finally:
        plc.stop()
        stores.engine.dispose()
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))  # free again


def test_a_port_in_use_fails_the_start_loudly(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        plc, stores = servers(tmp_path, taken.getsockname()[1])
        with pytest.raises(RuntimeError, match="listen"):
            plc.start()
        stores.engine.dispose()
