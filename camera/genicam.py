"""GenICam cameras (GigE Vision, USB3 Vision, …) through GenTL producers and Harvesters.

Harvesters 1.4.3 needs three work-arounds, all here:
- an `ImageAcquirer` (and the chunk adapter it creates) registers a `weakref.finalize` holding a
  bound method, so `destroy()` alone never frees it: ~0.4 MB of native node map per
  create/destroy cycle. `release_acquirer` runs both finalizers, which frees everything.
- a blocking `try_fetch(timeout=t)` waits inside GenTL while holding the GIL (other Python
  threads ran ~35 % slower in a measurement); `GenICamConnection.grab` polls the producer's event
  queue with a zero wait and sleeps between polls, which releases the GIL.
- creating an acquirer on the main thread replaces the SIGINT handler (Ctrl+C would silently
  destroy the acquirer); the previous handler is restored.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from harvesters.core import Callback, Harvester, ImageAcquirer, ParameterKey, ParameterSet
from harvesters.util.pfnc import dict_by_ints

from gaikan.camera.config import GenICamConfig
from gaikan.camera.frame_queue import Overflow
from gaikan.camera.genicam_nodes import MAIN_NODES, NodeInfo, apply_nodes, describe_nodes, set_node
from gaikan.camera.pixel_formats import canonical_format, image_bytes
from gaikan.camera.source import CameraConfigError, CameraFault
from gaikan.camera.streaming import Backoff, RawImage, StreamingSource

log = logging.getLogger(__name__)

VIKY = "viky"  # the `cti` entry naming the simulated producer shipped in the genicam wheel
GENTL_PATH_VARIABLE = "GENICAM_GENTL64_PATH"
TRIGGERED_QUEUE_FRAMES = 256
FREE_RUN_QUEUE_FRAMES = 2
_POLL_FETCH_S = 1e-4  # one look at the producer's event queue (the wait inside is 0 ms)
_POLL_SLEEP_S = 0.001  # between looks; the GIL is free meanwhile

T = TypeVar("T")

_ACCESS_STATUS = {0: "unknown", 1: "available", 2: "read-only", 3: "no access", 4: "busy", 5: "open", 6: "open read-only"}


def viky_cti() -> Path:
    """The simulated GenTL producer in the `genicam` wheel (three devices: red, green, blue)."""
    import genicam

    return Path(genicam.__file__).parent / "viky.cti"


def resolve_producers(cti: Sequence[str | Path], environ: dict[str, str] | None = None) -> list[Path]:
    """The GenTL producer files to load: `cti` entries (files, folders of .cti files, or 'viky'),
    else every .cti in the folders of GENICAM_GENTL64_PATH. Raises CameraConfigError when none."""
    environ = dict(os.environ) if environ is None else environ
    found: list[Path] = []
    for entry in cti:
        if str(entry) == VIKY:
            found.append(viky_cti())
            continue
        path = Path(entry).expanduser()
        if path.is_dir():
            files = sorted(path.glob("*.cti"))
            if not files:
                raise CameraConfigError(f"camera.cti: no .cti file in folder {path}")
            found.extend(files)
        elif path.is_file():
            found.append(path)
        else:
            raise CameraConfigError(f"camera.cti: {path} does not exist")
    if cti:
        return list(dict.fromkeys(found))
    for folder in filter(None, environ.get(GENTL_PATH_VARIABLE, "").split(os.pathsep)):
        path = Path(folder)
        found.extend(sorted(path.glob("*.cti")) if path.is_dir() else [path] if path.suffix == ".cti" else [])
    if not found:
        raise CameraConfigError(
            f"no GenTL producer: set camera.cti (a .cti file, a folder of them, or '{VIKY}' for the simulated "
            f"camera) or put the producer's folder in {GENTL_PATH_VARIABLE}"
        )
    return list(dict.fromkeys(found))


@dataclass(frozen=True, slots=True)
class DeviceSummary:
    """One device a producer offers, as `gaikan cameras` lists it."""

    index: int
    vendor: str | None
    model: str | None
    serial_number: str | None
    user_id: str | None
    device_id: str | None
    tl_type: str | None
    access: str
    producer: str | None

    @property
    def label(self) -> str:
        name = " ".join(filter(None, (self.vendor, self.model))) or "device"
        return f"{name} {self.device_id or self.index} (serial {self.serial_number or '?'})"


def _optional(read: Callable[[], T], default: T) -> T:
    """A GenTL property that a producer may not provide."""
    try:
        return read()
    except Exception:
        return default


def _summaries(harvester: Harvester) -> list[DeviceSummary]:
    summaries = []
    for index, info in enumerate(harvester.device_info_list):
        status = _optional(lambda: int(info.access_status), 0)
        summaries.append(
            DeviceSummary(
                index=index,
                vendor=_optional(lambda: info.vendor, None),
                model=_optional(lambda: info.model, None),
                serial_number=_optional(lambda: info.serial_number, None),
                user_id=_optional(lambda: info.user_defined_name, None) or None,
                device_id=_optional(lambda: info.id_, None),
                tl_type=_optional(lambda: info.tl_type, None),
                access=_ACCESS_STATUS.get(status, str(status)),
                producer=_optional(lambda: Path(info.parent.parent.parent.path_name).name, None),
            )
        )
    return summaries


def chunk_adapter_of(acquirer: ImageAcquirer) -> object | None:
    """The chunk adapter an acquirer created (`destroy()` forgets it, its finalizer does not)."""
    return getattr(acquirer, "_chunk_adapter", None)


def release_acquirer(acquirer: ImageAcquirer, chunk_adapter: object | None = None) -> None:
    """Destroy an acquirer so that it is really freed (see the module notes); never raises.
    Pass its `chunk_adapter_of` taken at creation: a destroyed acquirer no longer knows it."""
    adapter = chunk_adapter or chunk_adapter_of(acquirer)
    try:
        acquirer.__exit__(None, None, None)  # destroy() and detach its finalizer
    except Exception:
        log.debug("destroying the image acquirer failed", exc_info=True)
    finalizer = getattr(adapter, "_finalizer", None)
    if finalizer is not None:
        try:
            finalizer()
        except Exception:
            log.debug("releasing the chunk adapter failed", exc_info=True)


def release_harvester(harvester: Harvester) -> None:
    """Destroy every acquirer, close the producers; the Harvester is unusable afterwards."""
    for acquirer in list(harvester.image_acquirers):
        release_acquirer(acquirer)
    try:
        harvester.reset()
    except Exception:
        log.debug("resetting the Harvester failed", exc_info=True)


@contextmanager
def open_harvester(producers: Sequence[Path]) -> Iterator[Harvester]:
    """A Harvester with `producers` loaded and devices enumerated, released on exit."""
    harvester = Harvester()
    try:
        for producer in producers:
            harvester.add_file(str(producer))
        harvester.update()
        yield harvester
    finally:
        release_harvester(harvester)


def list_devices(producers: Sequence[Path]) -> list[DeviceSummary]:
    """Every device the producers offer now."""
    with open_harvester(producers) as harvester:
        return _summaries(harvester)


def select_device(
    devices: Sequence[DeviceSummary],
    *,
    serial_number: str | None = None,
    user_id: str | None = None,
    model: str | None = None,
    device_id: str | None = None,
    index: int | None = None,
) -> DeviceSummary:
    """The one device matching every given field; `index` picks among the matches.

    Raises CameraFault when none matches (it may be unplugged) and CameraConfigError when the
    fields leave several candidates.
    """
    wanted = {"serial_number": serial_number, "user_id": user_id, "model": model, "device_id": device_id}
    wanted = {key: value for key, value in wanted.items() if value is not None}
    matches = [d for d in devices if all(getattr(d, key) == value for key, value in wanted.items())]
    described = ", ".join(f"{k}={v!r}" for k, v in wanted.items()) or "any device"
    available = "; ".join(d.label for d in devices) or "none"
    if index is not None:
        if index >= len(matches):
            raise CameraFault(f"no device #{index} matching {described} (devices: {available})")
        return matches[index]
    if not matches:
        raise CameraFault(f"no device matching {described} (devices: {available})")
    if len(matches) > 1:
        raise CameraConfigError(
            f"{len(matches)} devices match {described}: choose one by serial_number, user_id, model, device_id "
            f"or index (devices: {available})"
        )
    return matches[0]


def find_device(devices: Sequence[DeviceSummary], text: str) -> DeviceSummary:
    """The device a person names on the command line: serial number, user id, device id, model,
    or list index."""
    for field in ("serial_number", "user_id", "device_id", "model"):
        matches = [d for d in devices if getattr(d, field) == text]
        if len(matches) == 1:
            return matches[0]
    if text.isdigit() and int(text) < len(devices):
        return devices[int(text)]
    available = "; ".join(d.label for d in devices) or "none"
    raise CameraConfigError(f"no single device named {text!r} (devices: {available})")


@contextmanager
def _keeping_sigint_handler() -> Iterator[None]:
    """Harvesters replaces the SIGINT handler when an acquirer is created on the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def create_acquirer(harvester: Harvester, device: DeviceSummary, num_buffers: int = 4) -> ImageAcquirer:
    """Open `device` exclusively, configured for polling fetches and no automatic chunk parsing."""
    config = ParameterSet(
        {
            ParameterKey.NUM_BUFFERS_FOR_FETCH_CALL: num_buffers,
            ParameterKey.ENABLE_AUTO_CHUNK_DATA_UPDATE: False,
            ParameterKey.TIMEOUT_PERIOD_ON_UPDATE_EVENT_DATA_CALL: 0,
        }
    )
    with _keeping_sigint_handler():
        return harvester.create(device.index, config=config)


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
    """One Harvester, one acquirer, one configured and streaming device. Built fresh on every
    (re)connection and released completely by `close`."""

    def __init__(self, config: GenICamConfig, on_incomplete: Callable[[], None]) -> None:
        producers = resolve_producers(config.cti)
        self._harvester: Harvester | None = Harvester()
        self._acquirer: ImageAcquirer | None = None
        self._chunk_adapter: object | None = None
        self.label = f"camera {config.camera_id}"
        try:
            for producer in producers:
                self._harvester.add_file(str(producer))
            self._harvester.update()
            device = select_device(
                _summaries(self._harvester),
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
            padding_x = _optional(lambda: int(buffer.padding_x), 0)
            offset = _optional(lambda: int(buffer.image_offset), 0)
            frame_id = _optional(lambda: int(buffer.frame_id), None)
            timestamp_ns = _optional(lambda: int(buffer.timestamp_ns), None)
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
            release_harvester(harvester)


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
