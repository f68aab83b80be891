"""`gaikan demo`: the shipped model on the generated demo line, through the real command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.live_server import free_port, interrupt, wait_for


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _run_demo(data_dir: Path, port: int, log: Path, modbus_port: int = 0, opcua_port: int = 0) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "gaikan.service", "demo", "--data-dir", str(data_dir), "--port", str(port), "--fps", "15"]
    command += ["--modbus-port", str(modbus_port), "--opcua-port", str(opcua_port)]  # free ports, or off
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAIKAN_")}
    return subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env)


def _stop(process: subprocess.Popen[bytes], log: Path) -> None:
    code = interrupt(process, 45)  # the line process gets 30 s to write what is queued (evidence drain)
    assert code is not None, "Ctrl-C did not stop the demo within 30 s\n" + log.read_text()[-3000:]
    assert code == 0, log.read_text()[-3000:]


def _decisions(url: str) -> list[dict]:
    """The first decisions the demo stored, oldest first."""
    return httpx.get(f"{url}/api/v1/reject", params={"after": 0, "limit": 500}).json()["items"]


def _scored(decisions: list[dict]) -> list[dict]:
    return [d for d in decisions if d["reason"] == "score"]


def _plc_result_counters(modbus_port: int, opcua_port: int) -> tuple[int, int]:
    """The newest seq as the demo's Modbus and OPC UA servers report it."""
    import asyncio

    from asyncua import Client
    from pymodbus.client import ModbusTcpClient

    modbus = ModbusTcpClient("127.0.0.1", port=modbus_port)
    assert modbus.connect()
    high, low = modbus.read_holding_registers(0, count=2, device_id=1).registers
    modbus.close()

    async def opcua() -> int:
        async with Client(f"opc.tcp://127.0.0.1:{opcua_port}/gaikan/") as client:
            ns = await client.get_namespace_index("urn:gaikan:machine-vision")
            return await (await client.nodes.objects.get_child([f"{ns}:VisionSystem", f"{ns}:ResultCounter"])).read_value()

    return (high << 16) | low, asyncio.run(opcua())


@pytest.mark.slow
def test_demo_rejects_defects_passes_good_parts_and_restarts_on_its_own_data(tmp_path: Path) -> None:
    data_dir, port, log = tmp_path / "demo", free_port(), tmp_path / "demo.log"
    url = f"http://127.0.0.1:{port}"
    modbus_port, opcua_port = free_port(), free_port()
    process = _run_demo(data_dir, port, log, modbus_port, opcua_port)
    try:
        wait_for(lambda: _up(url), timeout=300)  # the OPC UA server builds its address space first (slow on a loaded machine)
        # Parts of the first seconds may be fail-safe rejects (deadline missed while everything
        # starts on a busy host): wait until 16 parts were decided by the model's score.
        decisions = wait_for(lambda: len(_scored(ds := _decisions(url))) >= 16 and ds, timeout=120)
        plc_counters = _plc_result_counters(modbus_port, opcua_port)
        newest = httpx.get(f"{url}/api/v1/reject/heartbeat").json()["last_seq"]
    finally:
        _stop(process, log)
    assert all(0 < counter <= newest for counter in plc_counters), f"the demo serves Modbus and OPC UA: {plc_counters}"
    assert {d["model_version"] for d in _scored(decisions)} == {"demo-1"}
    for decision in _scored(decisions):
        expected = "pass" if decision["source"].endswith("_good.png") else "reject"
        assert decision["decision"] == expected, decision
    assert all(d["decision"] == "reject" for d in decisions if d not in _scored(decisions)), "a part not inspected is rejected"
    line_files = sorted((data_dir / "demo-line").iterdir())
    stamps = [p.stat().st_mtime_ns for p in line_files]
    last_seq = max(d["seq"] for d in decisions)

    process = _run_demo(data_dir, port, log)
    try:
        wait_for(lambda: _up(url), timeout=60)
        # The API answers while the line process starts: wait until the line reports the model it
        # restored from the store (the first run may have stored more parts after `last_seq`).
        status = wait_for(
            lambda: (s := httpx.get(f"{url}/api/v1/status").json())["last_seq"] > last_seq + 4 and s["active_model"] is not None and s,
            timeout=60,
        )
        models = httpx.get(f"{url}/api/v1/models").json()
    finally:
        _stop(process, log)
    assert [p.stat().st_mtime_ns for p in sorted((data_dir / "demo-line").iterdir())] == stamps, "the line is reused"
    assert [m["version"] for m in models] == ["demo-1"] and status["active_model"] == "demo-1"
