"""`gaikan serve`, `gaikan demo`, `gaikan version`: running the service."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gaikan.service.cli.exits import failures, usage
from gaikan.service.cli.options import ConfigOption

if TYPE_CHECKING:
    from gaikan.service.settings import Settings

app = typer.Typer()

HostOption = Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1)")]
PortOption = Annotated[int | None, typer.Option(help="Port (default 8000)")]
# A settings file or environment that does not validate: exit 1 with the reason, not a traceback.
SETTINGS_ERRORS: tuple[type[Exception], ...] = (ValueError, OSError, tomllib.TOMLDecodeError)
DEMO_CAMERAS = {
    "replay": "the generated demo line",
    "genicam": "the simulated GenICam camera (viky.cti) through Harvesters",
}


def _serve(settings: Settings) -> None:
    import uvicorn

    from gaikan.service.app import create_app
    from gaikan.service.logs import configure_logging
    from gaikan.service.storage.migrate import SchemaError

    configure_logging(settings.log_format, settings.log_level)
    with failures(SchemaError):
        application = create_app(settings)
    typer.echo(f"Gaikan serving on http://{settings.host}:{settings.port}  (API docs at /docs; Ctrl-C stops)")
    if settings.plc.opcua.enabled:
        typer.echo(f"OPC UA server on opc.tcp://{settings.plc.opcua.host}:{settings.plc.opcua.port}/gaikan/")
    if settings.plc.modbus.enabled:
        typer.echo(f"Modbus TCP server on {settings.plc.modbus.host}:{settings.plc.modbus.port} (unit {settings.plc.modbus.unit_id})")
    uvicorn.run(application, host=settings.host, port=settings.port, log_level="warning")


@app.command()
def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its images, database and models")] = Path("gaikan-data"),
    host: HostOption = None,
    port: PortOption = None,
    fps: Annotated[float, typer.Option(help="Parts per second on the demo line")] = 4.0,
    camera: Annotated[str, typer.Option(help="; ".join(f"{k}: {v}" for k, v in DEMO_CAMERAS.items()))] = "replay",
    config: ConfigOption = None,
    opcua_port: Annotated[int, typer.Option(min=0, max=65535, help="OPC UA server port on loopback (0 = off)")] = 4840,
    modbus_port: Annotated[int, typer.Option(min=0, max=65535, help="Modbus TCP server port on loopback (0 = off)")] = 5020,
    cameras: Annotated[
        int, typer.Option(min=1, max=8, help="Views of one station (2-8): one camera each, decisions fused per part, one shared model")
    ] = 1,
) -> None:
    """Run the demo line: generated parts replayed as a camera (or a station of several), the
    shipped demo model, SQLite, OPC UA and Modbus TCP servers on loopback."""
    from gaikan.service.demo import demo_camera, demo_plc, demo_settings

    if camera not in DEMO_CAMERAS:
        usage(f"choose {' or '.join(DEMO_CAMERAS)}", "--camera")
    with failures(*SETTINGS_ERRORS):
        settings = demo_settings(
            data_dir,
            config_file=config,
            fps=fps,
            cameras=cameras,
            kind=camera,
            host=host,
            port=port,
            camera=demo_camera(camera),
            plc=demo_plc(opcua_port, modbus_port),
        )
    _serve(settings)


@app.command()
def serve(
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (database, models, images)")] = None,
) -> None:
    """Run the inspection service with settings from the environment and/or a TOML file."""
    from gaikan.service.settings import load_settings

    with failures(*SETTINGS_ERRORS):
        settings = load_settings(config, host=host, port=port, data_dir=data_dir)
    _serve(settings)


@app.command()
def version() -> None:
    """Print the installed Gaikan version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("gaikan"))
