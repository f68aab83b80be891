"""The `gaikan` command line."""

from __future__ import annotations

import typer

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Gaikan: real-time visual inspection with good-only anomaly models.",
)


@app.command()
def version() -> None:
    """Print the installed Gaikan version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("gaikan"))


def main() -> None:
    app()
