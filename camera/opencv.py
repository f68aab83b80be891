"""Cameras OpenCV can open: a local device (UVC/V4L2 index), a network stream (RTSP/HTTP URL),
or a video file.

Devices and streams are live: a grab thread reads them continuously, so a lagging pipeline sees
the newest frame (the oldest is dropped and counted) instead of a stream that falls further and
further behind; a stream that breaks or ends is reconnected with backoff. A video file is read
in order, every frame, paced at `fps` when set, and ends with EOFError.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import cv2
import numpy as np

from gaikan.camera.config import OpenCVConfig
from gaikan.camera.replay import ReplaySource
from gaikan.camera.source import CameraFault, FrameSource
from gaikan.camera.streaming import Backoff, RawImage, StreamingSource

_FORMAT_BY_CHANNELS = {1: "Mono8", 3: "BGR8", 4: "BGRa8"}


def describe_target(config: OpenCVConfig) -> str:
    if config.device is not None:
        return f"video device {config.device}"
    return f"stream {config.url}"


def raw_from_opencv(image: np.ndarray, captured_at: float, captured_monotonic: float, source: str) -> RawImage:
    """An image as OpenCV returns it (grey, BGR or BGRA; 8 or 16 bit) as a RawImage."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    if image.dtype != np.uint8:
        raise ValueError(f"unsupported image dtype {image.dtype}")
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels not in _FORMAT_BY_CHANNELS:
        raise ValueError(f"unsupported image shape {image.shape}")
    return RawImage(
        data=np.ascontiguousarray(image).reshape(-1),
        width=image.shape[1],
        height=image.shape[0],
        pixel_format=_FORMAT_BY_CHANNELS[channels],
        captured_at=captured_at,
        captured_monotonic=captured_monotonic,
        metadata={"source": source},
    )


class CaptureConnection:
    """One open `cv2.VideoCapture` on a device or stream."""

    def __init__(self, config: OpenCVConfig) -> None:
        self.label = describe_target(config)
        if config.url is not None:
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                round(config.open_timeout_s * 1000),
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                round(config.read_timeout_s * 1000),
            ]
            self._capture = cv2.VideoCapture(config.url, cv2.CAP_ANY, params)
        else:
            self._capture = cv2.VideoCapture(config.device)
        if not self._capture.isOpened():
            self._capture.release()
            raise CameraFault(f"cannot open {self.label}")
        for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, config.width), (cv2.CAP_PROP_FRAME_HEIGHT, config.height),
                            (cv2.CAP_PROP_FPS, config.fps)):
            if value is not None:
                self._capture.set(prop, float(value))

    def grab(self, timeout: float) -> RawImage | None:
        """The next frame; blocks for it (up to the stream's read timeout), as live captures do."""
        ok, image = self._capture.read()
        captured_at, captured_monotonic = time.time(), time.monotonic()
        if not ok or image is None:
            raise CameraFault(f"{self.label}: no frame (stream ended or device lost)")
        return raw_from_opencv(image, captured_at, captured_monotonic, self.label)

    def probe(self) -> None:
        if not self._capture.isOpened():
            raise CameraFault(f"{self.label} closed")

    def close(self) -> None:
        self._capture.release()


def open_opencv_source(config: OpenCVConfig) -> FrameSource:
    """The source for an `OpenCVConfig`: a live StreamingSource, or a ReplaySource playing the file once."""
    if config.file is not None:
        return ReplaySource(config.file, camera_id=config.camera_id, fps=config.fps, loop=False)
    connect: Callable[[Callable[[], None]], CaptureConnection] = lambda _on_incomplete: CaptureConnection(config)
    return StreamingSource(
        config.camera_id,
        connect,
        label=f"camera {config.camera_id} ({describe_target(config)})",
        queue_frames=config.queue_frames or 2,
        no_frame_fault_s=config.no_frame_fault_s,
        backoff=Backoff(config.reconnect_initial_s, config.reconnect_max_s),
    )
