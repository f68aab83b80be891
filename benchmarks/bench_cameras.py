"""Several cameras, one station: fused part decisions on shared inference (issue 15).

    nice -n 10 python benchmarks/bench_cameras.py [--model PACKAGE] [--seconds 20] [--fps 15]

Prints, as Markdown:
1. 4 cameras at `--fps` of 1920x1200 Mono8, one station of 4 views (one trigger: frame n of every
   camera is part n), the demo model shared by the 4 (one session, micro-batched): the share of
   offered parts decided on their scores, fused capture→decision p50/p99, parts rejected as
   timeouts or with a view missing, frames dropped;
2. the simulated GenTL producer (viky.cti, the genicam wheel) with its 3 devices at once through
   Harvesters (`GenICamSource`), one station of 3 views matched by arrival;
3. 8 cameras at 1, 2, 5, 10 and `--fps` frames/s each, up to where it saturates (the first rate
   deciding < 95 % of the offered parts on their scores).

The cameras of (1) and (3) are `MemoryCamera`s (benchmarks/bench_pipeline.py): preloaded frames
handed out at a fixed rate from one shared start (a hardware trigger), no file decoding. The line
is the service's `Line`, in this process, with its SQLite store. Figures are only comparable on
an idle machine: say how busy it was.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gaikan.camera.frame import PixelFormat
from gaikan.models.package import read_package
from gaikan.models.preprocess import prepare_batch
from gaikan.models.runtime import OnnxModel
from gaikan.service import line as line_module
from gaikan.service.line import Line
from gaikan.service.pipeline import Overflow
from gaikan.service.settings import Settings

from bench_pipeline import MemoryCamera, large_mono_frames  # noqa: E402  (benchmarks/ is the script's folder)

WARM_UP_S = 3.0  # parts captured before this are left out (sessions warm up, threads start)
TAIL_S = 1.5  # nor those captured this close to the stop (their deadline had not passed)
VIEWS = ("top", "side", "front", "back", "left", "right", "bottom", "oblique")


def station(cameras: list[str], match: str = "part_id", window_ms: float = 100.0) -> dict[str, object]:
    return {"station_id": "st", "views": [{"name": VIEWS[i], "camera": c} for i, c in enumerate(cameras)], "match": match, "window_ms": window_ms}


class TriggeredCamera(MemoryCamera):
    """A MemoryCamera on a shared trigger: frame n at `first + n / fps` on every such camera."""

    def __init__(self, first: float, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._first = first

    def start(self) -> None:
        super().start()
        self._next = self._first


def run(settings: Settings, seconds: float, sources: Callable[[object], object] | None = None) -> tuple[list, Line, float]:
    """Run the line for `seconds`; the part decisions captured in the measured window."""
    original = line_module.open_source
    if sources is not None:
        line_module.open_source = sources  # type: ignore[assignment]
    try:
        line = Line(settings)
    finally:
        line_module.open_source = original
    line.start()
    started = time.time()
    time.sleep(seconds)
    for pipeline in line.pipelines.values():
        pipeline.stop()
    line.recorder.wait_idle(30)
    line.stop()
    window = (started + WARM_UP_S, started + seconds - TAIL_S)
    decisions = [d for d in line.stores.decisions.page(limit=1_000_000, ascending=True) if window[0] <= d.record.captured_at < window[1]]
    return decisions, line, window[1] - window[0]


def report(label: str, decisions: list, line: Line, offered: int | None) -> float:
    parts = [d.record for d in decisions]
    scored = [p for p in parts if p.reason.value == "score"]
    missing = sum(p.reason.value == "view_missing" for p in parts)
    timeouts = sum(p.reason.value == "timeout" for p in parts)
    latencies = [p.latency_ms for p in parts] or [float("nan")]
    dropped = sum(p.counters.dropped + p.source.stats.dropped for p in line.pipelines.values())
    batches = [p.counters.last_batch_size for p in line.pipelines.values()]
    offered = offered if offered is not None else len(parts)
    share = len(scored) / offered if offered else 0.0
    print(
        f"| {label} | {offered} | {len(parts)} | {share:.3f} | {np.percentile(latencies, 50):.0f} / {np.percentile(latencies, 99):.0f} ms "
        f"| {timeouts} | {missing} | {dropped} | {max(batches) if batches else 0} |"
    )
    return share


def memory_line(count: int, fps: float, seconds: float, model: Path, folder: Path, runtime: dict[str, int]) -> tuple[list, Line, int]:
    frames = large_mono_frames()
    first = time.monotonic() + 1.0  # one trigger for every camera

    def source(config: object) -> MemoryCamera:
        return TriggeredCamera(first, frames, PixelFormat.MONO8, fps, camera_id=config.camera_id)  # type: ignore[attr-defined]

    ids = [f"cam{i}" for i in range(count)]
    settings = Settings(
        data_dir=folder,
        cameras=[{"camera": {"kind": "replay", "camera_id": c, "path": str(folder)}} for c in ids],
        stations=[station(ids)],
        initial_model=model,
        keep_pass_fraction=0.0,
        overflow=Overflow.REJECT,  # triggered: every frame is a part; one that cannot queue is a timeout reject
        max_batch=max(4, count),
        **runtime,
    )
    decisions, line, _ = run(settings, seconds, source)
    # Every trigger is a part: the parts offered in the window are the trigger counts from the
    # first to the last part decided in it (a part that vanished between them counts as offered).
    counts = [int(d.record.frame_id.split(":")[1]) for d in decisions]
    return decisions, line, (max(counts) - min(counts) + 1) if counts else 0


def bare_session(model: OnnxModel, frames: list[np.ndarray], size: int, rounds: int = 8) -> float:
    """Frames per second the bare session sustains here, preprocessing included."""
    model.run(prepare_batch(frames[:size], model.manifest.input))
    started = time.perf_counter()
    for i in range(rounds):
        batch = [frames[(i * size + k) % len(frames)] for k in range(size)]
        model.run(prepare_batch(batch, model.manifest.input))
    return rounds * size / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="model package (default: the shipped demo model)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--skip-viky", action="store_true")
    parser.add_argument("--intra-op-threads", type=int, default=None, help="ONNX Runtime intra-op threads of the line (default: the setting's default)")
    args = parser.parse_args()
    if args.model is None:
        from gaikan.service.demo import shipped_demo_model

        args.model = shipped_demo_model()
    runtime = {"intra_op_threads": args.intra_op_threads} if args.intra_op_threads is not None else {}
    load = os.getloadavg()
    print(f"{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at start; model {args.model.name}")
    model = OnnxModel(read_package(args.model))
    frames = large_mono_frames(8)
    for size in (1, 4):
        bare_fps = bare_session(model, frames, size)
        print(f"bare session on 1920x1200 Mono8 frames (preprocess + run), batch {size}: {bare_fps:.1f} frames/s")
    print()
    print("| run | parts offered | part decisions | share decided on scores | fused capture→decision p50 / p99 | timeouts | view missing | frames dropped | largest batch |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        decisions, line, offered = memory_line(4, args.fps, args.seconds, args.model, Path(folder) / "four", runtime)
        report(f"4 cameras × {args.fps:g} fps 1920x1200, 1 station of 4 views", decisions, line, offered)

        if not args.skip_viky:
            settings = Settings(
                data_dir=Path(folder) / "viky",
                cameras=[
                    {"camera": {"kind": "genicam", "camera_id": f"viky{serial}", "cti": ["viky"], "serial_number": str(serial), "nodes": {"AcquisitionFrameRate": args.fps}}}
                    for serial in range(3)
                ],
                stations=[station([f"viky{serial}" for serial in range(3)], match="arrival", window_ms=1000 / args.fps / 2)],
                initial_model=args.model,
                keep_pass_fraction=0.0,
                **runtime,
            )
            decisions, line, _ = run(settings, args.seconds)
            fps = [round(p.counters.frames / args.seconds, 1) for p in line.pipelines.values()]
            report(f"viky.cti, 3 devices at once through Harvesters (free-run {args.fps:g} fps asked; got {fps} frames/s), arrival", decisions, line, None)

        kept = None
        for fps in sorted({1.0, 2.0, 5.0, 10.0, args.fps}):
            decisions, line, offered = memory_line(8, fps, args.seconds, args.model, Path(folder) / f"eight-{fps:g}", runtime)
            share = report(f"8 cameras × {fps:g} fps 1920x1200, 1 station of 8 views", decisions, line, offered)
            if share < 0.95:
                below = f"; the last rate that kept up: {kept:g} fps each" if kept else "; no rate tried kept up"
                print(f"\n8 cameras saturate at {fps:g} fps each ({8 * fps:g} frames/s offered) on this machine{below}.")
                break
            kept = fps
    load = os.getloadavg()
    print(f"\nload average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
