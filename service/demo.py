"""The demo line: generated part images replayed as a camera, the shipped demo model, SQLite
under a local data directory. A second start reuses what the first made."""

from __future__ import annotations

import shutil
from importlib.resources import as_file, files
from pathlib import Path

from gaikan.camera.config import GenICamConfig, ReplayConfig
from gaikan.models.synthetic import write_demo_line
from gaikan.service.settings import Settings, load_settings

DEMO_PARTS = 48
DEMO_FPS = 4.0


def shipped_demo_model() -> Path:
    """Path of the demo model package shipped inside the `gaikan` distribution."""
    resource = files("gaikan.models") / "shipped" / "demo.zip"
    with as_file(resource) as path:
        if not Path(path).is_file():
            raise FileNotFoundError(f"the shipped demo model is missing ({path}); rebuild it with `make demo-model`")
        return Path(path)


def ensure_demo_line(data_dir: Path) -> Path:
    """The demo line's images, generated once (atomically: an interrupted run leaves nothing half-made)."""
    folder = Path(data_dir) / "demo-line"
    if folder.is_dir():
        return folder
    partial = folder.with_name("demo-line.partial")
    shutil.rmtree(partial, ignore_errors=True)
    write_demo_line(partial, count=DEMO_PARTS)
    partial.rename(folder)
    return folder


def demo_camera(kind: str) -> GenICamConfig | None:
    """The camera for `gaikan demo --camera`: None keeps the replayed demo line; `genicam` is the
    first simulated device of viky.cti (a 400x400 RGBa8 ball scene: the demo model, trained on the
    demo parts, rejects it, which shows the line running from a real GenTL producer)."""
    if kind == "genicam":
        return GenICamConfig(cti=["viky"], camera_id="viky", index=0)
    return None


def demo_plc(opcua_port: int, modbus_port: int) -> dict[str, object]:
    """`[plc]` overrides for the demo: OPC UA and Modbus TCP on loopback, a port of 0 turns one off."""
    return {
        "opcua": {"enabled": opcua_port > 0, "port": opcua_port or 4840},
        "modbus": {"enabled": modbus_port > 0, "port": modbus_port or 5020},
    }


VIKY_DEVICES = 3
VIEW_NAMES = ("top", "side", "front", "back", "left", "right", "bottom", "oblique")


def demo_station(views: int, line: Path, fps: float, kind: str = "replay") -> dict[str, object]:
    """`cameras` and `stations` overrides for a station of `views` cameras on the demo line: every
    view replays the demo parts (one trigger: the views of a part share its frame number), or is
    one simulated viky device (free-run: views matched by arrival). They share the demo model."""
    if not 2 <= views <= len(VIEW_NAMES):
        raise ValueError(f"a demo station has 2 to {len(VIEW_NAMES)} views, not {views}")
    names = VIEW_NAMES[:views]
    if kind == "genicam" and views > VIKY_DEVICES:
        raise ValueError(f"the simulated GenICam producer (viky.cti) has {VIKY_DEVICES} devices, not {views}")
    if kind == "genicam":
        cameras = [{"camera": GenICamConfig(cti=["viky"], camera_id=f"viky-{name}", index=i)} for i, name in enumerate(names)]
    else:
        cameras = [{"camera": ReplayConfig(camera_id=f"demo-{name}", path=line, fps=fps, loop=True)} for name in names]
    station = {
        "station_id": "demo-station",
        "views": [{"name": name, "camera": entry["camera"].camera_id} for name, entry in zip(names, cameras, strict=True)],
        "match": "arrival" if kind == "genicam" else "part_id",
    }
    # replayed views are on one trigger: every frame is a part, one that cannot queue is a timeout reject
    return {"cameras": cameras, "stations": [station], **({} if kind == "genicam" else {"overflow": "reject"})}


def demo_settings(
    data_dir: Path, *, config_file: Path | None = None, fps: float = DEMO_FPS, cameras: int = 1, kind: str = "replay", **overrides: object
) -> Settings:
    data_dir = Path(data_dir)
    line = ensure_demo_line(data_dir)
    if cameras > 1:
        overrides.pop("camera", None)
        overrides |= demo_station(cameras, line, fps, kind)
    else:
        overrides["camera"] = overrides.get("camera") or ReplayConfig(camera_id="demo", path=line, fps=fps, loop=True)
    return load_settings(config_file, data_dir=data_dir, initial_model=shipped_demo_model(), **overrides)
