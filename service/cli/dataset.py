"""`gaikan dataset`: turn the line's re-checked parts into a dataset."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

dataset_app = typer.Typer(no_args_is_help=True, help="Datasets from the line: re-checked parts in the MVTec AD layout.")


def _timestamp(value: datetime | None, name: str) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise typer.BadParameter("give a time zone (e.g. 2026-12-01T06:00:00+09:00 or ...Z)", param_hint=name)
    return value.timestamp()


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)





@dataset_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to create (must not exist, or be empty).", show_default=False)],
    since: Annotated[datetime | None, typer.Option("--since", parser=_parse_time, metavar="ISO-8601", help="Parts decided at or after this time (with zone).")] = None,
    until: Annotated[datetime | None, typer.Option("--until", parser=_parse_time, metavar="ISO-8601", help="Parts decided before this time (with zone).")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Only parts scored by this model version.")] = None,
    passes: Annotated[int, typer.Option("--passes", min=0, help="At most this many kept passes, sampled, as good parts.")] = 200,
    test_share: Annotated[float, typer.Option("--test-share", min=0.0, max=1.0, help="Share of the sampled passes put in test/good (the rest: train/good).")] = 0.2,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the pass sample.")] = 0,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file of the service (also GAIKAN_CONFIG)", exists=True, dir_okay=False)] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="The service's data directory (database and images)")] = None,
) -> None:
    """Write re-checked parts (found good: test/good; found defective: test/<defect_type>) and a
    sample of kept passes (train/good, and a share in test/good) in the MVTec AD layout, with empty
    masks. `gaikan calibrate` and `gaikan train` read the folder as it is. The re-checked parts
    written count as exported: image retention may delete their pictures from then on."""
    from gaikan.service.dataset_export import ExportError, export_dataset
    from gaikan.service.settings import load_settings
    from gaikan.service.storage.database import open_database
    from gaikan.service.storage.decisions import DecisionStore
    from gaikan.service.storage.rechecks import RecheckStore

    start, end = _timestamp(since, "--since"), _timestamp(until, "--until")
    if start is not None and end is not None and start >= end:
        raise typer.BadParameter("--since must be before --until", param_hint="--since")
    settings = load_settings(config, data_dir=data_dir)
    engine = open_database(settings.database)
    try:
        report = export_dataset(
            RecheckStore(engine, line=settings.line_id), DecisionStore(engine, line=settings.line_id), out,
            since=start, until=end, model=model, passes=passes, test_share=test_share, seed=seed,
        )  # fmt: skip
    except ExportError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    finally:
        engine.dispose()
    for folder, count in report.folders().items():
        typer.echo(f"{count:6d}  {folder}/")
    if report.without_image:
        typer.echo(
            f"WARNING  {len(report.without_image)} re-checked part(s) have no kept image and were left out "
            f"(seq {', '.join(map(str, report.without_image[:10]))}{' …' if len(report.without_image) > 10 else ''})"
        )
    defective = sum(1 for part in report.parts if part.verdict == "defective")
    typer.echo(f"Wrote    {out}: {len(report.parts)} images, {defective} defective")
    typer.echo(f"Next     gaikan calibrate MODEL.zip --data {out} --out MODEL-cal.zip   or   gaikan train --data {out} --out NEW.zip")
