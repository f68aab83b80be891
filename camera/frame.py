"""The frame: pixels owned by the frame plus where and when they were captured."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


class PixelFormat(enum.StrEnum):
    """Pixel layout of `Frame.pixels` after a source has converted the camera buffer.

    Sources hand out frames in one of these two display formats; raw sensor formats
    (Bayer, packed Mono12, RGBa8 …) are converted inside the source.
    """

    MONO8 = "Mono8"  # (H, W) uint8
    RGB8 = "RGB8"  # (H, W, 3) uint8, red first


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured image.

    `pixels` is a C-contiguous array the frame owns (never a view into a driver buffer).
    `captured_at` is wall-clock time (seconds since the epoch) when the image was taken, and
    `captured_monotonic` the same instant on the monotonic clock, used for deadlines.
    """

    pixels: np.ndarray
    frame_number: int
    camera_id: str
    pixel_format: PixelFormat
    captured_at: float
    captured_monotonic: float
    metadata: dict[str, str] = field(default_factory=dict)
    run_id: str = ""  # the service run that acquired it (frame numbers restart with each run)

    def __post_init__(self) -> None:
        expected_ndim = 2 if self.pixel_format is PixelFormat.MONO8 else 3
        if self.pixels.ndim != expected_ndim or self.pixels.dtype != np.uint8:
            raise ValueError(
                f"{self.pixel_format} frame needs a {expected_ndim}-D uint8 array, "
                f"got shape {self.pixels.shape} dtype {self.pixels.dtype}"
            )
        if self.pixel_format is PixelFormat.RGB8 and self.pixels.shape[2] != 3:
            raise ValueError(f"RGB8 frame needs 3 channels, got shape {self.pixels.shape}")

    @property
    def frame_id(self) -> str:
        """Identifier of this frame across the system: `<camera_id>:<frame_number>:<run_id>` (unique
        across restarts), or `<camera_id>:<frame_number>` before a run id is attached."""
        if self.run_id:
            return f"{self.camera_id}:{self.frame_number}:{self.run_id}"
        return f"{self.camera_id}:{self.frame_number}"

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])
