"""The `FrameSource` protocol every acquisition backend implements."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from gaikan.camera.frame import Frame


class CameraState(enum.StrEnum):
    STOPPED = "stopped"
    CONNECTING = "connecting"
    RUNNING = "running"
    FAULTED = "faulted"
    ENDED = "ended"  # a finite source (replay without loop) has delivered everything


class CameraFault(RuntimeError):
    """The device is gone or misbehaving; the source will try to recover on the next read."""


class FramesLost(CameraFault):
    """Frames the camera captured could not be delivered (triggered mode: parts that cannot be
    inspected). The device itself is fine: `state` stays RUNNING and the next `read` continues.
    `count` is how many frames were lost since the last report."""

    def __init__(self, count: int, message: str) -> None:
        super().__init__(message)
        self.count = count


class CameraConfigError(ValueError):
    """The camera configuration cannot work: a node the device lacks, a value it refuses, a
    missing producer file. Retrying does not help; the message names the field or node."""


@dataclass(slots=True)
class CameraStats:
    """Counters a source keeps; all monotonic for the life of the source.

    `frames`: delivered by `read`. `timeouts`: reads that returned None. `incomplete`: buffers
    the transport delivered incomplete (skipped). `dropped`: frames discarded because the reader
    lagged (free-run: the oldest goes). `lost`: frames the camera captured that never reached
    the source's queue or were refused by it (device frame-id gaps, triggered-mode overflow).
    `reconnects`: successful reconnections after a fault. `faults`: faults detected.
    """

    frames: int = 0
    timeouts: int = 0
    incomplete: int = 0
    reconnects: int = 0
    faults: int = 0
    dropped: int = 0
    lost: int = 0
    last_error: str | None = None


@runtime_checkable
class FrameSource(Protocol):
    """A camera or a stand-in for one.

    `start` raises `CameraConfigError` (a ValueError) or another ValueError/OSError for a
    configuration that cannot work; a device that merely cannot be reached leaves the source
    FAULTED (the first `read` raises `CameraFault`) and recovery is attempted.
    `read` waits at most `timeout` seconds and returns the next frame, or None when no frame
    arrived in time. It raises `CameraFault` when the device is lost (after which `state` is
    FAULTED and the source reconnects, with backoff, while later reads return None), `FramesLost`
    (a CameraFault, state unchanged) when captured frames could not be delivered, and `EOFError`
    once a finite source is exhausted. Implementations must never block longer than `timeout`
    in `read`.
    """

    camera_id: str

    @property
    def state(self) -> CameraState: ...

    @property
    def stats(self) -> CameraStats: ...

    def start(self) -> None: ...

    def read(self, timeout: float) -> Frame | None: ...

    def stop(self) -> None: ...
