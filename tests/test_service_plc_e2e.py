"""Both PLC protocols over one demo run: a pymodbus client runs the register handshake at 100 Hz
while an asyncua client dequeues the OPC UA buffer; each sees every seq exactly once, in order,
as GET /api/v1/reject lists them; after a restart the Modbus client resumes at its acked seq."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from asyncua import Client, ua
from pymodbus.client import ModbusTcpClient

from gaikan.camera.config import ReplayConfig
from gaikan.service.plc.modbus import ACK, ACKED_SEQ, OLDEST_SEQ, STATUS_REGISTERS, WAITING
from gaikan.service.plc.opcua import NAMESPACE
from gaikan.service.settings import Settings
from tests.conftest import write_test_line
from tests.live_server import LiveServer, free_port, wait_for

PARTS = 40
OPCUA_START_S = 300.0


def u32(registers: list[int], at: int) -> int:
    return (registers[at] << 16) | registers[at + 1]


class ModbusPlc:
    """A PLC's cyclic task: every 10 ms read the map; if a result waits, handle it and ack its seq."""

    def __init__(self, port: int) -> None:
        self.client = ModbusTcpClient("127.0.0.1", port=port)
        self.handled: list[int] = []
        self.cycles = 0

    def run(self, until: threading.Event, stop_after: int | None = None) -> None:
        assert self.client.connect()
        try:
            while not until.is_set() and (stop_after is None or len(self.handled) < stop_after):
                started = time.monotonic()
                registers = self.read()
                self.cycles += 1
                if registers[WAITING]:
                    seq = u32(registers, OLDEST_SEQ)
                    self.handled.append(seq)
                    assert not self.client.write_registers(ACK, [seq >> 16, seq & 0xFFFF], device_id=1).isError()
                time.sleep(max(0.0, 0.01 - (time.monotonic() - started)))
        finally:
            self.client.close()

    def read(self) -> list[int]:
        response = self.client.read_holding_registers(0, count=STATUS_REGISTERS, device_id=1)
        assert not response.isError(), response
        return response.registers


async def opcua_dequeue(url: str, until: threading.Event) -> list[int]:
    handled: list[int] = []
    async with Client(url) as client:
        ns = await client.get_namespace_index(NAMESPACE)
        vision = await client.nodes.objects.get_child(f"{ns}:VisionSystem")
        result_ids = await vision.get_child([f"{ns}:Buffer", f"{ns}:ResultIds"])
        while not until.is_set():
            new = [seq for seq in await result_ids.read_value() if not handled or seq > handled[-1]]
            if new:
                handled.extend(new)
                await vision.call_method(f"{ns}:Acknowledge", ua.Variant(new[-1], ua.VariantType.Int64))
            await asyncio.sleep(0.02)
    return handled


def settings_for(data_dir: Path, camera: ReplayConfig | None, modbus_port: int, opcua_port: int) -> Settings:
    return Settings(
        data_dir=data_dir,
        camera=camera,
        plc={
            "opcua": {"enabled": True, "port": opcua_port, "client": "opcua-plc"},
            "modbus": {"enabled": True, "port": modbus_port, "client": "modbus-plc"},
        },
    )


@pytest.mark.slow
def test_both_protocols_see_every_seq_once_in_order_and_resume_after_restart(tmp_path: Path, template_model_file: Path) -> None:
    line = write_test_line(tmp_path / "line", PARTS)
    modbus_port, opcua_port = free_port(), free_port()
    first = settings_for(tmp_path / "data", ReplayConfig(path=line, fps=20, loop=False), modbus_port, opcua_port)
    first = first.model_copy(update={"initial_model": template_model_file})
    stop_modbus_at = PARTS // 2

    with LiveServer(first, start_timeout_s=OPCUA_START_S) as server, server.client() as http:
        done = threading.Event()
        plc = ModbusPlc(modbus_port)
        modbus_thread = threading.Thread(target=plc.run, args=(done, stop_modbus_at))
        modbus_thread.start()
        opcua_result: list[int] = []
        opcua_thread = threading.Thread(target=lambda: opcua_result.extend(asyncio.run(opcua_dequeue(f"opc.tcp://127.0.0.1:{opcua_port}/gaikan/", done))))
        opcua_thread.start()
        try:
            wait_for(lambda: http.get("/api/v1/status").json()["last_seq"] >= PARTS, timeout=120)
            wait_for(lambda: not modbus_thread.is_alive(), timeout=120)
            wait_for(lambda: http.get("/api/v1/reject/heartbeat").json()["last_seq"] == server.context.stores.acks.acknowledged("opcua-plc"), timeout=60)
        finally:
            done.set()
            modbus_thread.join(timeout=30)
            opcua_thread.join(timeout=30)
        rest = [d["seq"] for d in http.get("/api/v1/reject", params={"after": 0, "limit": 1000}).json()["items"]]
        plc_status = {c["client"]: c for c in http.get("/api/v1/status").json()["plc"]}
    assert len(rest) == PARTS
    assert opcua_result == rest, "OPC UA dequeued every seq once, in order"
    assert plc.handled == rest[:stop_modbus_at], "Modbus handled the first half once, in order, at a 10 ms cycle"
    assert plc_status["modbus-plc"]["acked_seq"] == rest[stop_modbus_at - 1] and plc_status["opcua-plc"]["pending"] == 0

    second = settings_for(tmp_path / "data", None, modbus_port, opcua_port)  # restarted without a camera: no new parts
    with LiveServer(second, start_timeout_s=OPCUA_START_S) as server:
        resumed = ModbusPlc(modbus_port)
        assert resumed.client.connect()
        registers = resumed.read()
        assert u32(registers, ACKED_SEQ) == rest[stop_modbus_at - 1] and u32(registers, OLDEST_SEQ) == rest[stop_modbus_at]
        resumed.run(threading.Event(), stop_after=PARTS - stop_modbus_at)
        final = resumed.read() if resumed.client.connect() else []
        resumed.client.close()
    assert plc.handled + resumed.handled == rest, "across the restart: every seq exactly once, in order"
    assert final[WAITING] == 0
