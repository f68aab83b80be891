"""Acquisition figures: conversion cost per pixel format, achieved frame rate and drops from the
simulated GenICam camera (viky.cti), start/stop hygiene, and what the grab thread costs other
Python threads.

    python benchmarks/bench_camera.py [--seconds 3] [--cycles 100] [--repeats 20]

Prints, as Markdown:
1. `convert_buffer` per camera pixel format at 1920x1200 (median and p90 of `--repeats` runs);
2. viky at its maximum rate (800x800, RGBa8 and Mono8): delivered fps with a reader that keeps
   up, then with a reader that needs 40 ms per frame (the pipeline lagging): delivered fps and
   the frames dropped (free-run keeps the newest);
3. `--cycles` start/stop cycles of a GenICamSource: RSS growth, compared with the same cycles
   through plain Harvesters (`destroy()` only, which leaks);
4. a pure-Python thread's throughput while a camera streams: this source (polling) against a
   blocking Harvesters `try_fetch` (which holds the GIL while it waits).
"""

from __future__ import annotations

import argparse
import gc
import threading
import time
from collections.abc import Callable

import numpy as np

from gaikan.camera.config import GenICamConfig
from gaikan.camera.genicam import GenICamSource
from gaikan.camera.gentl import viky_cti
from gaikan.camera.pixel_formats import CAMERA_PIXEL_FORMATS, ALIASES, convert_buffer, image_bytes

WIDTH, HEIGHT = 1920, 1200


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def conversions(repeats: int) -> None:
    print(f"\n### From camera buffer to frame at {WIDTH}x{HEIGHT} (median ms of {repeats}; p90 in brackets)\n")
    print("| camera format | frame | copy out of the buffer (grab thread) | convert (read) |\n|---|---|---|---|")
    rng = np.random.default_rng(0)
    for name in sorted(CAMERA_PIXEL_FORMATS - set(ALIASES)):
        driver_buffer = rng.integers(0, 256, size=image_bytes(name, WIDTH, HEIGHT), dtype=np.uint8)
        copy_ms, convert_ms = [], []
        for _ in range(repeats):
            began = time.perf_counter()
            owned = driver_buffer.copy()
            copied = time.perf_counter()
            pixels, fmt = convert_buffer(owned, WIDTH, HEIGHT, name)
            converted = time.perf_counter()
            copy_ms.append((copied - began) * 1000)
            convert_ms.append((converted - copied) * 1000)
        cells = [f"{np.median(v):.2f} ({np.percentile(v, 90):.2f})" for v in (copy_ms, convert_ms)]
        print(f"| {name} | {fmt} {pixels.shape} | {cells[0]} | {cells[1]} |")


def viky(pixel_format: str, rate: float = 200.0) -> GenICamConfig:
    nodes = {"Width": 800, "Height": 800, "PixelFormat": pixel_format, "AcquisitionFrameRate": rate}
    return GenICamConfig(cti=["viky"], serial_number="0", nodes=nodes)


def stream(config: GenICamConfig, seconds: float, work_s: float) -> tuple[float, int, int]:
    """(delivered fps, frames delivered, frames dropped) with a reader spending `work_s` per frame."""
    source = GenICamSource(config)
    source.start()
    try:
        while source.read(1.0) is None:
            pass
        dropped_before, delivered = source.stats.dropped, 0
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            if source.read(0.5) is not None:
                delivered += 1
                time.sleep(work_s)
        elapsed = time.monotonic() - began
        return delivered / elapsed, delivered, source.stats.dropped - dropped_before
    finally:
        source.stop()


def rates(seconds: float) -> None:
    print("\n### viky.cti at 800x800, AcquisitionFrameRate 200 (free-run, queue of 2)\n")
    print("| format | reader | delivered fps | delivered | dropped |\n|---|---|---|---|---|")
    for pixel_format in ("RGBa8", "Mono8"):
        for label, work_s in (("keeps up", 0.0), ("40 ms per frame", 0.04)):
            fps, delivered, dropped = stream(viky(pixel_format), seconds, work_s)
            print(f"| {pixel_format} | {label} | {fps:.1f} | {delivered} | {dropped} |")


def plain_harvesters_cycles(cycles: int) -> float:
    from harvesters.core import Harvester

    before = rss_mb()
    for _ in range(cycles):
        harvester = Harvester()
        harvester.add_file(str(viky_cti()))
        harvester.update()
        acquirer = harvester.create(0)
        acquirer.start()
        buffer = acquirer.try_fetch(timeout=1.0)
        if buffer is not None:
            buffer.queue()
        acquirer.stop()
        acquirer.destroy()
        harvester.reset()
    gc.collect()
    return rss_mb() - before


def hygiene(cycles: int) -> None:
    source = GenICamSource(viky("Mono8"))
    for _ in range(5):
        source.start()
        while source.read(1.0) is None:
            pass
        source.stop()
    gc.collect()
    before, threads, began = rss_mb(), threading.active_count(), time.monotonic()
    for _ in range(cycles):
        source.start()
        while source.read(1.0) is None:
            pass
        source.stop()
    gc.collect()
    ours, per_cycle = rss_mb() - before, (time.monotonic() - began) / cycles * 1000
    leaked = plain_harvesters_cycles(cycles)
    print(f"\n### {cycles} start/stop cycles (start, first frame, stop)\n\n| how | RSS growth | per cycle |\n|---|---|---|")
    print(f"| GenICamSource | {ours:+.1f} MB (threads {threads} → {threading.active_count()}) | {per_cycle:.0f} ms |")
    print(f"| plain Harvesters (destroy + reset) | {leaked:+.1f} MB | |")


def spin(seconds: float) -> int:
    count, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        count += 1
    return count


def spin_beside(grab: Callable[[], object], seconds: float) -> int:
    """`spin` while another thread calls `grab` over and over."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            grab()

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        return spin(seconds)
    finally:
        stop.set()
        thread.join()


def gil(seconds: float) -> None:
    from harvesters.core import Harvester

    alone = spin(seconds)
    source = GenICamSource(viky("Mono8", rate=100.0))
    source.start()
    with_source = spin_beside(lambda: source.read(0.1), seconds)
    source.stop()

    harvester = Harvester()
    harvester.add_file(str(viky_cti()))
    harvester.update()
    acquirer = harvester.create(0)
    acquirer.remote_device.node_map.AcquisitionFrameRate.value = 100.0
    acquirer.start()

    def fetch() -> None:
        buffer = acquirer.try_fetch(timeout=0.1)
        if buffer is not None:
            buffer.queue()

    with_blocking = spin_beside(fetch, seconds)
    acquirer.stop()
    acquirer.destroy()
    harvester.reset()
    print("\n### A pure-Python thread's throughput while a 100 fps camera streams\n\n| grabbing | relative throughput |\n|---|---|")
    print(f"| GenICamSource (polling, GIL released) | {with_source / alone:.2f} |")
    print(f"| Harvesters try_fetch(timeout=0.1) | {with_blocking / alone:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="Seconds per streaming measurement")
    parser.add_argument("--cycles", type=int, default=100, help="Start/stop cycles")
    parser.add_argument("--repeats", type=int, default=20, help="Conversions per format")
    args = parser.parse_args()
    conversions(args.repeats)
    rates(args.seconds)
    hygiene(args.cycles)
    gil(args.seconds)


if __name__ == "__main__":
    main()
