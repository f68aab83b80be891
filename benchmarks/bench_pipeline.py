"""End-to-end pipeline figures against the bare ONNX Runtime session on the same model and frames.

    python benchmarks/bench_pipeline.py [--model PACKAGE] [--frames 300] [--seconds 20]

Prints, as Markdown:
1. bare session: throughput and latency of `session.run` (and of preprocessing + run) at batch 1;
2. the whole line at full speed (camera → queue → inference → decision → SQLite commit): throughput
   and capture-to-decision latency; the ratio to (1) is the pipeline's overhead;
3. a 30 fps 1920x1200 Mono8 camera for `--seconds`: achieved rate, drops, capture-to-decision p50/p99.

The camera here is `MemoryCamera`: a FrameSource that hands out preloaded frames at a fixed rate,
as a real camera hands out raw buffers (no file decoding in the measurement).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from gaikan.camera.frame import Frame, PixelFormat
from gaikan.camera.source import CameraState, CameraStats
from gaikan.models.package import read_package
from gaikan.models.preprocess import prepare_batch
from gaikan.models.runtime import OnnxModel
from gaikan.models.synthetic import demo_line_sequence, render_part
from gaikan.service.line import Line
from gaikan.service.pipeline import Overflow, Pipeline, PipelineConfig
from gaikan.service.settings import Settings


class MemoryCamera:
    """Preloaded frames at `fps` (None: as fast as read), looping."""

    def __init__(self, images: list[np.ndarray], pixel_format: PixelFormat, fps: float | None, camera_id: str = "bench") -> None:
        self.camera_id = camera_id
        self._images = images
        self._format = pixel_format
        self._fps = fps
        self._stats = CameraStats()
        self._state = CameraState.STOPPED
        self._next = 0.0

    @property
    def state(self) -> CameraState:
        return self._state

    @property
    def stats(self) -> CameraStats:
        return self._stats

    def start(self) -> None:
        self._state = CameraState.RUNNING
        self._next = time.monotonic()

    def stop(self) -> None:
        self._state = CameraState.STOPPED

    def read(self, timeout: float) -> Frame | None:
        if self._fps is not None:
            wait = self._next - time.monotonic()
            if wait > timeout:
                time.sleep(timeout)
                return None
            if wait > 0:
                time.sleep(wait)
            self._next += 1.0 / self._fps
        pixels = self._images[self._stats.frames % len(self._images)].copy()  # a camera hands out a new buffer
        frame = Frame(pixels, self._stats.frames, self.camera_id, self._format, time.time(), time.monotonic())
        self._stats.frames += 1
        return frame


def _percentiles(values_ms: list[float]) -> str:
    return f"p50 {np.percentile(values_ms, 50):.1f} ms, p99 {np.percentile(values_ms, 99):.1f} ms"


def demo_frames(count: int = 48, size: int = 256) -> list[np.ndarray]:
    return [render_part(7, 50_000 + i, defect, size).image for i, defect in demo_line_sequence(count)]


def large_mono_frames(count: int = 16) -> list[np.ndarray]:
    """1920x1200 Mono8 frames: a demo part in the middle of a wide conveyor view."""
    frames = []
    for image in demo_frames(count, size=1024):
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        canvas = np.full((1200, 1920), 56, np.uint8)
        canvas[88:1112, 448:1472] = grey
        frames.append(canvas)
    return frames


def bare_session(model: OnnxModel, images: list[np.ndarray], frames: int, label: str) -> float:
    spec = model.manifest.input
    prepared = [prepare_batch([im], spec) for im in images]
    for batch in prepared[:5]:
        model.run(batch)
    run_ms, total_ms = [], []
    for i in range(frames):
        start = time.perf_counter()
        batch = prepare_batch([images[i % len(images)]], spec)
        middle = time.perf_counter()
        model.run(batch)
        end = time.perf_counter()
        run_ms.append((end - middle) * 1000)
        total_ms.append((end - start) * 1000)
    fps = 1000 / np.mean(total_ms)
    print(f"| bare session.run, batch 1, {label} | {1000 / np.mean(run_ms):.1f} fps | {_percentiles(run_ms)} |")
    print(f"| bare preprocess + run, batch 1, {label} | {fps:.1f} fps | {_percentiles(total_ms)} |")
    return fps


def run_line(model_path: Path, camera: MemoryCamera, config: PipelineConfig, *, frames: int | None, seconds: float | None) -> tuple[Line, float]:
    with tempfile.TemporaryDirectory() as folder:
        line = Line(Settings(data_dir=Path(folder), initial_model=model_path, keep_pass_fraction=0.0))
        line.pipeline = line.pipelines[camera.camera_id] = Pipeline(camera, line.registry, line.recorder, line.metrics, config, shadow=line.shadow)
        line.start()
        started = time.monotonic()
        try:
            while True:
                time.sleep(0.05)
                decided = line.stores.decisions.last_seq()
                if frames is not None and decided >= frames:
                    break
                if seconds is not None and time.monotonic() - started >= seconds:
                    break
        finally:
            elapsed = time.monotonic() - started
            line.pipeline.stop()
            line.recorder.wait_idle(30)
            decisions = line.stores.decisions.page(limit=1_000_000, ascending=True)
            line.stop()
    line.bench_decisions = decisions  # type: ignore[attr-defined]
    return line, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="model package (default: the shipped demo model)")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0 = all cores)")
    args = parser.parse_args()
    if args.model is None:
        from gaikan.service.demo import shipped_demo_model

        args.model = shipped_demo_model()
    package = read_package(args.model)
    images = demo_frames()
    model = OnnxModel(package, intra_op_threads=args.threads)
    print(f"model {package.manifest.name} {package.version} ({package.manifest.architecture}), input "
          f"{package.manifest.input.width}x{package.manifest.input.height} {package.manifest.input.colour}, providers {model.providers}\n")
    print("| what | throughput | latency |\n|---|---|---|")
    # The baseline is the faster of ONNX Runtime's defaults (idle workers spin) and the service's
    # setting (they sleep): on these shared cores either can win a given run.
    bare_fps = max(
        bare_session(OnnxModel(package, intra_op_threads=args.threads, allow_spinning=True), images, args.frames, "spinning"),
        bare_session(model, images, args.frames, "not spinning"),
    )

    camera = MemoryCamera(images, PixelFormat.RGB8, fps=None)
    line, elapsed = run_line(args.model, camera, PipelineConfig(queue_size=8, max_batch=4, deadline_ms=60_000, overflow=Overflow.BLOCK), frames=args.frames, seconds=None)
    decisions = line.bench_decisions  # type: ignore[attr-defined]
    latencies = [d.record.latency_ms for d in decisions]
    e2e_fps = len(decisions) / elapsed
    print(f"| line at full speed (capture → SQLite commit) | {e2e_fps:.1f} fps ({e2e_fps / bare_fps:.2f} × the faster bare) | capture→decision {_percentiles(latencies)} |")

    big = large_mono_frames()
    camera = MemoryCamera(big, PixelFormat.MONO8, fps=30.0)
    line, elapsed = run_line(args.model, camera, PipelineConfig(queue_size=8, max_batch=4, deadline_ms=1000, overflow=Overflow.DROP_OLDEST), frames=None, seconds=args.seconds)
    decisions = line.bench_decisions  # type: ignore[attr-defined]
    latencies = [d.record.latency_ms for d in decisions]
    timeouts = sum(1 for d in decisions if d.record.reason.value == "timeout")
    dropped = line.pipeline.counters.dropped
    print(f"| 30 fps 1920x1200 Mono8 camera, {args.seconds:.0f} s | {len(decisions) / elapsed:.1f} fps decided, "
          f"{dropped} dropped, {timeouts} timeouts | capture→decision {_percentiles(latencies)} |")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
