"""`gaikan cameras`, `gaikan grab`: finding cameras and collecting frames.

The camera kinds the help lists come from `gaikan.camera.config.CAMERA_KINDS`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from gaikan.camera.config import camera_kinds
from gaikan.service.cli.exits import fail, failures, usage
from gaikan.service.cli.options import ConfigOption, parse_sets, registry_help, table

app = typer.Typer()

CtiOption = Annotated[
    list[str] | None,
    typer.Option(
        "--cti",
        help="GenTL producer .cti file or folder (repeatable); default: GENICAM_GENTL64_PATH, else the simulated camera",
    ),
]
KINDS_HELP = registry_help("Camera kinds (kind = ... in a settings file's [camera] table):", camera_kinds())


@app.command(epilog=KINDS_HELP)
def cameras(
    cti: CtiOption = None,
    device: Annotated[
        str | None,
        typer.Option(help="Show this device's main nodes: serial number, user id, device id, model or list index"),
    ] = None,
    all_nodes: Annotated[bool, typer.Option("--all", help="With --device: every node, not just the main ones")] = False,
) -> None:
    """List the GenICam (GigE Vision, USB3 Vision) devices the GenTL producers offer, or one
    device's nodes and current values."""
    from gaikan.camera.genicam_nodes import MAIN_NODES
    from gaikan.camera.gentl import describe_device, list_devices, producers_for_command_line
    from gaikan.camera.source import CameraConfigError, CameraFault

    with failures(CameraConfigError, CameraFault):
        producers, note = producers_for_command_line(cti or [])
        if note:
            typer.echo(note, err=True)
        if device is None:
            devices = list_devices(producers)
            if not devices:
                fail(f"no device found by {', '.join(p.name for p in producers)}")
            rows = [
                [str(d.index), d.vendor or "", d.model or "", d.serial_number or "", d.user_id or "", d.device_id or "",
                 d.tl_type or "", d.access, d.producer or ""]
                for d in devices
            ]  # fmt: skip
            typer.echo(table(["#", "vendor", "model", "serial", "user id", "id", "tl", "access", "producer"], rows))
            return
        summary, nodes = describe_device(producers, device, None if all_nodes else MAIN_NODES)
    typer.echo(summary.label)
    rows = [[n.name, n.value if n.value is not None else "", n.access, n.kind, n.allowed or ""] for n in nodes]
    typer.echo(table(["node", "value", "access", "type", "allowed"], rows))


@app.command(epilog=KINDS_HELP)
def grab(
    out: Annotated[Path, typer.Option(help="Folder for the PNG files", show_default=False)],
    count: Annotated[int, typer.Option(min=1, help="Frames to save")] = 10,
    device: Annotated[
        str | None, typer.Option(help="GenICam device: serial number, user id, device id, model or list index")
    ] = None,
    cti: CtiOption = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="With --device: GenICam node NAME=VALUE (repeatable, in order)")] = None,
    config: ConfigOption = None,
    timeout: Annotated[float, typer.Option(min=0.01, help="Seconds to wait for each frame")] = 5.0,
    quiet: Annotated[bool, typer.Option(help="No progress bar")] = False,
) -> None:
    """Save frames as PNG: from a GenICam device (--device), or from the camera of a settings
    file (--config: any camera kind). Useful to collect training images from the line."""
    from pydantic import ValidationError

    from gaikan.camera.config import GenICamConfig
    from gaikan.camera.factory import open_source
    from gaikan.camera.gentl import find_device, list_devices, producers_for_command_line
    from gaikan.camera.grab import grab_frames
    from gaikan.camera.source import CameraConfigError, CameraFault

    if (device is None) == (config is None):
        usage("give either --device (a GenICam device) or --config (a settings file with a [camera] table)")
    if set_ and device is None:
        usage("--set applies to --device; put node settings in the settings file's [camera.nodes]")
    with failures(CameraConfigError, CameraFault, OSError, ValidationError):
        if device is not None:
            producers, note = producers_for_command_line(cti or [])
            if note:
                typer.echo(note, err=True)
            chosen = find_device(list_devices(producers), device)
            camera = GenICamConfig(
                camera_id=re.sub(r"[^A-Za-z0-9_.-]+", "_", chosen.device_id or chosen.serial_number or "cam0"),
                cti=[str(p) for p in producers],
                device_id=chosen.device_id,
                serial_number=None if chosen.device_id else chosen.serial_number,
                nodes=dict(parse_sets(set_ or [])),
            )
        else:
            from gaikan.service.settings import load_settings

            configured = load_settings(config).camera
            if configured is None:
                fail(f"{config} has no [camera] table")
            camera = configured
        saved = grab_frames(open_source(camera), count, out, timeout_s=timeout, progress=not quiet)
    typer.echo(f"saved {len(saved)} frame(s) to {out}")
    if len(saved) < count:
        fail(f"the source ended after {len(saved)} of {count} frames")
