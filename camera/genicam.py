"""GenICam cameras (GigE Vision, USB3 Vision, …) as a `FrameSource`: one image acquirer per
connection (on a Harvester shared by the cameras of one producer), configured from `GenICamConfig`,
streaming through the shared grab thread of `StreamingSource`.

A blocking `try_fetch(timeout=t)` in Harvesters 1.4.3 waits inside GenTL while holding the GIL
(other Python threads ran ~35 % slower in a measurement); `GenICamConnection.grab` instead polls
the producer's event queue with a zero wait and sleeps between polls, which releases the GIL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from harvesters.core import Callback, Harvester, ImageAcquirer
from harvesters.util.pfnc import dict_by_ints

from gaikan.camera.config import GenICamConfig
from gaikan.camera.frame_queue import Overflow
from gaikan.camera.genicam_nodes import MAIN_NODES, NodeInfo, apply_nodes, describe_nodes, set_node
from gaikan.camera.gentl import (
    HARVESTERS,
    chunk_adapter_of,
    create_acquirer,
    optional_property,
    release_acquirer,
    resolve_producers,
    select_device,
    summaries,
)
from gaikan.camera.pixel_formats import canonical_format, image_bytes
from gaikan.camera.source import CameraConfigError, CameraFault
from gaikan.camera.streaming import Backoff, RawImage, StreamingSource

log = logging.getLogger(__name__)

TRIGGERED_QUEUE_FRAMES = 256
FREE_RUN_QUEUE_FRAMES = 2
_POLL_FETCH_S = 1e-4  # one look at the producer's event queue (the wait inside is 0 ms)
_POLL_SLEEP_S = 0.001  # between looks; the GIL is free meanwhile


def apply_trigger(node_map: Any, config: GenICamConfig, *, device: str) -> None:
    """Set the FrameStart trigger for the configured mode (continuous acquisition in all modes)."""
    if node_map.has_node("AcquisitionMode"):
        mode = node_map.get_node("AcquisitionMode")
        if mode.value != "Continuous" and "Continuous" in mode.symbolics:
            set_node(node_map, "AcquisitionMode", "Continuous", device=device)
    if not node_map.has_node("TriggerMode"):
        if config.trigger == "free_run":
            return
        raise CameraConfigError(
            f"{device} has no GenICam node 'TriggerMode' (needed for trigger={config.trigger!r}); it can only run free"
        )
    if node_map.has_node("TriggerSelector") and "FrameStart" in node_map.get_node("TriggerSelector").symbolics:
        set_node(node_map, "TriggerSelector", "FrameStart", device=device)
    if config.trigger == "free_run":
        set_node(node_map, "TriggerMode", "Off", device=device)
        return
    set_node(node_map, "TriggerMode", "On", device=device)
    if config.trigger == "software":
        set_node(node_map, "TriggerSource", "Software", device=device)
        if not node_map.has_node("TriggerSoftware"):
            raise CameraConfigError(f"{device} has no GenICam node 'TriggerSoftware' (needed for trigger='software')")
        return
    set_node(node_map, "TriggerSource", config.trigger_source, device=device)
    if config.trigger_activation is not None:
        set_node(node_map, "TriggerActivation", config.trigger_activation, device=device)


class _OnIncomplete(Callback):
    def __init__(self, count: Callable[[], None]) -> None:
        self._count = count

    def emit(self, context: object | None = None) -> None:
        self._count()


class GenICamConnection:
    """One acquirer, one configured and streaming device, on the Harvester its producers share in
    this process (`HARVESTERS`: several cameras of one producer). Built fresh on every
    (re)connection and released completely by `close` (the Harvester with its last user)."""

    def __init__(self, config: GenICamConfig, on_incomplete: Callable[[], None]) -> None:
        producers = resolve_producers(config.cti)
        self._harvester: Harvester | None = None
        self._acquirer: ImageAcquirer | None = None
        self._chunk_adapter: object | None = None
        self.label = f"camera {config.camera_id}"
        try:
            self._harvester = HARVESTERS.acquire(producers)
            device = select_device(
                summaries(self._harvester),
                serial_number=config.serial_number,
                user_id=config.user_id,
                model=config.model,
                device_id=config.device_id,
                index=config.index,
            )
            self.label = device.label
            self._acquirer = create_acquirer(self._harvester, device, config.num_buffers)
            self._chunk_adapter = chunk_adapter_of(self._acquirer)
            node_map = self._acquirer.remote_device.node_map
            apply_trigger(node_map, config, device=self.label)
            apply_nodes(node_map, config.nodes, device=self.label)
            if node_map.has_node("PixelFormat"):
                pixel_format = node_map.get_node("PixelFormat").value
                try:
                    canonical_format(pixel_format)
                except ValueError as error:
                    raise CameraConfigError(f"{self.label}: PixelFormat {error}") from None
            self._node_map = node_map
            self._software_trigger = config.trigger == "software"
            self._acquirer.add_callback(ImageAcquirer.Events.INCOMPLETE_BUFFER, _OnIncomplete(on_incomplete))
            self._on_incomplete = on_incomplete
            self._acquirer.start()
        except BaseException:
            self.close()
            raise

    def _valid_acquirer(self) -> ImageAcquirer:
        acquirer = self._acquirer
        if acquirer is None or not acquirer.is_valid():
            raise CameraFault(f"{self.label}: the image acquirer was destroyed")
        return acquirer

    def grab(self, timeout: float) -> RawImage | None:
        acquirer = self._valid_acquirer()
        deadline = time.monotonic() + timeout
        while True:
            try:
                buffer = acquirer.try_fetch(timeout=_POLL_FETCH_S, is_raw=True)
            except Exception as error:
                self._valid_acquirer()
                raise CameraFault(f"{self.label}: {error}") from error
            if buffer is not None:
                return self._copy(buffer)
            if time.monotonic() >= deadline:
                return None
            time.sleep(_POLL_SLEEP_S)

    def _copy(self, buffer: Any) -> RawImage | None:
        """Copy the image out of the GenTL buffer and give the buffer straight back."""
        captured_at, captured_monotonic = time.time(), time.monotonic()
        try:
            width, height = int(buffer.width), int(buffer.height)
            pixel_format = dict_by_ints.get(int(buffer.pixel_format), f"0x{int(buffer.pixel_format):08x}")
            padding_x = optional_property(lambda: int(buffer.padding_x), 0)
            offset = optional_property(lambda: int(buffer.image_offset), 0)
            frame_id = optional_property(lambda: int(buffer.frame_id), None)
            timestamp_ns = optional_property(lambda: int(buffer.timestamp_ns), None)
            size = image_bytes(pixel_format, width, height, padding_x)
            data = np.frombuffer(buffer.raw_buffer, dtype=np.uint8, count=size, offset=offset).copy()
        except ValueError as error:  # unknown format or a buffer too short for its image
            log.warning("%s: skipped an unusable buffer: %s", self.label, error)
            self._on_incomplete()
            return None
        finally:
            buffer.parent.queue_buffer(buffer)
        metadata = {"device": self.label}
        if frame_id is not None:
            metadata["device_frame_id"] = str(frame_id)
        if timestamp_ns is not None:
            metadata["device_timestamp_ns"] = str(timestamp_ns)
        return RawImage(
            data=data,
            width=width,
            height=height,
            pixel_format=pixel_format,
            captured_at=captured_at,
            captured_monotonic=captured_monotonic,
            padding_x=padding_x,
            device_frame_id=frame_id,
            metadata=metadata,
        )

    def probe(self) -> None:
        """Read a node from the device itself (not GenApi's cache)."""
        self._valid_acquirer()
        for name in ("Width", "PixelFormat", "PayloadSize"):
            if self._node_map.has_node(name):
                self._node_map.get_node(name).to_string(IgnoreCache=True)
                return

    def trigger(self) -> None:
        if not self._software_trigger:
            raise CameraConfigError(f"{self.label} is not in software trigger mode (camera.trigger)")
        self._node_map.get_node("TriggerSoftware").execute()

    def describe(self, names: Sequence[str] | None) -> list[NodeInfo]:
        return describe_nodes(self._node_map, names)

    def close(self) -> None:
        harvester, self._harvester = self._harvester, None
        acquirer, self._acquirer = self._acquirer, None
        if acquirer is not None:
            release_acquirer(acquirer, self._chunk_adapter)
        if harvester is not None:
            HARVESTERS.release(harvester)


class GenICamSource(StreamingSource):
    """A GenICam camera as a `FrameSource`.

    Free-run: the newest frames win; when the reader lags the oldest queued frame is dropped
    (`stats.dropped`). Triggered (software or hardware): every frame is a part; frames are queued
    (up to `queue_frames`, default 256) and any that cannot be delivered is reported by `read` as
    `FramesLost` (`stats.lost`), never silently skipped.
    """

    def __init__(self, config: GenICamConfig) -> None:
        triggered = config.trigger != "free_run"
        default_queue = TRIGGERED_QUEUE_FRAMES if triggered else FREE_RUN_QUEUE_FRAMES
        super().__init__(
            config.camera_id,
            lambda on_incomplete: GenICamConnection(config, on_incomplete),
            label=f"camera {config.camera_id}",
            queue_frames=config.queue_frames or default_queue,
            overflow=Overflow.REPORT_LOST if triggered else Overflow.DROP_OLDEST,
            no_frame_fault_s=None if triggered else config.no_frame_fault_s,
            backoff=Backoff(config.reconnect_initial_s, config.reconnect_max_s),
        )
        self.config = config

    def trigger(self) -> None:
        """Fire one software trigger (trigger='software'); raises CameraFault while disconnected."""
        self._with_connection(lambda connection: connection.trigger())

    def describe(self, names: Sequence[str] | None = MAIN_NODES) -> list[NodeInfo]:
        """The device's nodes and current values (default: the main ones)."""
        return self._with_connection(lambda connection: connection.describe(names))
