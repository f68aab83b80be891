"""Replay: a folder of images or a video as a camera — order, pacing, looping, end."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from gaikan.camera.config import ReplayConfig
from gaikan.camera.factory import open_source
from gaikan.camera.frame import PixelFormat
from gaikan.camera.replay import ReplaySource
from gaikan.camera.source import CameraState, FramesLost

LEVELS = (10, 120, 230)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three 24×32 colour images whose red channel tells them apart: a.png, b.png, c/d.png."""
    (tmp_path / "c").mkdir()
    for name, level in zip(("a.png", "b.png", "c/d.png"), LEVELS, strict=True):
        bgr = np.zeros((24, 32, 3), np.uint8)
        bgr[:, :, 2] = level
        cv2.imwrite(str(tmp_path / name), bgr)
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def write_video(path: Path, levels: list[int]) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (32, 24))
    for level in levels:
        writer.write(np.full((24, 32, 3), level, np.uint8))
    writer.release()
    return path


def test_a_folder_plays_in_name_order_and_loops_with_increasing_numbers(folder: Path) -> None:
    source = open_source(ReplayConfig(path=folder, fps=None, loop=True))
    source.start()
    frames = [source.read(1.0) for _ in range(7)]
    source.stop()
    assert [f.metadata["source"] for f in frames] == ["a.png", "b.png", "c/d.png"] * 2 + ["a.png"]
    assert [f.frame_number for f in frames] == list(range(7))
    assert all(f.pixel_format is PixelFormat.RGB8 and f.pixels.shape == (24, 32, 3) for f in frames)
    assert [int(f.pixels[0, 0, 0]) for f in frames[:3]] == list(LEVELS)  # red first


def test_a_looping_folder_is_decoded_once_within_its_cache_and_its_frames_are_read_only(folder: Path) -> None:
    """A replayed line costs the line what a real camera's frames cost (no decode per frame), and
    the memory it keeps is bounded by `cache_mb`: past the budget, frames are decoded each time."""
    cached = open_source(ReplayConfig(path=folder, fps=None, loop=True))
    uncached = open_source(ReplayConfig(path=folder, fps=None, loop=True, cache_mb=0))
    cached.start()
    uncached.start()
    first = [cached.read(1.0) for _ in range(3)] + [uncached.read(1.0) for _ in range(3)]
    for path in folder.rglob("*.png"):  # the files change on disk: only frames not kept show it
        cv2.imwrite(str(path), np.zeros((24, 32, 3), np.uint8))
    again_cached = [cached.read(1.0) for _ in range(3)]
    again_uncached = [uncached.read(1.0) for _ in range(3)]
    assert [int(f.pixels[0, 0, 0]) for f in again_cached] == list(LEVELS)
    assert [int(f.pixels[0, 0, 0]) for f in again_uncached] == [0, 0, 0]
    assert [f.metadata["source"] for f in again_cached] == [f.metadata["source"] for f in first[:3]]
    assert all(not f.pixels.flags.writeable for f in first[:3] + again_cached)
    with pytest.raises(ValueError):
        again_cached[0].pixels[0, 0, 0] = 1  # a kept frame cannot be drawn on by a later stage
    cached.start()  # a restart reads the folder afresh
    assert int(cached.read(1.0).pixels[0, 0, 0]) == 0


def test_without_loop_it_stops_at_the_end(folder: Path) -> None:
    source = ReplaySource(folder, fps=None, loop=False)
    source.start()
    assert [source.read(1.0) is not None for _ in range(3)] == [True, True, True]
    for _ in range(2):
        with pytest.raises(EOFError):
            source.read(1.0)
    assert source.state is CameraState.ENDED


def test_fps_paces_delivery(folder: Path) -> None:
    source = ReplaySource(folder, fps=20.0)
    source.start()
    frames = [source.read(1.0) for _ in range(6)]
    span = frames[-1].captured_monotonic - frames[0].captured_monotonic
    assert 0.22 <= span <= 0.4  # 5 intervals of 50 ms


def test_a_read_shorter_than_the_frame_interval_times_out(folder: Path) -> None:
    source = ReplaySource(folder, fps=4.0)
    source.start()
    first = source.read(1.0)
    began = time.monotonic()
    assert source.read(0.05) is None
    assert time.monotonic() - began < 0.2
    assert source.stats.timeouts == 1
    second = source.read(1.0)
    assert 0.2 <= second.captured_monotonic - first.captured_monotonic <= 0.35


def test_a_video_plays_every_frame_and_loops(tmp_path: Path) -> None:
    video = write_video(tmp_path / "line.avi", [0, 80, 160, 240])
    source = ReplaySource(video, fps=None, loop=True)
    source.start()
    frames = [source.read(1.0) for _ in range(6)]
    source.stop()
    assert [f.metadata["source"] for f in frames] == [f"line.avi#{i}" for i in (0, 1, 2, 3, 0, 1)]
    levels = [int(f.pixels.mean()) for f in frames]
    assert levels == pytest.approx([0, 80, 160, 240, 0, 80], abs=4)  # MJPG is lossy


def test_an_unreadable_image_is_a_lost_frame_and_replay_goes_on(folder: Path) -> None:
    (folder / "b.png").write_bytes(b"not a png")
    source = ReplaySource(folder, fps=None, loop=False)
    source.start()
    assert source.read(1.0).metadata["source"] == "a.png"
    with pytest.raises(FramesLost, match="b.png"):
        source.read(1.0)
    assert source.read(1.0).metadata["source"] == "c/d.png"
    assert source.stats.lost == 1 and source.state is CameraState.RUNNING


def test_a_missing_or_empty_path_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ReplaySource(tmp_path / "nowhere").start()
    with pytest.raises(FileNotFoundError, match="no images"):
        ReplaySource(tmp_path).start()
