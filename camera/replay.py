"""Replay source: a folder of images or a video file, played as if it were a camera."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from gaikan.camera.frame import Frame, PixelFormat
from gaikan.camera.pixel_formats import from_opencv_image
from gaikan.camera.source import CameraState, CameraStats, FramesLost

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})


def list_images(folder: Path) -> list[Path]:
    """Image files directly in `folder` (and its sub-folders), in a stable name order."""
    files = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


class ReplaySource:
    """Plays a folder of images (sorted by path) or a video file.

    `fps` paces delivery (frames are released no faster than that); `fps=None` delivers
    as fast as the reader asks. With `loop`, the sequence restarts at the end; without,
    `read` raises EOFError once everything was delivered. Frame numbers keep increasing
    across loops. The file a frame came from is in `frame.metadata["source"]`; an image that
    cannot be read is reported as `FramesLost` and skipped.

    A looping folder keeps its decoded frames (read-only, up to `cache_mb` MiB; the rest are
    decoded each time they come round), so a replayed line costs what a real camera's frames
    cost the line (none of them is decoded), not a PNG decode per frame.
    """

    def __init__(
        self,
        path: Path,
        *,
        camera_id: str = "replay",
        fps: float | None = 10.0,
        loop: bool = True,
        cache_mb: float = 256.0,
    ) -> None:
        if fps is not None and fps <= 0:
            raise ValueError("fps must be positive (or None for as fast as possible)")
        self.camera_id = camera_id
        self._path = Path(path)
        self._fps = fps
        self._loop = loop
        self._stats = CameraStats()
        self._state = CameraState.STOPPED
        self._files: list[Path] = []
        self._video: cv2.VideoCapture | None = None
        self._index = 0
        self._next_due = 0.0
        self._cache_bytes = int(cache_mb * 2**20) if loop else 0
        self._decoded: dict[int, tuple[np.ndarray, PixelFormat]] = {}  # file index -> (pixels, pixel format)
        self._cached_bytes = 0

    @property
    def state(self) -> CameraState:
        return self._state

    @property
    def stats(self) -> CameraStats:
        return self._stats

    def start(self) -> None:
        self.stop()
        if self._path.is_dir():
            self._files = list_images(self._path)
            if not self._files:
                raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {self._path}")
        elif self._path.is_file():
            self._video = self._open_video()
        else:
            raise FileNotFoundError(f"replay path does not exist: {self._path}")
        self._index = 0
        self._decoded, self._cached_bytes = {}, 0  # the folder may have changed since
        self._next_due = time.monotonic()
        self._state = CameraState.RUNNING

    def _open_video(self) -> cv2.VideoCapture:
        capture = cv2.VideoCapture(str(self._path))
        if not capture.isOpened():
            raise ValueError(f"cannot open video {self._path}")
        return capture

    def stop(self) -> None:
        if self._video is not None:
            self._video.release()
            self._video = None
        if self._state is not CameraState.ENDED:
            self._state = CameraState.STOPPED

    def read(self, timeout: float) -> Frame | None:
        if self._state is CameraState.ENDED:
            raise EOFError(f"replay of {self._path} has ended")
        if self._state is not CameraState.RUNNING:
            raise RuntimeError("replay source is not started")
        if self._fps is not None:
            wait = self._next_due - time.monotonic()
            if wait > timeout:
                time.sleep(max(timeout, 0.0))
                self._stats.timeouts += 1
                return None
            if wait > 0:
                time.sleep(wait)
            # Pace from the schedule, not from now, so the average rate holds; but never
            # build up a burst after a stall.
            self._next_due = max(self._next_due + 1.0 / self._fps, time.monotonic() - 1.0 / self._fps)
        pixels, pixel_format, source_name = self._next_pixels()
        now_wall, now_mono = time.time(), time.monotonic()
        frame = Frame(
            pixels=pixels,
            frame_number=self._stats.frames,
            camera_id=self.camera_id,
            pixel_format=pixel_format,
            captured_at=now_wall,
            captured_monotonic=now_mono,
            metadata={"source": source_name},
        )
        self._stats.frames += 1
        return frame

    def _next_pixels(self) -> tuple[np.ndarray, PixelFormat, str]:
        """The next frame's pixels, pixel format and source name (a folder's from the cache when kept)."""
        if self._video is not None:
            image, source_name = self._next_video_frame()
            return (*from_opencv_image(image), source_name)
        if self._index >= len(self._files):
            if not self._loop:
                self._end()
            self._index = 0
        index = self._index
        self._index += 1
        path = self._files[index]
        cached = self._decoded.get(index)
        if cached is None:
            cached = self._decode(path)
            if cached[0].nbytes + self._cached_bytes <= self._cache_bytes:
                pixels = np.ascontiguousarray(cached[0])
                pixels.flags.writeable = False  # shared by every loop's frame: nobody may draw on it
                cached = self._decoded[index] = (pixels, cached[1])
                self._cached_bytes += pixels.nbytes
        return (*cached, path.relative_to(self._path).as_posix())

    def _next_video_frame(self) -> tuple[np.ndarray, str]:
        ok, image = self._video.read()
        if not ok:
            if not self._loop:
                self._end()
            self._video.release()
            self._video = self._open_video()
            ok, image = self._video.read()
            if not ok:
                raise ValueError(f"video {self._path} has no readable frames")
        return image, f"{self._path.name}#{int(self._video.get(cv2.CAP_PROP_POS_FRAMES)) - 1}"

    def _decode(self, path: Path) -> tuple[np.ndarray, PixelFormat]:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:  # one bad file is one lost frame, not the end of the replay
            self._stats.lost += 1
            raise FramesLost(1, f"cannot read image {path}")
        return from_opencv_image(image)

    def _end(self) -> None:
        self._state = CameraState.ENDED
        raise EOFError(f"replay of {self._path} has ended")
