"""The `gaikan` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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


def _parse_size(text: str) -> tuple[int, int]:
    """`256` (square) or `288x384` (height x width)."""
    parts = text.lower().split("x")
    try:
        values = [int(part) for part in parts]
    except ValueError:
        raise typer.BadParameter(f"{text!r}: expected S or HxW, e.g. 256 or 288x384") from None
    if len(values) == 1:
        return values[0], values[0]
    if len(values) == 2:
        return values[0], values[1]
    raise typer.BadParameter(f"{text!r}: expected S or HxW, e.g. 256 or 288x384")


def _parse_sets(items: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"--set {item!r}: expected KEY=VALUE")
        options[key.strip().replace("-", "_")] = value.strip()
    return options


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="MVTec-AD-layout folder (train/good; test/* optional)")],
    arch: Annotated[str, typer.Option(help="patchcore | ae | ae-ssim | ae-projected | efficientgan")],
    out: Annotated[Path, typer.Option(help="Model package to write (.zip)")],
    image_size: Annotated[str, typer.Option(help="Model input: S (square) or HxW")] = "256",
    resize: Annotated[str, typer.Option(help="stretch | center_crop")] = "stretch",
    colour: Annotated[str, typer.Option(help="auto (grey when all training images are grey) | rgb | gray")] = "auto",
    max_minutes: Annotated[float | None, typer.Option(help="Stop cleanly after this long, keeping the best so far")] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs (architecture default when unset)")] = None,
    seed: Annotated[int, typer.Option(help="Seed: same seed, same data, same package")] = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    holdout: Annotated[float, typer.Option(help="Share of good images held back for score statistics")] = 0.2,
    name: Annotated[str | None, typer.Option(help="Package name (default: <data folder>-<arch>)")] = None,
    version: Annotated[str | None, typer.Option(help="Package version (default: a UTC timestamp)")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Architecture option KEY=VALUE (repeatable)")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars")] = False,
) -> None:
    """Train a good-only model on DATA/train/good and write a validated model package."""
    from pydantic import ValidationError

    from gaikan.models.train import TrainSettings, train_package

    height, width = _parse_size(image_size)
    try:
        settings = TrainSettings(
            arch=arch, height=height, width=width, resize=resize, colour=None if colour == "auto" else colour,
            epochs=epochs, max_minutes=max_minutes, seed=seed, device=device, holdout_fraction=holdout,
            name=name, version=version, options=_parse_sets(set_ or []),
        )  # fmt: skip
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise typer.BadParameter(problems) from None
    try:
        result = train_package(data, out, settings, show_progress=not quiet)
    except (ValueError, RuntimeError, OSError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    manifest = result.manifest
    stats = manifest.score_stats
    typer.echo(f"wrote {result.path} ({manifest.name} {manifest.version}, {manifest.architecture})")
    if stats is not None:
        typer.echo(
            f"held-back good scores: n={stats.count} p50={stats.p50:.4g} max={stats.max:.4g}; "
            f"initial reject threshold {manifest.thresholds.reject:.4g}"
        )
    typer.echo(f"torch vs ONNX Runtime relative error {result.parity_error:.1e}; {manifest.training.seconds:.0f} s")


def main() -> None:
    app()
