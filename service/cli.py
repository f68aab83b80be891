"""The `gaikan` command line."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Gaikan: real-time visual inspection with good-only anomaly models.",
)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML settings file (also GAIKAN_CONFIG)", exists=True, dir_okay=False)
]
HostOption = Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1)")]
PortOption = Annotated[int | None, typer.Option(help="Port (default 8000)")]


def _serve(settings: object) -> None:
    import uvicorn

    from gaikan.service.app import create_app
    from gaikan.service.settings import Settings

    assert isinstance(settings, Settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    typer.echo(f"Gaikan serving on http://{settings.host}:{settings.port}  (API docs at /docs; Ctrl-C stops)")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


@app.command()
def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its images, database and models")] = Path("gaikan-data"),
    host: HostOption = None,
    port: PortOption = None,
    fps: Annotated[float, typer.Option(help="Parts per second on the demo line")] = 4.0,
    config: ConfigOption = None,
) -> None:
    """Run the demo line: generated parts replayed as a camera, the shipped demo model, SQLite."""
    from gaikan.service.demo import demo_settings

    _serve(demo_settings(data_dir, config_file=config, fps=fps, host=host, port=port))


@app.command()
def serve(
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (database, models, images)")] = None,
) -> None:
    """Run the inspection service with settings from the environment and/or a TOML file."""
    from gaikan.service.settings import load_settings

    _serve(load_settings(config, host=host, port=port, data_dir=data_dir))


@app.command()
def version() -> None:
    """Print the installed Gaikan version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("gaikan"))


def main() -> None:
    app()
