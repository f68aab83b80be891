"""The `gaikan` command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gaikan.models.train import DEFAULT_ARCHITECTURE

if TYPE_CHECKING:
    from gaikan.models.evaluate import ScoredDataset
    from gaikan.models.package import ModelPackage

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

    from gaikan.service.logs import configure_logging

    assert isinstance(settings, Settings)
    configure_logging(settings.log_format, settings.log_level)
    typer.echo(f"Gaikan serving on http://{settings.host}:{settings.port}  (API docs at /docs; Ctrl-C stops)")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


@app.command()
def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its images, database and models")] = Path("gaikan-data"),
    host: HostOption = None,
    port: PortOption = None,
    fps: Annotated[float, typer.Option(help="Parts per second on the demo line")] = 4.0,
    camera: Annotated[
        str,
        typer.Option(help="replay: the generated demo line; genicam: the simulated GenICam camera (viky.cti) through Harvesters"),
    ] = "replay",
    config: ConfigOption = None,
) -> None:
    """Run the demo line: generated parts replayed as a camera, the shipped demo model, SQLite."""
    from gaikan.service.demo import demo_camera, demo_settings

    if camera not in ("replay", "genicam"):
        raise typer.BadParameter("choose replay or genicam", param_hint="--camera")
    _serve(demo_settings(data_dir, config_file=config, fps=fps, host=host, port=port, camera=demo_camera(camera)))


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


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _score_data(package_path: Path, data: Path, batch_size: int, progress: bool) -> tuple[ModelPackage, ScoredDataset]:
    """Read the package, load it in ONNX Runtime and score every test image of `data`."""
    from gaikan.models.dataset import test_samples
    from gaikan.models.evaluate import score_dataset
    from gaikan.models.package import PackageError, read_package
    from gaikan.models.runtime import OnnxModel

    try:
        package = read_package(package_path)
        samples = test_samples(data)
        if not data.is_dir():
            raise _fail(f"{data}: no such data folder")
        if not samples:
            raise _fail(f"{data}: no test images (expected {data}/test/good/ and {data}/test/<defect_type>/)")
        model = OnnxModel(package)
    except PackageError as error:
        raise _fail(str(error)) from error
    return package, score_dataset(model, samples, root=data, batch_size=batch_size, progress=progress)


PackageArgument = Annotated[Path, typer.Argument(help="Model package (.zip).", show_default=False)]
DataOption = Annotated[
    Path,
    typer.Option("--data", help="MVTec-AD-layout folder: test/good/, test/<defect_type>/, optional ground_truth/.", show_default=False),
]
BatchOption = Annotated[int, typer.Option("--batch-size", min=1, help="Images per ONNX Runtime call.")]
ProgressOption = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar while scoring.")]


@app.command("eval")
def eval_command(
    package: PackageArgument,
    data: DataOption,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write every figure as JSON here.")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write the HTML report here.")] = None,
    batch_size: BatchOption = 8,
    progress: ProgressOption = True,
) -> None:
    """Score a dataset and measure the model in the line's language: confusion matrices at the
    package threshold and at the zero-escape threshold, escape, overkill and review rates, AUROC,
    pixel AUROC and AUPRO where masks exist, and which defect types escape first."""
    from gaikan.models.eval_text import render_text
    from gaikan.models.evaluate import evaluate

    if report is not None:
        from gaikan.models.report import ReportUnavailable, require_report_dependencies

        try:
            require_report_dependencies()  # before minutes of scoring, not after
        except ReportUnavailable as error:
            raise _fail(str(error)) from error
    model_package, scored = _score_data(package, data, batch_size, progress)
    evaluation = evaluate(scored, model_package.manifest)
    typer.echo(render_text(evaluation))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(evaluation.model_dump_json(indent=2) + "\n", encoding="utf-8")
        typer.echo(f"JSON     {json_out}")
    if report is not None:
        from gaikan.models.report import write_report

        write_report(report, evaluation, scored)
        typer.echo(f"Report   {report}")
    if not scored.images:
        raise _fail("no image could be scored")


@app.command("calibrate")
def calibrate_command(
    package: PackageArgument,
    data: DataOption,
    out: Annotated[Path, typer.Option("--out", help="Where to write the new package version.", show_default=False)],
    margin: Annotated[
        float, typer.Option("--margin", min=0.0, help="Safety margin in standard deviations of the good scores.")
    ] = 0.0,
    review: Annotated[
        bool, typer.Option("--review/--no-review", help="Two levels: a review band below the reject threshold.")
    ] = False,
    review_quantile: Annotated[
        float, typer.Option("--review-quantile", help="Good images only, with --review: the good-score quantile where review starts.")
    ] = 0.95,
    version: Annotated[
        str | None, typer.Option("--version", help="Version of the new package (default: <old>-cal<UTC timestamp>).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")] = False,
    skip_unreadable: Annotated[
        bool, typer.Option("--skip-unreadable", help="Calibrate even if some files cannot be read (they are left out).")
    ] = False,
    batch_size: BatchOption = 8,
    progress: ProgressOption = True,
) -> None:
    """Set the thresholds from validation data and write a new package version (the input
    package is never changed): zero escapes when defective images exist, otherwise just above the
    highest good score; `--review` adds a review band. The README's evaluation section has the rules."""
    from gaikan.models.calibrate import CalibrationError, calibrate, calibrated_package, next_version
    from gaikan.models.eval_text import percent
    from gaikan.models.package import PackageError, write_package

    if out.resolve() == package.resolve():
        raise _fail(f"--out {out} is the input package: calibration writes a new file and never edits a package in place")
    if out.exists() and not force:
        raise _fail(f"{out} exists (use --force to overwrite it)")
    model_package, scored = _score_data(package, data, batch_size, progress)
    if scored.skipped:
        for skipped in scored.skipped:
            typer.echo(f"SKIPPED  {scored.relative(skipped.path)}: {skipped.reason}", err=True)
        if not skip_unreadable:
            raise _fail(f"{len(scored.skipped)} file(s) could not be used; fix them or pass --skip-unreadable")
    labels = scored.is_defective
    try:
        calibration = calibrate(
            scored.scores[~labels], scored.scores[labels], margin=margin, review=review, review_quantile=review_quantile
        )
        new_package = calibrated_package(model_package, calibration, version or next_version(model_package.version))
        write_package(new_package, out)
    except (CalibrationError, PackageError, ValueError) as error:
        raise _fail(str(error)) from error
    old, new, matrix = model_package.manifest.thresholds, calibration.thresholds, calibration.confusion
    typer.echo(f"Calibrated on {calibration.good} good and {calibration.defective} defective images")
    typer.echo(f"Rule     {calibration.rule}")
    typer.echo(f"Before   reject {old.reject:.6g}" + (f", review {old.review:.6g}" if old.review is not None else ""))
    typer.echo(f"After    reject {new.reject:.6g}" + (f", review {new.review:.6g}" if new.review is not None else ""))
    typer.echo(
        f"On this data: escapes {matrix.escapes} ({percent(matrix.escape_rate)}), good parts flagged "
        f"{matrix.overkills} ({percent(matrix.overkill_rate)}), parts to inspect {matrix.flagged} of {matrix.total}"
    )
    for warning in calibration.warnings:
        typer.echo(f"WARNING  {warning}")
    typer.echo(f"Wrote    {out} (version {new_package.version})")


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
    out: Annotated[Path, typer.Option(help="Model package to write (.zip)")],
    arch: Annotated[str, typer.Option(help="patchcore | simplenet | ae | ae-ssim | ae-projected | efficientgan")] = DEFAULT_ARCHITECTURE,
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

CtiOption = Annotated[
    list[str] | None,
    typer.Option(
        "--cti",
        help="GenTL producer .cti file or folder (repeatable); default: GENICAM_GENTL64_PATH, else the simulated camera",
    ),
]


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = [headers, ["-" * width for width in widths], *rows]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines)


@app.command()
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

    try:
        producers, note = producers_for_command_line(cti or [])
        if note:
            typer.echo(note, err=True)
        if device is None:
            devices = list_devices(producers)
            if not devices:
                raise _fail(f"no device found by {', '.join(p.name for p in producers)}")
            rows = [
                [str(d.index), d.vendor or "", d.model or "", d.serial_number or "", d.user_id or "", d.device_id or "",
                 d.tl_type or "", d.access, d.producer or ""]
                for d in devices
            ]  # fmt: skip
            typer.echo(_table(["#", "vendor", "model", "serial", "user id", "id", "tl", "access", "producer"], rows))
            return
        summary, nodes = describe_device(producers, device, None if all_nodes else MAIN_NODES)
    except (CameraConfigError, CameraFault) as error:
        raise _fail(str(error)) from error
    typer.echo(summary.label)
    rows = [[n.name, n.value if n.value is not None else "", n.access, n.kind, n.allowed or ""] for n in nodes]
    typer.echo(_table(["node", "value", "access", "type", "allowed"], rows))


@app.command()
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
    import re

    from gaikan.camera.config import GenICamConfig
    from gaikan.camera.factory import open_source
    from gaikan.camera.gentl import find_device, list_devices, producers_for_command_line
    from gaikan.camera.grab import grab_frames
    from gaikan.camera.source import CameraConfigError, CameraFault

    if (device is None) == (config is None):
        raise _fail("give either --device (a GenICam device) or --config (a settings file with a [camera] table)")
    if set_ and device is None:
        raise _fail("--set applies to --device; put node settings in the settings file's [camera.nodes]")
    try:
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
                nodes=dict(_parse_sets(set_ or [])),
            )
        else:
            from gaikan.service.settings import load_settings

            camera = load_settings(config).camera
            if camera is None:
                raise _fail(f"{config} has no [camera] table")
        saved = grab_frames(open_source(camera), count, out, timeout_s=timeout, progress=not quiet)
    except (CameraConfigError, CameraFault, OSError) as error:
        raise _fail(str(error)) from error
    typer.echo(f"saved {len(saved)} frame(s) to {out}")
    if len(saved) < count:
        raise _fail(f"the source ended after {len(saved)} of {count} frames")


def main() -> None:
    app()
