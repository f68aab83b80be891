"""Readers must not slow the line (issue 14): the real server, with and without readers.

    python benchmarks/bench_readers.py [--model models/shipped/demo.zip] [--seconds 20]

Prints, as Markdown:
1. the bare ONNX Runtime session (preprocess + run, batch 1) on the demo line's frames: N fps;
2. `gaikan serve` (its own process; the line process beside it) with the demo line replayed at
   60 % of N: decided throughput, timeouts, drops and capture-to-decision latency with no readers,
   then with 100 status requests/s + 10 SSE clients + a 100 Hz reject poller;
3. the same server with the camera as fast as the line takes frames and 1 part in 4 saved as
   evidence: end-to-end throughput against N.

Decisions are counted from the stored stream afterwards (by decision time), so measuring reads
nothing while a phase runs. The readers run in this process on one asyncio loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from gaikan.models.package import read_package
from gaikan.models.preprocess import prepare_batch, read_image
from gaikan.models.runtime import OnnxModel
from gaikan.service.demo import ensure_demo_line, shipped_demo_model
from gaikan.service.settings import Settings
from gaikan.camera.replay import list_images

STATUS_PER_S = 100
SSE_CLIENTS = 10
POLLS_PER_S = 100


def bare_fps(model_path: Path, images: list[np.ndarray], seconds: float, intra_op_threads: int) -> float:
    model = OnnxModel(read_package(model_path), intra_op_threads=intra_op_threads)
    spec = model.manifest.input
    for image in images[:5]:
        model.run(prepare_batch([image], spec))
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        model.run(prepare_batch([images[done % len(images)]], spec))
        done += 1
    return done / (time.perf_counter() - started)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(
    folder: Path, model: Path, line: Path, *, fps: float | None, keep_pass_fraction: float, deadline_ms: float, api_niceness: int | None
) -> Iterator[tuple[str, int]]:
    port = free_port()
    config = folder / f"gaikan-{port}.toml"
    overflow = "drop_oldest" if fps else "block"
    pace = fps if fps else '"unpaced"'  # TOML has no null
    niceness = f"api_niceness = {api_niceness}\n" if api_niceness is not None else ""
    config.write_text(
        f'port = {port}\ndata_dir = "{folder / f"data-{port}"}"\ninitial_model = "{model}"\n'
        f'keep_pass_fraction = {keep_pass_fraction}\noverflow = "{overflow}"\ndeadline_ms = {deadline_ms}\n{niceness}log_level = "warning"\n'
        f'[camera]\nkind = "replay"\npath = "{line}"\nloop = true\ncamera_id = "bench"\nfps = {pace}\n'
    )
    log = (folder / f"server-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gaikan.service", "serve"], env={**os.environ, "GAIKAN_CONFIG": str(config)}, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/api/v1/status", timeout=2).json()["last_seq"] > 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start; see {log.name}")
            time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _is_spawned(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


def server_processes(api: int) -> dict[str, int]:
    """The server's processes by role: the API process, the line process it spawned, and the
    evidence process the line spawned (multiprocessing's resource trackers left out)."""
    roles = {"API": api}
    line = next((child for child in _children(api) if _is_spawned(child)), None)
    if line is not None:
        roles["line"] = line
        evidence = next((child for child in _children(line) if _is_spawned(child)), None)
        if evidence is not None:
            roles["evidence"] = evidence
    return roles


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU time of a process (or one of its threads) so far."""
    path = f"/proc/{pid}/task/{thread}/stat" if thread else f"/proc/{pid}/stat"
    with contextlib.suppress(OSError):
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return float("nan")


def cpu_snapshot(processes: dict[str, int], reader_thread: int | None) -> dict[str, float]:
    taken = {role: cpu_seconds(pid) for role, pid in processes.items()}
    taken["reader client"] = cpu_seconds(os.getpid(), reader_thread) if reader_thread else 0.0
    return taken


@dataclass
class Phase:
    decided_fps: float
    decisions: int
    timeouts: int
    dropped: int
    p50_ms: float
    p99_ms: float
    saved: float
    answered: dict[str, int]
    cpu_s: dict[str, float]


def stream(url: str) -> list[dict]:
    items: list[dict] = []
    after = 0
    with httpx.Client(base_url=url, timeout=30) as client:
        while page := client.get("/api/v1/reject", params={"after": after, "limit": 1000}).json()["items"]:
            items += page
            after = page[-1]["seq"]
    return items


def camera_dropped(url: str) -> int:
    return int(httpx.get(f"{url}/api/v1/status", timeout=10).json()["camera"]["dropped"])


def summarise(
    decisions: list[dict], since: float, until: float, dropped: int, answered: dict[str, int], cpu_s: dict[str, float]
) -> Phase:
    window = [d for d in decisions if since <= _epoch(d["decided_at"]) < until]
    latencies = [d["latency_ms"] for d in window] or [float("nan")]
    return Phase(
        decided_fps=len(window) / (until - since),
        decisions=len(window),
        timeouts=sum(d["reason"] == "timeout" for d in window),
        dropped=dropped,
        p50_ms=float(np.percentile(latencies, 50)),
        p99_ms=float(np.percentile(latencies, 99)),
        saved=sum(d["has_image"] for d in window) / max(len(window), 1),
        answered=answered,
        cpu_s=cpu_s,
    )


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


async def readers(url: str, seconds: float) -> dict[str, int]:
    """100 status requests/s, 10 SSE clients and a 100 Hz reject poller, for `seconds`."""
    answered = {"status": 0, "poll": 0, "sse_events": 0, "errors": 0}
    end = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as client:

        async def paced(path: str, per_s: float, key: str, params: dict | None = None) -> None:
            tick = time.monotonic()
            while time.monotonic() < end:  # a reader that falls behind skips, it does not catch up later
                tick = max(tick + 1.0 / per_s, time.monotonic())
                try:
                    (await client.get(path, params=params)).raise_for_status()
                    answered[key] += 1
                except httpx.HTTPError:
                    answered["errors"] += 1
                await asyncio.sleep(max(0.0, tick - time.monotonic()))

        async def sse() -> None:
            with contextlib.suppress(httpx.HTTPError, asyncio.TimeoutError):
                async with client.stream("GET", "/api/v1/events", timeout=None) as response:
                    async for line in response.aiter_lines():
                        if line.startswith("event: decision"):
                            answered["sse_events"] += 1
                        if time.monotonic() >= end:
                            return

        # 100 status/s as 10 pages polling at 10 Hz each; one PLC polling the stream at 100 Hz.
        tasks = [paced("/api/v1/status", STATUS_PER_S / 10, "status") for _ in range(10)]
        tasks.append(paced("/api/v1/reject", POLLS_PER_S, "poll", {"after": 0, "limit": 1}))
        tasks += [asyncio.wait_for(sse(), seconds) for _ in range(SSE_CLIENTS)]
        await asyncio.gather(*tasks, return_exceptions=True)
    return answered


def run_phase(
    url: str, seconds: float, with_readers: bool, processes: dict[str, int], reader_niceness: int
) -> tuple[float, float, int, dict[str, int], dict[str, float]]:
    """One measured phase: its window, camera drops, reader answers and each process's CPU seconds.
    The readers run on their own thread at `reader_niceness` (Linux schedules threads one by
    one): in the field they run on other machines, here they share the line's cores."""
    dropped_before = camera_dropped(url)
    answered: dict[str, int] = {}
    if not with_readers:
        before, since = cpu_snapshot(processes, None), time.time()
        time.sleep(seconds)
        until, after = time.time(), cpu_snapshot(processes, None)
    else:
        ready, go = threading.Event(), threading.Event()
        thread_id: list[int] = []

        def client() -> None:
            thread_id.append(threading.get_native_id())
            os.setpriority(os.PRIO_PROCESS, thread_id[0], min(os.getpriority(os.PRIO_PROCESS, 0) + reader_niceness, 19))
            ready.set()
            go.wait()
            answered.update(asyncio.run(readers(url, seconds)))

        thread = threading.Thread(target=client, name="bench-readers")
        thread.start()
        ready.wait()
        before, since = cpu_snapshot(processes, thread_id[0]), time.time()
        go.set()
        while thread.is_alive():
            after = cpu_snapshot(processes, thread_id[0])  # the thread's CPU is gone once it ends
            thread.join(0.2)
        until = time.time()
    cpu = {role: after[role] - before[role] for role in after}
    return since, until, camera_dropped(url) - dropped_before, answered, cpu


def cpu_row(label: str, phase: Phase) -> str:
    cpu, seconds = phase.cpu_s, phase.decisions / phase.decided_fps if phase.decided_fps else float("nan")
    answers = sum(phase.answered.get(key, 0) for key in ("status", "poll", "sse_events"))
    per_answer = f"{1000 * cpu.get('API', 0.0) / answers:.2f}" if answers else "-"
    return (
        f"| {label} | {1000 * cpu.get('line', float('nan')) / max(phase.decisions, 1):.1f} | "
        + " | ".join(f"{cpu.get(role, 0.0) / seconds:.2f}" for role in ("line", "evidence", "API", "reader client"))
        + f" | {per_answer} |"
    )


def row(label: str, phase: Phase, reference: float) -> str:
    served = ", ".join(f"{k} {v}" for k, v in phase.answered.items()) or "-"
    return (
        f"| {label} | {phase.decided_fps:.1f} | {phase.decided_fps / reference:.2f} | {phase.timeouts} | {phase.dropped} "
        f"| {phase.p50_ms:.0f} / {phase.p99_ms:.0f} | {phase.saved:.0%} | {served} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="model package (default: the shipped demo model)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measured phase")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--api-niceness", type=int, default=None, help="the server's api_niceness setting (default: its own default)")
    parser.add_argument(
        "--reader-niceness", type=int, default=10, help="how much nicer than the server the bench's reader client runs (0: as nice)"
    )
    parser.add_argument("--phases", choices=("all", "readers", "full"), default="all", help="which measurements to run")
    args = parser.parse_args()
    model = args.model or shipped_demo_model()
    api_niceness = args.api_niceness if args.api_niceness is not None else Settings.model_fields["api_niceness"].default
    with tempfile.TemporaryDirectory(prefix="gaikan-bench-") as tmp:
        folder = Path(tmp)
        line = ensure_demo_line(folder / "demo")
        images = [read_image(path) for path in list_images(line)]
        threads = Settings.model_fields["intra_op_threads"].default  # the bare session runs as the line's does
        bare = bare_fps(model, images, args.seconds / 2, threads)
        all_cores = bare_fps(model, images, args.seconds / 2, 0)
        camera_fps = round(0.6 * bare, 1)
        print(
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; model {model.name}; "
            f"{len(images)} demo frames; api_niceness {api_niceness}; the reader client runs in this process "
            f"on the same cores, {args.reader_niceness} nicer than the server (in the field readers are other machines)\n"
        )
        print(
            f"bare session (preprocess + run, batch 1, {threads} intra-op thread(s) as the line's default): **{bare:.1f} fps** "
            f"(all cores: {all_cores:.1f} fps); camera at 60 %: {camera_fps} fps\n"
        )
        results: list[tuple[str, Phase]] = []
        common = {"api_niceness": args.api_niceness}
        if args.phases in ("all", "readers"):
            with server(folder, model, line, fps=camera_fps, keep_pass_fraction=0.0, deadline_ms=1000, **common) as (url, pid):
                time.sleep(args.warmup)
                processes = server_processes(pid)
                quiet = run_phase(url, args.seconds, False, processes, args.reader_niceness)
                busy = run_phase(url, args.seconds, True, processes, args.reader_niceness)
                decisions = stream(url)
            results.append((f"camera {camera_fps} fps, no readers", summarise(decisions, *quiet)))
            readers_label = f"camera {camera_fps} fps, {STATUS_PER_S} status/s + {SSE_CLIENTS} SSE + {POLLS_PER_S} Hz poller"
            results.append((readers_label, summarise(decisions, *busy)))
        if args.phases in ("all", "full"):
            # As fast as the line takes frames: every frame waits in the queue, so the deadline is
            # lifted; what counts is throughput.
            with server(folder, model, line, fps=None, keep_pass_fraction=0.25, deadline_ms=10_000, **common) as (url, pid):
                time.sleep(args.warmup)
                full = run_phase(url, args.seconds, False, server_processes(pid), args.reader_niceness)
                decisions = stream(url)
            results.append(("full speed, 1 in 4 passes saved (+ every reject)", summarise(decisions, *full)))
        print("| phase | decided fps | × bare | timeouts | dropped | latency p50 / p99 ms | saved | reader answers |")
        print("|---|---|---|---|---|---|---|---|")
        for label, phase in results:
            print(row(label, phase, bare))
        print("\nCPU (cores used = CPU seconds per second of the phase; load-independent: line CPU ms per decided part, API CPU ms per reader answer, a request or an SSE event):\n")
        print("| phase | line ms / part | line cores | evidence cores | API cores | reader client cores | API ms / answer |")
        print("|---|---|---|---|---|---|---|")
        for label, phase in results:
            print(cpu_row(label, phase))
        if args.phases in ("all", "readers"):
            quiet_phase, busy_phase = results[0][1], results[1][1]
            change = busy_phase.decided_fps / quiet_phase.decided_fps - 1
            print(
                f"\nreaders change decided throughput by {change:+.1%} (target within ±5 %) and cause {busy_phase.timeouts} timeouts (target 0)"
            )
        if args.phases in ("all", "full"):
            print(f"full speed: {results[-1][1].decided_fps / bare:.2f} × bare (target ≥ 0.9)")


if __name__ == "__main__":
    main()
