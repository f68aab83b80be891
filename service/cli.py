"""The `gaikan` command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from gaikan.models.evaluate import ScoredDataset
    from gaikan.models.package import ModelPackage

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


def main() -> None:
    app()
