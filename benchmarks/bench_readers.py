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
from gaikan.camera.replay import list_images

STATUS_PER_S = 100
SSE_CLIENTS = 10
POLLS_PER_S = 100


def bare_fps(model_path: Path, images: list[np.ndarray], seconds: float) -> float:
    model = OnnxModel(read_package(model_path))
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
    folder: Path, model: Path, line: Path, *, fps: float | None, keep_pass_fraction: float, deadline_ms: float, api_niceness: int
) -> Iterator[str]:
    port = free_port()
    config = folder / f"gaikan-{port}.toml"
    overflow = "drop_oldest" if fps else "block"
    pace = fps if fps else '"unpaced"'  # TOML has no null
    config.write_text(
        f'port = {port}\ndata_dir = "{folder / f"data-{port}"}"\ninitial_model = "{model}"\n'
        f'keep_pass_fraction = {keep_pass_fraction}\noverflow = "{overflow}"\ndeadline_ms = {deadline_ms}\napi_niceness = {api_niceness}\nlog_level = "warning"\n'
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
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


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


def summarise(decisions: list[dict], since: float, until: float, dropped: int, answered: dict[str, int]) -> Phase:
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


def run_phase(url: str, seconds: float, with_readers: bool) -> tuple[float, float, int, dict[str, int]]:
    dropped_before = camera_dropped(url)
    since = time.time()
    answered = asyncio.run(readers(url, seconds)) if with_readers else (time.sleep(seconds) or {})
    until = time.time()
    return since, until, camera_dropped(url) - dropped_before, answered


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
    parser.add_argument("--api-niceness", type=int, default=5, help="the server's api_niceness setting")
    args = parser.parse_args()
    model = args.model or shipped_demo_model()
    with tempfile.TemporaryDirectory(prefix="gaikan-bench-") as tmp:
        folder = Path(tmp)
        line = ensure_demo_line(folder / "demo")
        images = [read_image(path) for path in list_images(line)]
        bare = bare_fps(model, images, args.seconds / 2)
        camera_fps = round(0.6 * bare, 1)
        print(
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; model {model.name}; "
            f"{len(images)} demo frames; api_niceness {args.api_niceness}\n"
        )
        print(f"bare session (preprocess + run, batch 1): **{bare:.1f} fps**; camera at 60 %: {camera_fps} fps\n")
        print("| phase | decided fps | × bare | timeouts | dropped | latency p50 / p99 ms | saved | reader answers |")
        print("|---|---|---|---|---|---|---|---|")
        with server(folder, model, line, fps=camera_fps, keep_pass_fraction=0.0, deadline_ms=1000, api_niceness=args.api_niceness) as url:
            time.sleep(args.warmup)
            quiet = run_phase(url, args.seconds, with_readers=False)
            busy = run_phase(url, args.seconds, with_readers=True)
            decisions = stream(url)
        phases = [summarise(decisions, *window) for window in (quiet, busy)]
        print(row(f"camera {camera_fps} fps, no readers", phases[0], bare))
        print(row(f"camera {camera_fps} fps, {STATUS_PER_S} status/s + {SSE_CLIENTS} SSE + {POLLS_PER_S} Hz poller", phases[1], bare))
        # As fast as the line takes frames: every frame waits in the queue, so the deadline is
        # lifted; what counts is throughput.
        with server(folder, model, line, fps=None, keep_pass_fraction=0.25, deadline_ms=10_000, api_niceness=args.api_niceness) as url:
            time.sleep(args.warmup)
            full = run_phase(url, args.seconds, with_readers=False)
            decisions = stream(url)
        print(row("full speed, 1 in 4 passes saved (+ every reject)", summarise(decisions, *full), bare))
        change = phases[1].decided_fps / phases[0].decided_fps - 1
        print(f"\nreaders change decided throughput by {change:+.1%} (target within ±5 %) and cause {phases[1].timeouts} timeouts (target 0)")


if __name__ == "__main__":
    main()
