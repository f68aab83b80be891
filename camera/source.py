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


@dataclass(slots=True)
class CameraStats:
    """Counters a source keeps; all monotonic for the life of the source."""

    frames: int = 0
    timeouts: int = 0
    incomplete: int = 0
    reconnects: int = 0
    faults: int = 0
    last_error: str | None = None


@runtime_checkable
class FrameSource(Protocol):
    """A camera or a stand-in for one.

    `read` waits at most `timeout` seconds and returns the next frame, or None when no frame
    arrived in time. It raises `CameraFault` when the device is lost (after which `state` is
    FAULTED and a later `read` attempts to reconnect), and `EOFError` once a finite source is
    exhausted. Implementations must never block longer than `timeout` in `read`.
    """

    camera_id: str

    @property
    def state(self) -> CameraState: ...

    @property
    def stats(self) -> CameraStats: ...

    def start(self) -> None: ...

    def read(self, timeout: float) -> Frame | None: ...

    def stop(self) -> None: ...
