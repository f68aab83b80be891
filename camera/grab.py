"""Save frames from any source as PNG files (collecting training images from the line)."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
from tqdm import tqdm

from gaikan.camera.frame import Frame, PixelFormat
from gaikan.camera.source import CameraFault, FrameSource, FramesLost


def write_png(frame: Frame, path: Path) -> Path:
    """Write the frame losslessly; RGB frames are stored as colour PNGs, Mono8 as grey."""
    pixels = cv2.cvtColor(frame.pixels, cv2.COLOR_RGB2BGR) if frame.pixel_format is PixelFormat.RGB8 else frame.pixels
    if not cv2.imwrite(str(path), pixels):
        raise OSError(f"cannot write {path}")
    return path


def grab_frames(
    source: FrameSource, count: int, out_dir: Path, *, timeout_s: float = 5.0, progress: bool = True
) -> list[Path]:
    """Start `source`, save its next `count` frames to `out_dir` as `<camera>_<time>_<n>.png`,
    stop it. A finite source may end early; a frame the source reports lost is skipped; a camera
    fault or `timeout_s` without a frame raises CameraFault."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    saved: list[Path] = []
    source.start()
    try:
        with tqdm(total=count, unit="frame", disable=not progress) as bar:
            while len(saved) < count:
                try:
                    frame = source.read(timeout_s)
                except FramesLost:
                    continue
                except EOFError:
                    break
                if frame is None:
                    raise CameraFault(f"camera {source.camera_id}: no frame within {timeout_s:g} s")
                saved.append(write_png(frame, out_dir / f"{frame.camera_id}_{stamp}_{len(saved):05d}.png"))
                bar.update()
    finally:
        source.stop()
    return saved
