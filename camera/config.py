"""Camera kinds: one pydantic model per source kind, chosen by `kind`, and the one table of them.

To add a camera kind: write its `FrameSource` in its own module (`camera/<kind>.py`, with its test
`tests/test_camera_<kind>.py`), then here a config model with `kind: Literal["<kind>"]`, a
docstring whose first line describes it, and an `open()` that imports and builds the source; list
it in `CAMERA_KINDS`. Settings files, `gaikan grab --config`, the command line's help and the
line all take their camera kinds from that table.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, model_validator

if TYPE_CHECKING:
    from gaikan.camera.source import FrameSource

NodeValue = bool | int | float | str

UNPACED = "unpaced"


def _unpaced_is_none(value: object) -> object:
    """TOML has no null: `fps = "unpaced"` says "as fast as the line takes frames" (None)."""
    return None if isinstance(value, str) and value.strip().lower() == UNPACED else value


# A delivery rate: frames per second, or "unpaced" (in Python and JSON also None).
Pace = Annotated[float | None, BeforeValidator(_unpaced_is_none)]


class ReplayConfig(BaseModel):
    """Play a folder of images (sorted by path) or a video file as a camera."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["replay"] = "replay"
    camera_id: str = "replay"
    path: Path
    fps: Pace = Field(default=10.0, gt=0, description='Delivery rate; "unpaced" (or null) = as fast as the pipeline takes')
    loop: bool = True
    cache_mb: float = Field(
        default=256.0, ge=0, description="A looping folder keeps this many MiB of decoded frames (0: decode every frame each time)"
    )

    def open(self) -> FrameSource:
        from gaikan.camera.replay import ReplaySource

        return ReplaySource(self.path, camera_id=self.camera_id, fps=self.fps, loop=self.loop, cache_mb=self.cache_mb)


class LiveSourceConfig(BaseModel):
    """What every live camera shares: how a lagging reader loses frames and how faults recover."""

    model_config = ConfigDict(extra="forbid")
    queue_frames: int | None = Field(
        default=None,
        ge=1,
        description="Frames held between the grab thread and the pipeline; default 2 in free-run, 256 when triggered",
    )
    no_frame_fault_s: float | None = Field(
        default=5.0, gt=0, description="Free-run: no frame for this long means the camera is lost; null = never"
    )
    reconnect_initial_s: float = Field(default=0.5, gt=0, description="First delay before reconnecting after a fault")
    reconnect_max_s: float = Field(default=10.0, gt=0, description="Reconnect delays double up to this")


class GenICamConfig(LiveSourceConfig):
    """A GenICam camera (GigE Vision, USB3 Vision, …) through a GenTL producer and Harvesters."""

    kind: Literal["genicam"] = "genicam"
    camera_id: str = "cam0"
    cti: list[str] = Field(
        default_factory=list,
        description=(
            "GenTL producer .cti files or folders of them; 'viky' = the simulated camera shipped with the genicam "
            "package; empty = the folders in GENICAM_GENTL64_PATH"
        ),
    )
    serial_number: str | None = None
    user_id: str | None = Field(default=None, description="The device's user-defined name (DeviceUserID)")
    model: str | None = None
    device_id: str | None = Field(default=None, description="The producer's device id (as `gaikan cameras` lists it)")
    index: int | None = Field(
        default=None, ge=0, description="Position among the devices matching the other fields (all when none given)"
    )
    trigger: Literal["free_run", "software", "hardware"] = "free_run"
    trigger_source: str = Field(default="Line1", description="Hardware trigger input line")
    trigger_activation: str | None = Field(default=None, description="e.g. RisingEdge; null = the device's setting")
    nodes: dict[str, NodeValue] = Field(
        default_factory=dict,
        description="GenICam nodes set in this order after the trigger nodes, e.g. {ExposureTime: 2000, Gain: 0}",
    )
    num_buffers: int = Field(default=4, ge=1, description="Buffers announced to the producer (the grab thread re-queues each at once)")

    def open(self) -> FrameSource:
        from gaikan.camera.genicam import GenICamSource

        return GenICamSource(self)


class OpenCVConfig(LiveSourceConfig):
    """A camera OpenCV can open: a device index (UVC/V4L2), an RTSP/HTTP URL, or a video file."""

    kind: Literal["opencv"] = "opencv"
    camera_id: str = "opencv"
    device: int | None = Field(default=None, ge=0, description="Local camera index")
    url: str | None = Field(default=None, description="Stream URL, e.g. rtsp://192.168.1.20/stream1")
    file: Path | None = Field(default=None, description="Video file, played once from start to end")
    width: int | None = Field(default=None, gt=0, description="Requested capture width (devices)")
    height: int | None = Field(default=None, gt=0, description="Requested capture height (devices)")
    fps: Pace = Field(
        default=None, gt=0, description='Devices: requested rate; files: delivery rate ("unpaced", the default, = as fast as read)'
    )
    open_timeout_s: float = Field(default=10.0, gt=0, description="Streams: give up opening after this long")
    read_timeout_s: float = Field(default=5.0, gt=0, description="Streams: a read blocking this long is a fault")

    @model_validator(mode="after")
    def _one_target(self) -> OpenCVConfig:
        given = [name for name in ("device", "url", "file") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"set exactly one of device, url, file (got {', '.join(given) or 'none'})")
        return self

    def open(self) -> FrameSource:
        from gaikan.camera.opencv import open_opencv_source

        return open_opencv_source(self)


# Every camera kind, in the order the help lists them.
CAMERA_KINDS: tuple[type[ReplayConfig | OpenCVConfig | GenICamConfig], ...] = (ReplayConfig, OpenCVConfig, GenICamConfig)

CameraConfig = Annotated[Union[CAMERA_KINDS], Field(discriminator="kind")]  # type: ignore[valid-type]  # noqa: UP007


def camera_kinds() -> dict[str, str]:
    """Each camera kind's `kind` value and the first line of its description."""
    return {
        kind.model_fields["kind"].default: (kind.__doc__ or "").strip().splitlines()[0] for kind in CAMERA_KINDS
    }

_ADAPTER: TypeAdapter[Any] = TypeAdapter(CameraConfig)


def parse_camera_config(data: dict[str, Any]) -> ReplayConfig | OpenCVConfig | GenICamConfig:
    """Validate a camera configuration mapping (its `kind` picks the model)."""
    return _ADAPTER.validate_python(data)
