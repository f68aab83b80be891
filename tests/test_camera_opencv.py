"""OpenCV sources: a video file, and a network stream served over HTTP from this test."""

from __future__ import annotations

import functools
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from gaikan.camera.config import OpenCVConfig, parse_camera_config
from gaikan.camera.factory import open_source
from gaikan.camera.frame import Frame, PixelFormat
from gaikan.camera.source import CameraFault, CameraState

FRAMES = 30


def write_video(path: Path, count: int = FRAMES) -> Path:
    """`count` 48×64 frames; frame i is uniformly grey at level 8·i."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    for i in range(count):
        writer.write(np.full((48, 64, 3), 8 * i, np.uint8))
    writer.release()
    return path


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return write_video(tmp_path / "line.avi")


@pytest.fixture
def http_url(video: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(video.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/{video.name}"
    server.shutdown()
    server.server_close()


def test_a_video_file_delivers_every_frame_in_order_then_ends(video: Path) -> None:
    source = open_source(parse_camera_config({"kind": "opencv", "file": str(video), "camera_id": "file"}))
    source.start()
    frames = [source.read(1.0) for _ in range(FRAMES)]
    with pytest.raises(EOFError):
        source.read(1.0)
    source.stop()
    assert [f.frame_number for f in frames] == list(range(FRAMES))
    assert [int(f.pixels.mean()) for f in frames] == pytest.approx([8 * i for i in range(FRAMES)], abs=4)
    assert all(f.camera_id == "file" and f.pixel_format is PixelFormat.RGB8 for f in frames)


def _read_until_fault(source: object, within_s: float) -> list[Frame]:
    frames = []
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            frame = source.read(0.2)  # type: ignore[attr-defined]
        except CameraFault:
            return frames
        if frame is not None:
            frames.append(frame)
    raise AssertionError("no fault")


def test_a_stream_keeps_the_newest_frames_and_reconnects_when_it_ends(http_url: str) -> None:
    config = OpenCVConfig(url=http_url, reconnect_initial_s=0.5)
    source = open_source(config)
    source.start()
    try:
        assert source.state is CameraState.RUNNING
        time.sleep(0.3)  # the reader lags while the whole stream arrives, then the stream ends
        before_fault = _read_until_fault(source, within_s=5.0)
        assert before_fault, "the newest frames are delivered before the fault"
        numbers = [f.frame_number for f in before_fault]
        assert numbers == list(range(FRAMES - len(numbers) + 1, FRAMES + 1))  # the newest, in order
        assert source.stats.dropped == FRAMES - len(numbers)
        assert before_fault[-1].pixels.shape == (48, 64, 3)
        assert int(before_fault[-1].pixels.mean()) == pytest.approx(8 * (FRAMES - 1), abs=4)
        assert source.state is CameraState.FAULTED
        deadline = time.monotonic() + 5.0
        frame = None
        while frame is None and time.monotonic() < deadline:
            frame = source.read(0.2)
        assert frame is not None and frame.frame_number > FRAMES
        assert source.stats.reconnects >= 1 and source.stats.faults >= 1
    finally:
        source.stop()
    assert source.state is CameraState.STOPPED


def test_a_stream_that_cannot_be_opened_faults_and_names_it() -> None:
    source = open_source(OpenCVConfig(url="http://127.0.0.1:9/missing.avi", open_timeout_s=1.0))
    source.start()
    try:
        assert source.state is CameraState.FAULTED
        with pytest.raises(CameraFault, match="cannot open stream http://127.0.0.1:9/missing.avi"):
            source.read(0.1)
    finally:
        source.stop()


def test_exactly_one_target_is_required() -> None:
    with pytest.raises(ValidationError, match="exactly one of device, url, file"):
        OpenCVConfig()
    with pytest.raises(ValidationError, match="got device, url"):
        OpenCVConfig(device=0, url="rtsp://camera/stream")
