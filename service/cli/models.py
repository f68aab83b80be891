"""`gaikan train`, `gaikan eval`, `gaikan calibrate`: making and measuring model packages.

`--arch` and the help's list of architectures come from `gaikan.models.architectures`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gaikan.models.architectures import ARCHITECTURES, DEFAULT_ARCHITECTURE, architecture_entry
from gaikan.service.cli.exits import fail, failures, usage
from gaikan.service.cli.options import parse_sets, registry_help

if TYPE_CHECKING:
    from gaikan.models.evaluate import ScoredDataset
    from gaikan.models.package import ModelPackage

app = typer.Typer()


def _score_data(package_path: Path, data: Path, batch_size: int, progress: bool) -> tuple[ModelPackage, ScoredDataset]:
    """Read the package, load it in ONNX Runtime and score every test image of `data`."""
    from gaikan.models.dataset import test_samples
    from gaikan.models.evaluate import score_dataset
    from gaikan.models.package import PackageError, read_package
    from gaikan.models.runtime import OnnxModel

    with failures(PackageError):
        package = read_package(package_path)
        samples = test_samples(data)
        if not samples:
            fail(f"{data}: no test images (expected {data}/test/good/ and {data}/test/<defect_type>/)")
        model = OnnxModel(package)
    return package, score_dataset(model, samples, root=data, batch_size=batch_size, progress=progress)


PackageArgument = Annotated[
    Path, typer.Argument(help="Model package (.zip).", show_default=False, exists=True, dir_okay=False)
]
DataOption = Annotated[
    Path,
    typer.Option(
        "--data",
        help="MVTec-AD-layout folder: test/good/, test/<defect_type>/, optional ground_truth/.",
        show_default=False,
        exists=True,
        file_okay=False,
    ),
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

        with failures(ReportUnavailable):
            require_report_dependencies()  # before minutes of scoring, not after
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
        fail("no image could be scored")


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
        usage(f"{out} is the input package: calibration writes a new file and never edits a package in place", "--out")
    if out.exists() and not force:
        fail(f"{out} exists (use --force to overwrite it)")
    model_package, scored = _score_data(package, data, batch_size, progress)
    if scored.skipped:
        for skipped in scored.skipped:
            typer.echo(f"SKIPPED  {scored.relative(skipped.path)}: {skipped.reason}", err=True)
        if not skip_unreadable:
            fail(f"{len(scored.skipped)} file(s) could not be used; fix them or pass --skip-unreadable")
    labels = scored.is_defective
    with failures(CalibrationError, PackageError, ValueError):
        calibration = calibrate(
            scored.scores[~labels], scored.scores[labels], margin=margin, review=review, review_quantile=review_quantile
        )
        new_package = calibrated_package(model_package, calibration, version or next_version(model_package.version))
        write_package(new_package, out)
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
        usage(f"{text!r}: expected S or HxW, e.g. 256 or 288x384", "--image-size")
    if len(values) == 1:
        return values[0], values[0]
    if len(values) == 2:
        return values[0], values[1]
    usage(f"{text!r}: expected S or HxW, e.g. 256 or 288x384", "--image-size")


def _known_architecture(name: str) -> str:
    try:
        return architecture_entry(name).name
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


@app.command(epilog=registry_help("Architectures (--arch):", {entry.name: entry.summary for entry in ARCHITECTURES}))
def train(
    data: Annotated[Path, typer.Option(help="MVTec-AD-layout folder (train/good; test/* optional)")],
    out: Annotated[Path, typer.Option(help="Model package to write (.zip)")],
    arch: Annotated[
        str, typer.Option(help=" | ".join(entry.name for entry in ARCHITECTURES), callback=_known_architecture)
    ] = DEFAULT_ARCHITECTURE,
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
    """Train a model on DATA/train/good and write a validated model package (without --arch: the
    default architecture, see the README's models section). A supervised architecture (abn) also
    needs confirmed defective images: DATA/train/<defect_type>/, or a `gaikan dataset export` folder."""
    from pydantic import ValidationError

    from gaikan.models.dataset import DatasetError, supervised_images
    from gaikan.models.train import TrainSettings, train_package
    from gaikan.models.train_archs import get_architecture, parse_options

    height, width = _parse_size(image_size)
    try:
        settings = TrainSettings(
            arch=arch, height=height, width=width, resize=resize, colour=None if colour == "auto" else colour,
            epochs=epochs, max_minutes=max_minutes, seed=seed, device=device, holdout_fraction=holdout,
            name=name, version=version, options=parse_sets(set_ or []),
        )  # fmt: skip
    except ValidationError as error:
        usage("; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()))
    architecture = get_architecture(arch)
    try:
        parse_options(architecture, settings.options)
    except ValueError as error:
        usage(str(error), "--set")
    if not (data / "train" / "good").is_dir():
        usage(f"no train/good folder in {data} (an MVTec-AD-layout folder is expected)", "--data")
    if architecture.supervised:
        try:
            supervised_images(data)
        except DatasetError as error:
            usage(f"{arch} is supervised: {error}", "--data")
    try:
        result = train_package(data, out, settings, show_progress=not quiet)
    except DatasetError as error:
        fail(str(error))
    except ValueError as error:  # a setting the architecture refuses, e.g. an image size it cannot take
        usage(str(error))
    except (RuntimeError, OSError) as error:
        fail(str(error))
    manifest = result.manifest
    stats = manifest.score_stats
    typer.echo(f"wrote {result.path} ({manifest.name} {manifest.version}, {manifest.architecture})")
    if stats is not None and manifest.calibrated:
        recorded = manifest.training.settings if manifest.training else {}
        typer.echo(
            f"held-back good scores: n={stats.count} p50={stats.p50:.4g} max={stats.max:.4g}; thresholds calibrated on "
            f"{recorded['defect_holdout_images']} held-back defective images (none of them passes): "
            f"review {manifest.thresholds.review:.4g}, reject {manifest.thresholds.reject:.4g}"
        )
    elif stats is not None:
        typer.echo(
            f"held-back good scores: n={stats.count} p50={stats.p50:.4g} max={stats.max:.4g}; "
            f"safe default thresholds (uncalibrated): review {manifest.thresholds.review:.4g}, "
            f"reject {manifest.thresholds.reject:.4g}; calibrate with defective images (gaikan calibrate)"
        )
    typer.echo(f"torch vs ONNX Runtime relative error {result.parity_error:.1e}; {manifest.training.seconds:.0f} s")
