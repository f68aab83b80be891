"""The Modbus TCP server: a real pymodbus client against the real service on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from pymodbus.client import ModbusTcpClient

from gaikan.camera.config import ReplayConfig
from gaikan.service.plc.modbus import ACK, ACKED_SEQ, FAIL_SAFE, MODEL_INDEX, OLDEST_SEQ, RESULT_COUNTER, STATUS_REGISTERS, VERDICT, WAITING, fail_safe_bits
from gaikan.service.settings import ModbusSettings, Settings
from tests.conftest import write_test_line
from tests.live_server import LiveServer, free_port, wait_for

VERDICTS = {1: "pass", 2: "review", 3: "reject"}


def u32(registers: list[int], at: int) -> int:
    return (registers[at] << 16) | registers[at + 1]


def read_map(client: ModbusTcpClient) -> list[int]:
    response = client.read_holding_registers(0, count=STATUS_REGISTERS, device_id=1)
    assert not response.isError(), response
    return response.registers


def modbus_settings(tmp_path: Path, model: Path, parts: int, **plc: object) -> Settings:
    line = write_test_line(tmp_path / "line", parts)
    return Settings(
        data_dir=tmp_path / "data",
        camera=ReplayConfig(path=line, fps=None, loop=False),
        initial_model=model,
        plc={"modbus": {"enabled": True, "port": free_port()}, **plc},
    )


def test_register_handshake_dequeues_in_order_and_shares_the_ack_with_rest(tmp_path: Path, template_model_file: Path) -> None:
    settings = modbus_settings(tmp_path, template_model_file, 5)
    with LiveServer(settings) as server, server.client() as http:
        wait_for(lambda: http.get("/api/v1/status").json()["last_seq"] >= 5)
        # the line process reports the finished replay in its next snapshot (5 Hz)
        wait_for(lambda: "pipeline_stopped" in http.get("/api/v1/status").json()["fail_safe"])
        expected = http.get("/api/v1/reject", params={"after": 0}).json()["items"]
        plc = ModbusTcpClient("127.0.0.1", port=settings.plc.modbus.port)
        assert plc.connect()
        try:
            registers = wait_for(lambda: (r := read_map(plc))[FAIL_SAFE] and r, timeout=10)
            assert u32(registers, RESULT_COUNTER) == expected[-1]["seq"]
            assert registers[WAITING] == 5 and registers[MODEL_INDEX] == 1
            assert registers[FAIL_SAFE] == fail_safe_bits(("pipeline_stopped",)), "a finished replay has stopped the line"
            seen = []
            for _ in range(3):  # the handshake: read the oldest, act on it, write its seq to the ack registers
                registers = read_map(plc)
                seq = u32(registers, OLDEST_SEQ)
                seen.append((seq, VERDICTS[registers[VERDICT]]))
                assert not plc.write_registers(ACK, [seq >> 16, seq & 0xFFFF], device_id=1).isError()
            assert seen == [(d["seq"], d["decision"]) for d in expected[:3]]
            assert http.get("/api/v1/reject/heartbeat").json()["acked_seq"] == seen[-1][0], "REST sees the Modbus ack"

            assert plc.write_register(ACK + 1, 1, device_id=1).isError(), "half an ack is refused"
            assert plc.write_registers(ACK, [0, expected[-1]["seq"] + 1], device_id=1).isError(), "acking the future is refused"
            assert plc.write_register(OLDEST_SEQ, 1, device_id=1).isError(), "the status registers are read-only"

            assert http.post("/api/v1/reject/ack", json={"seq": expected[3]["seq"]}).status_code == 200
            registers = read_map(plc)
            assert u32(registers, ACKED_SEQ) == expected[3]["seq"], "Modbus sees the REST ack"
            assert u32(registers, OLDEST_SEQ) == expected[4]["seq"] and registers[WAITING] == 1
        finally:
            plc.close()


def test_unauthenticated_modbus_is_refused_off_loopback() -> None:
    with pytest.raises(ValidationError, match="no authentication"):
        ModbusSettings(enabled=True, host="0.0.0.0")
    assert ModbusSettings(enabled=True, host="0.0.0.0", trusted_network=True).host == "0.0.0.0"


def test_fail_safe_bits_flag_unknown_reasons() -> None:
    assert fail_safe_bits(()) == 0
    assert fail_safe_bits(("camera_fault", "plc_backlog")) == 0b10100
    assert fail_safe_bits(("storage_fault",)) == 1 << 15, "a reason this map does not know still reads as fail-safe"
