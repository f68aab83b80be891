"""A live source: a grab thread that copies images out of the device as they arrive, detects a
lost device and reconnects with backoff, and hands frames to the reader through a bounded queue.

Device specifics live behind `Connection` (one open, streaming connection to one device);
`StreamingSource` is the `FrameSource` every live backend (GenICam, OpenCV cameras and streams)
shares.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from gaikan.camera.frame import Frame
from gaikan.camera.frame_queue import FrameQueue, Overflow
from gaikan.camera.pixel_formats import convert_buffer
from gaikan.camera.source import CameraConfigError, CameraFault, CameraState, CameraStats, FramesLost

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RawImage:
    """One image as the device delivered it, copied into memory the source owns."""

    data: np.ndarray  # the image bytes (uint8), from the first pixel on
    width: int
    height: int
    pixel_format: str  # the camera's name for it (PFNC), see pixel_formats.CAMERA_PIXEL_FORMATS
    captured_at: float
    captured_monotonic: float
    padding_x: int = 0
    device_frame_id: int | None = None  # the transport's frame/block id, to detect lost frames
    metadata: dict[str, str] = field(default_factory=dict)


class Connection(Protocol):
    """An open, streaming connection to one device. Only the grab thread calls `grab` and
    `probe`; `close` is called exactly once and must not raise."""

    def grab(self, timeout: float) -> RawImage | None:
        """The next image within `timeout` seconds, or None; raises when the device is lost."""
        ...

    def probe(self) -> None:
        """Raise if the device no longer answers (called while no frames arrive)."""
        ...

    def close(self) -> None: ...


# Opens a connection: raises CameraConfigError for a configuration that cannot work, anything
# else when the device cannot be reached (retried with backoff). The callback counts buffers
# the transport delivered incomplete.
Connect = Callable[[Callable[[], None]], Connection]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between reconnection attempts: `initial_s`, doubling up to `max_s`."""

    initial_s: float = 0.5
    max_s: float = 10.0

    def next(self, current: float | None) -> float:
        return self.initial_s if current is None else min(current * 2.0, self.max_s)


class StreamingSource:
    """A `FrameSource` over a `Connection`, robust under faults.

    The grab thread copies every image out of the driver at once (driver buffers go straight
    back to the device, so the device never runs out of them) and queues it; the reader converts
    the frames it takes (`read`). When the reader lags, the queue's `overflow` policy decides:
    DROP_OLDEST (free-run; counted in `stats.dropped`) or REPORT_LOST (triggered: every frame is a
    part; a refused one is counted in `stats.lost` and reported by `read` as `FramesLost`).

    A device is considered lost when the connection raises, when `probe` fails after
    `probe_interval_s` without frames, or (free-run) when no frame arrived for `no_frame_fault_s`.
    The connection is then closed, `read` raises `CameraFault` once (after the frames captured
    before the fault) and the grab thread reconnects with backoff; later reads return None until
    frames flow again.
    """

    def __init__(
        self,
        camera_id: str,
        connect: Connect,
        *,
        label: str,
        queue_frames: int = 2,
        overflow: Overflow = Overflow.DROP_OLDEST,
        no_frame_fault_s: float | None = 5.0,
        probe_interval_s: float = 1.0,
        backoff: Backoff = Backoff(),
        poll_s: float = 0.05,
    ) -> None:
        self.camera_id = camera_id
        self.label = label
        self._connect = connect
        self._queue: FrameQueue[tuple[int, RawImage]] = FrameQueue(queue_frames, overflow)
        self._no_frame_fault_s = no_frame_fault_s
        self._probe_interval_s = probe_interval_s
        self._backoff = backoff
        self._poll_s = poll_s
        self._stats = CameraStats()
        self._stats_lock = threading.Lock()
        self._state = CameraState.STOPPED
        self._connection: Connection | None = None
        self._connection_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stuck: threading.Thread | None = None
        self._stop = threading.Event()
        self._sequence = 0  # frame numbers: one per image grabbed, never reset
        self._retry_delay: float | None = None
        self._next_attempt = 0.0

    # -- FrameSource ---------------------------------------------------------------------------
    @property
    def state(self) -> CameraState:
        return self._state

    @property
    def stats(self) -> CameraStats:
        return self._stats

    def start(self) -> None:
        if self._thread is not None:
            return
        if self._stuck is not None:  # a grab thread that did not stop still owns the device
            self._stuck.join(1.0)
            if self._stuck.is_alive():
                raise CameraFault(f"{self.label}: the previous grab thread is still blocked in the driver")
            self._stuck = None
        self._stop.clear()
        self._queue.clear()
        self._retry_delay = None
        self._state = CameraState.CONNECTING
        try:
            connection = self._connect(self._count_incomplete)
        except CameraConfigError:
            self._state = CameraState.STOPPED
            raise
        except Exception as error:  # the device cannot be reached now: keep trying
            self._on_fault(error)
        else:
            self._connection = connection
            self._state = CameraState.RUNNING
        self._thread = threading.Thread(target=self._run, name=f"gaikan-grab-{self.camera_id}", daemon=True)
        self._thread.start()

    def read(self, timeout: float) -> Frame | None:
        if self._thread is None:
            raise RuntimeError(f"camera {self.camera_id} is not started")
        item = self._queue.get(timeout)
        if item is None:
            self._count("timeouts")
            return None
        number, raw = item
        try:
            pixels, pixel_format = convert_buffer(raw.data, raw.width, raw.height, raw.pixel_format, raw.padding_x)
        except ValueError as error:
            self._count("lost")
            raise FramesLost(1, f"{self.label}: frame {number} could not be converted: {error}") from error
        frame = Frame(
            pixels=pixels,
            frame_number=number,
            camera_id=self.camera_id,
            pixel_format=pixel_format,
            captured_at=raw.captured_at,
            captured_monotonic=raw.captured_monotonic,
            metadata=raw.metadata,
        )
        self._count("frames")
        return frame

    def stop(self, join_timeout_s: float = 5.0) -> None:
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(join_timeout_s)
            if thread.is_alive():
                log.warning("%s: grab thread did not stop within %.1f s; it closes the device when it does",
                            self.label, join_timeout_s)
                self._stuck = thread
        else:
            self._close_connection()
        self._queue.clear()
        self._state = CameraState.STOPPED

    # -- for subclasses ------------------------------------------------------------------------
    def _with_connection(self, action: Callable[[Any], T]) -> T:
        """Run `action` on the live connection, never concurrently with its replacement."""
        with self._connection_lock:
            if self._connection is None or self._state is not CameraState.RUNNING:
                raise CameraFault(f"{self.label} is {self._state}: {self._stats.last_error or 'not connected'}")
            return action(self._connection)

    # -- grab thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        last_frame = last_probe = time.monotonic()
        previous_id: int | None = None
        try:
            while not self._stop.is_set():
                connection = self._connection
                if connection is None:
                    if self._reconnect():
                        last_frame = last_probe = time.monotonic()
                        previous_id = None
                    continue
                try:
                    raw = connection.grab(self._poll_s)
                    now = time.monotonic()
                    if raw is None:
                        silence = now - last_frame
                        if self._no_frame_fault_s is not None and silence > self._no_frame_fault_s:
                            raise CameraFault(f"no frame for {silence:.1f} s")
                        if silence > self._probe_interval_s and now - last_probe > self._probe_interval_s:
                            last_probe = now
                            connection.probe()
                        continue
                except Exception as error:
                    self._on_fault(error)
                    continue
                last_frame = now
                previous_id = self._check_gap(previous_id, raw.device_frame_id)
                self._sequence += 1
                if self._queue.put((self._sequence, raw)):
                    self._count("dropped" if self._queue.overflow is Overflow.DROP_OLDEST else "lost")
        finally:
            self._close_connection()

    def _check_gap(self, previous: int | None, current: int | None) -> int | None:
        """Count frames the transport lost (a jump in the device's frame ids; resets and wraps ignored)."""
        if current is None:
            return previous
        if previous is not None and current > previous + 1:
            missing = current - previous - 1
            self._count("lost", missing)
            if self._queue.overflow is Overflow.REPORT_LOST:
                self._queue.report_lost(missing, f"device frame ids jumped from {previous} to {current}")
        return current

    def _count_incomplete(self) -> None:
        self._count("incomplete")
        if self._queue.overflow is Overflow.REPORT_LOST:
            self._count("lost")
            self._queue.report_lost(1, "the transport delivered an incomplete image")

    def _count(self, name: str, n: int = 1) -> None:
        with self._stats_lock:
            setattr(self._stats, name, getattr(self._stats, name) + n)

    def _on_fault(self, error: Exception) -> None:
        message = f"{self.label}: {error}" if str(error) else f"{self.label}: {type(error).__name__}"
        log.warning("camera fault: %s", message)
        self._close_connection()
        with self._stats_lock:
            self._stats.faults += 1
            self._stats.last_error = message
        self._state = CameraState.FAULTED
        self._queue.fail(CameraFault(message))
        self._retry_delay = self._backoff.next(self._retry_delay)
        self._next_attempt = time.monotonic() + self._retry_delay

    def _reconnect(self) -> bool:
        wait = self._next_attempt - time.monotonic()
        if wait > 0:
            self._stop.wait(min(wait, 0.25))
            return False
        try:
            connection = self._connect(self._count_incomplete)
        except Exception as error:
            with self._stats_lock:
                self._stats.last_error = f"{self.label}: reconnect failed: {error}"
            self._retry_delay = self._backoff.next(self._retry_delay)
            self._next_attempt = time.monotonic() + self._retry_delay
            log.info("%s: reconnect failed (%s); next attempt in %.1f s", self.label, error, self._retry_delay)
            return False
        with self._connection_lock:
            self._connection = connection
        self._retry_delay = None
        self._count("reconnects")
        self._state = CameraState.RUNNING
        log.info("%s: reconnected", self.label)
        return True

    def _close_connection(self) -> None:
        with self._connection_lock:
            connection, self._connection = self._connection, None
            if connection is not None:
                try:
                    connection.close()
                except Exception:  # closing a lost device may fail; nothing is left to release
                    log.debug("%s: close failed", self.label, exc_info=True)
