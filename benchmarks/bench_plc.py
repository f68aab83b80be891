"""PLC protocol figures: the polling rate each protocol sustains, and the CPU the protocol
servers add to the service per decision.

    python benchmarks/bench_plc.py [--seconds 15] [--fps 10]

Runs the real service (demo line: replayed demo parts, the shipped demo model, SQLite) in this
process and every client in a separate process, so the CPU measured (getrusage of this process)
is the service's alone. Prints, as Markdown:
1. polling rate: one client reading as fast as it can for `--seconds` — Modbus (holding registers
   0-11 in one request), OPC UA (SystemState + the Buffer's ResultIds in one Read), REST
   (`GET /api/v1/reject?limit=1`); polls/s and round-trip p50/p99 (wall clock: on a shared
   machine they measure the machine), and the server's CPU per poll with the rate one core could
   sustain at that cost. For OPC UA and Modbus that is the CPU of the server's own thread (Linux
   per-thread accounting, so the line and other processes do not blur it); for REST the whole
   process's CPU less what it used over the same time without a client;
2. the CPU the protocol servers add while the line runs at `--fps` for `--seconds`: Modbus with a
   client running the register handshake at 100 Hz; OPC UA with a client subscribed to
   ResultReady and dequeuing the buffer at 50 Hz. The server thread's CPU (from the client's start
   to its end, so OPC UA's own refresh work is in) as a share of one core and per decision.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.live_server

from gaikan.service.demo import demo_settings  # noqa: E402
from tests.live_server import LiveServer, free_port, wait_for  # noqa: E402

MODBUS_STATUS = 12


def percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50) * 1000), float(np.percentile(samples, 99) * 1000)


def poll_modbus(port: int, seconds: float, period: float) -> tuple[int, list[float]]:
    from pymodbus.client import ModbusTcpClient

    client = ModbusTcpClient("127.0.0.1", port=port)
    client.connect()
    times: list[float] = []
    end = time.monotonic() + seconds
    while (start := time.monotonic()) < end:
        registers = client.read_holding_registers(0, count=MODBUS_STATUS, device_id=1).registers
        if period and registers[6]:  # the handshake: acknowledge the oldest waiting result
            seq = (registers[2] << 16) | registers[3]
            client.write_registers(20, [seq >> 16, seq & 0xFFFF], device_id=1)
        times.append(time.monotonic() - start)
        if period:
            time.sleep(max(0.0, period - (time.monotonic() - start)))
    client.close()
    return len(times), times


def poll_opcua(url: str, seconds: float, period: float) -> tuple[int, list[float]]:
    from asyncua import Client, ua

    class Events:
        count = 0

        def event_notification(self, _event: object) -> None:
            Events.count += 1

    async def run() -> list[float]:
        times: list[float] = []
        async with Client(url) as client:
            ns = await client.get_namespace_index("urn:gaikan:machine-vision")
            vision = await client.nodes.objects.get_child(f"{ns}:VisionSystem")
            nodes = [await vision.get_child(f"{ns}:SystemState"), await vision.get_child([f"{ns}:Buffer", f"{ns}:ResultIds"])]
            if period:
                subscription = await client.create_subscription(50, Events())
                event_type = await client.nodes.base_event_type.get_child(f"{ns}:ResultReadyEventType")
                await subscription.subscribe_events(vision, event_type)
            end = time.monotonic() + seconds
            while (start := time.monotonic()) < end:
                _state, ids = await client.read_values(nodes)
                if period and ids:
                    await vision.call_method(f"{ns}:Acknowledge", ua.Variant(ids[-1], ua.VariantType.Int64))
                times.append(time.monotonic() - start)
                if period:
                    await asyncio.sleep(max(0.0, period - (time.monotonic() - start)))
        return times

    times = asyncio.run(run())
    return len(times), times


def poll_rest(url: str, seconds: float, period: float) -> tuple[int, list[float]]:
    import httpx

    times: list[float] = []
    with httpx.Client(base_url=url) as client:
        end = time.monotonic() + seconds
        while (start := time.monotonic()) < end:
            client.get("/api/v1/reject", params={"limit": 1})
            times.append(time.monotonic() - start)
    return len(times), times


def start_child(function: object, *args: object) -> tuple[object, object]:
    pool = multiprocessing.get_context("spawn").Pool(1)
    return pool, pool.apply_async(function, args)  # type: ignore[arg-type]


def thread_cpu_seconds(name: str) -> float:
    """CPU time of this process's thread called `name` (Linux /proc accounting)."""
    thread = next(t for t in threading.enumerate() if t.name == name)
    fields = Path(f"/proc/self/task/{thread.native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def service(folder: Path, fps: float, opcua: bool, modbus: bool) -> tuple[LiveServer, int, int]:
    opcua_port, modbus_port = free_port(), free_port()
    plc = {"opcua": {"enabled": opcua, "port": opcua_port}, "modbus": {"enabled": modbus, "port": modbus_port}}
    settings = demo_settings(folder, fps=fps, keep_pass_fraction=0.0, plc=plc)
    return LiveServer(settings, start_timeout_s=300), opcua_port, modbus_port


def polling_rates(folder: Path, seconds: float, fps: float) -> None:
    server, opcua_port, modbus_port = service(folder, fps, True, True)
    with server, server.client() as http:
        wait_for(lambda: http.get("/api/v1/status").json()["last_seq"] >= 10, timeout=120)
        cpu = cpu_seconds()
        time.sleep(seconds)
        idle_rate = (cpu_seconds() - cpu) / seconds  # the line and the servers' own refresh, no client
        print("| protocol | polls/s | round trip p50 ms | p99 ms | service CPU ms / poll | polls/s per core at that cost |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, function, target, thread in (
            ("Modbus TCP (read 12 registers)", poll_modbus, modbus_port, "plc-modbus"),
            ("OPC UA (read 2 variables)", poll_opcua, f"opc.tcp://127.0.0.1:{opcua_port}/gaikan/", "plc-opcua"),
            ("REST (GET /api/v1/reject?limit=1)", poll_rest, server.url, None),
        ):
            clock = (lambda thread=thread: thread_cpu_seconds(thread)) if thread else cpu_seconds
            pool, pending = start_child(function, target, seconds, 0.0)
            cpu, started = clock(), time.monotonic()
            count, times = pending.get()  # type: ignore[attr-defined]
            used = clock() - cpu - (0.0 if thread else idle_rate * (time.monotonic() - started))
            pool.terminate()  # type: ignore[attr-defined]
            p50, p99 = percentiles(times)
            per_poll = max(used, 0.0) / count * 1000
            print(f"| {name} | {count / seconds:.0f} | {p50:.2f} | {p99:.2f} | {per_poll:.2f} | {1000 / per_poll:.0f} |", flush=True)


def cpu_cost(folder: Path, seconds: float, fps: float) -> None:
    print("\n| protocol server and its client | client cycles | decisions | server thread CPU (% of a core) | ms / decision |")
    print("|---|---:|---:|---:|---:|")
    for name, opcua, thread in (("Modbus, handshake at 100 Hz", False, "plc-modbus"), ("OPC UA, events + dequeue at 50 Hz", True, "plc-opcua")):
        server, opcua_port, modbus_port = service(folder / thread, fps, opcua, not opcua)
        with server, server.client() as http:
            wait_for(lambda: http.get("/api/v1/status").json()["last_seq"] >= 5, timeout=120)
            first, cpu, started = server.line.stores.decisions.last_seq(), thread_cpu_seconds(thread), time.monotonic()
            if opcua:
                pool, pending = start_child(poll_opcua, f"opc.tcp://127.0.0.1:{opcua_port}/gaikan/", seconds, 0.02)
            else:
                pool, pending = start_child(poll_modbus, modbus_port, seconds, 0.01)
            polls, _ = pending.get()  # type: ignore[attr-defined]
            decisions, used = server.line.stores.decisions.last_seq() - first, thread_cpu_seconds(thread) - cpu
            elapsed = time.monotonic() - started
            pool.terminate()  # type: ignore[attr-defined]
        print(f"| {name} | {polls} | {decisions} | {used / elapsed * 100:.1f} | {used / max(decisions, 1) * 1000:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--fps", type=float, default=10.0, help="parts per second on the demo line")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        polling_rates(Path(folder) / "rates", args.seconds, args.fps)
        cpu_cost(Path(folder) / "cpu", args.seconds, args.fps)


if __name__ == "__main__":
    main()
