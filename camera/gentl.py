"""GenTL producers and devices through Harvesters: finding producer files, listing and choosing
devices, and creating/releasing Harvesters objects so that nothing leaks.

Harvesters 1.4.3 needs two of its work-arounds here:
- an `ImageAcquirer` (and the chunk adapter it creates) registers a `weakref.finalize` holding a
  bound method, so `destroy()` alone never frees it: ~0.4 MB of native node map (and the
  acquirer's buffers) per create/destroy cycle. `release_acquirer` runs both finalizers, which
  frees everything.
- creating an acquirer on the main thread replaces the SIGINT handler (Ctrl+C would silently
  destroy the acquirer instead of interrupting); `create_acquirer` restores the previous one.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from harvesters.core import Harvester, ImageAcquirer, ParameterKey, ParameterSet

from gaikan.camera.genicam_nodes import NodeInfo, describe_nodes
from gaikan.camera.source import CameraConfigError, CameraFault

log = logging.getLogger(__name__)

VIKY = "viky"  # the `cti` entry naming the simulated producer shipped in the genicam wheel
GENTL_PATH_VARIABLE = "GENICAM_GENTL64_PATH"
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
                raise CameraConfigError(f"GenTL producer folder {path} (camera.cti, --cti) has no .cti file")
            found.extend(files)
        elif path.is_file():
            found.append(path)
        else:
            raise CameraConfigError(f"GenTL producer {path} (camera.cti, --cti) does not exist")
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


def optional_property(read: Callable[[], T], default: T) -> T:
    """A GenTL property that a producer may not provide."""
    try:
        return read()
    except Exception:
        return default


def summaries(harvester: Harvester) -> list[DeviceSummary]:
    """The devices a Harvester enumerated, in its order."""
    found = []
    for index, info in enumerate(harvester.device_info_list):
        status = optional_property(lambda: int(info.access_status), 0)
        found.append(
            DeviceSummary(
                index=index,
                vendor=optional_property(lambda: info.vendor, None),
                model=optional_property(lambda: info.model, None),
                serial_number=optional_property(lambda: info.serial_number, None),
                user_id=optional_property(lambda: info.user_defined_name, None) or None,
                device_id=optional_property(lambda: info.id_, None),
                tl_type=optional_property(lambda: info.tl_type, None),
                access=_ACCESS_STATUS.get(status, str(status)),
                producer=optional_property(lambda: Path(info.parent.parent.parent.path_name).name, None),
            )
        )
    return found


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


class HarvesterPool:
    """One Harvester per set of producers, shared by the connections of this process.

    A GenTL producer is opened once per process: a second Harvester on the same .cti enumerates
    no devices, so several cameras of one producer (a station's views) must share one. The
    Harvester is made on the first `acquire` and released with the last `release`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shared: dict[tuple[str, ...], tuple[Harvester, int]] = {}

    def acquire(self, producers: Sequence[Path]) -> Harvester:
        key = tuple(str(p) for p in producers)
        with self._lock:
            if key in self._shared:
                harvester, users = self._shared[key]
                self._shared[key] = (harvester, users + 1)
                return harvester
            harvester = Harvester()
            try:
                for producer in key:
                    harvester.add_file(producer)
                harvester.update()
            except BaseException:
                release_harvester(harvester)
                raise
            self._shared[key] = (harvester, 1)
            return harvester

    def release(self, harvester: Harvester) -> None:
        """One user fewer; the last one releases the Harvester (and with it the producers)."""
        with self._lock:
            key = next((k for k, (h, _) in self._shared.items() if h is harvester), None)
            if key is None:
                return
            _, users = self._shared[key]
            if users > 1:
                self._shared[key] = (harvester, users - 1)
                return
            del self._shared[key]
        release_harvester(harvester)


# GenTL producers are process-wide by nature: so is the pool of Harvesters that opens them.
HARVESTERS = HarvesterPool()


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
        return summaries(harvester)


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


def producers_for_command_line(cti: Sequence[str]) -> tuple[list[Path], str | None]:
    """Producers as configured (`--cti`, else GENICAM_GENTL64_PATH), else the simulated camera,
    with a note saying so."""
    try:
        return resolve_producers(cti), None
    except CameraConfigError:
        if cti:
            raise
    note = f"no GenTL producer configured (--cti or {GENTL_PATH_VARIABLE}): using the simulated camera {viky_cti()}"
    return [viky_cti()], note


def describe_device(producers: Sequence[Path], name: str, nodes: Sequence[str] | None) -> tuple[DeviceSummary, list[NodeInfo]]:
    """Open the device a person named (see `find_device`) without streaming and read its nodes
    (`nodes` None: all of them)."""
    with open_harvester(producers) as harvester:
        device = find_device(summaries(harvester), name)
        acquirer = create_acquirer(harvester, device)
        adapter = chunk_adapter_of(acquirer)
        try:
            return device, describe_nodes(acquirer.remote_device.node_map, nodes)
        finally:
            release_acquirer(acquirer, adapter)
