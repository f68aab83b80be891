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
nothing while a phase runs. The readers run in a process of their own (plain threads on
`http.client`, several connections), `--reader-niceness` nicer than the server.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from urllib.parse import urlsplit

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
    folder: Path,
    model: Path,
    line: Path,
    *,
    fps: float | None,
    keep_pass_fraction: float,
    deadline_ms: float,
    api_niceness: int | None,
    intra_op_threads: int,
) -> Iterator[tuple[str, int]]:
    port = free_port()
    config = folder / f"gaikan-{port}.toml"
    overflow = "drop_oldest" if fps else "block"
    pace = fps if fps else '"unpaced"'  # TOML has no null
    niceness = f"api_niceness = {api_niceness}\n" if api_niceness is not None else ""
    config.write_text(
        f'port = {port}\ndata_dir = "{folder / f"data-{port}"}"\ninitial_model = "{model}"\n'
        f'keep_pass_fraction = {keep_pass_fraction}\noverflow = "{overflow}"\ndeadline_ms = {deadline_ms}\n{niceness}log_level = "warning"\n'
        f"intra_op_threads = {intra_op_threads}\n"
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return float("nan")


def cpu_snapshot(processes: dict[str, int]) -> dict[str, float]:
    return {role: cpu_seconds(pid) for role, pid in processes.items()}


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


def _paced(host: str, port: int, path: str, per_s: float, offset_s: float, start: float, end: float, key: str, answered: Counter[str]) -> None:
    """GET `path` `per_s` times a second on one keep-alive connection from `start + offset_s`; a
    request that falls behind skips its turn, it does not catch up later."""
    connection = http.client.HTTPConnection(host, port, timeout=10)
    tick = start + offset_s
    while True:
        time.sleep(max(0.0, tick - time.monotonic()))
        if time.monotonic() >= end:
            break
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            answered[key if response.status == 200 else "errors"] += 1
        except (OSError, http.client.HTTPException):
            answered["errors"] += 1
            connection.close()  # reconnects on the next request
        tick = max(tick + 1.0 / per_s, time.monotonic())
    connection.close()


def _sse(host: str, port: int, end: float, answered: Counter[str]) -> None:
    """One SSE client: count `decision` events until `end`."""
    connection = http.client.HTTPConnection(host, port, timeout=max(end - time.monotonic(), 0.1))
    try:
        connection.request("GET", "/api/v1/events", headers={"Accept": "text/event-stream"})
        response = connection.getresponse()
        while time.monotonic() < end:
            line = response.readline()
            if not line:
                break
            if line.startswith(b"event: decision"):
                answered["sse_events"] += 1
    except (OSError, http.client.HTTPException):
        pass  # the socket timeout at `end` ends the stream
    finally:
        connection.close()


def readers(url: str, seconds: float, niceness: int, parent: Connection) -> None:
    """The reader client, in its own process `niceness` nicer than the bench: 100 status
    requests/s (10 pages at 10 Hz), a 100 Hz reject poller (as 10 connections at 10 Hz, so one slow
    answer does not cost the next turns) and 10 SSE clients, for `seconds`; plain threads on
    `http.client` (a few hundred microseconds of CPU per request). Starts when the parent says go
    (once this process is up), then sends the answers and its CPU seconds back."""
    os.nice(niceness)
    parent.send("ready")
    parent.recv()
    cpu_at_go = time.process_time()
    parsed = urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    start = time.monotonic() + 0.2
    end = start + seconds
    pollers = 10
    counts: list[Counter[str]] = []  # one per thread: no lost increments between threads

    def counter() -> Counter[str]:
        counts.append(Counter())
        return counts[-1]

    status, poll = "/api/v1/status", "/api/v1/reject?after=0&limit=1"
    threads = [
        threading.Thread(target=_paced, args=(host, port, status, STATUS_PER_S / 10, i / STATUS_PER_S, start, end, "status", counter()))
        for i in range(10)
    ]
    threads += [
        threading.Thread(target=_paced, args=(host, port, poll, POLLS_PER_S / pollers, i / POLLS_PER_S, start, end, "poll", counter()))
        for i in range(pollers)
    ]
    threads += [threading.Thread(target=_sse, args=(host, port, end, counter())) for _ in range(SSE_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answered: Counter[str] = Counter({"status": 0, "poll": 0, "sse_events": 0, "errors": 0})
    for count in counts:
        answered.update(count)
    parent.send((dict(answered), time.process_time() - cpu_at_go))


def run_phase(
    url: str, seconds: float, with_readers: bool, processes: dict[str, int], reader_niceness: int
) -> tuple[float, float, int, dict[str, int], dict[str, float]]:
    """One measured phase: its window, camera drops, reader answers and each process's CPU seconds.
    The readers run in their own process `reader_niceness` nicer than the bench: in the field they
    run on other machines, here they share the line's cores."""
    dropped_before = camera_dropped(url)
    answered: dict[str, int] = {}
    reader_cpu = 0.0
    if not with_readers:
        before, since = cpu_snapshot(processes), time.time()
        time.sleep(seconds)
    else:
        context = multiprocessing.get_context("spawn")
        here, there = context.Pipe()
        client = context.Process(target=readers, args=(url, seconds, reader_niceness, there), name="bench-readers")
        client.start()
        here.recv()  # up and imported
        before, since = cpu_snapshot(processes), time.time()
        here.send("go")
        answered, reader_cpu = here.recv()
        client.join()
    until, after = time.time(), cpu_snapshot(processes)
    cpu = {role: after[role] - before[role] for role in after}
    cpu["reader client"] = reader_cpu
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
        "--reader-niceness", type=int, default=10, help="how much nicer than the server the bench's reader client process runs (0: as nice)"
    )
    parser.add_argument("--phases", choices=("all", "readers", "full"), default="all", help="which measurements to run")
    parser.add_argument(
        "--intra-op-threads", type=int, default=None, help="ONNX Runtime intra-op threads of the line and the bare session (default: the setting's default)"
    )
    args = parser.parse_args()
    model = args.model or shipped_demo_model()
    api_niceness = args.api_niceness if args.api_niceness is not None else Settings.model_fields["api_niceness"].default
    with tempfile.TemporaryDirectory(prefix="gaikan-bench-") as tmp:
        folder = Path(tmp)
        line = ensure_demo_line(folder / "demo")
        images = [read_image(path) for path in list_images(line)]
        default_threads = Settings.model_fields["intra_op_threads"].default
        threads = args.intra_op_threads if args.intra_op_threads is not None else default_threads  # the bare session runs as the line does
        bare = bare_fps(model, images, args.seconds / 2, threads)
        all_cores = bare_fps(model, images, args.seconds / 2, 0)
        camera_fps = round(0.6 * bare, 1)
        print(
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; model {model.name}; "
            f"{len(images)} demo frames; api_niceness {api_niceness}; the reader client runs in its own process "
            f"on the same cores, {args.reader_niceness} nicer than the server (in the field readers are other machines)\n"
        )
        print(
            f"bare session (preprocess + run, batch 1, {threads} intra-op thread(s) as the line's): **{bare:.1f} fps** "
            f"(all cores: {all_cores:.1f} fps); camera at 60 %: {camera_fps} fps\n"
        )
        results: list[tuple[str, Phase]] = []
        common = {"api_niceness": args.api_niceness, "intra_op_threads": threads}
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
