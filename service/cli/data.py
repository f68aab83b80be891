"""`gaikan data check`, `gaikan data synth`: the MVTec-AD-layout folders training and evaluation read."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from gaikan.service.cli.exits import fail
from gaikan.service.cli.options import table

app = typer.Typer(no_args_is_help=True, help="Check or generate MVTec-AD-layout data folders.")


@app.command()
def check(
    data: Annotated[Path, typer.Argument(help="MVTec-AD-layout folder", exists=True, file_okay=False, show_default=False)],
) -> None:
    """Count what `gaikan train` (train/good; a supervised architecture also train/<type>) and
    `gaikan eval` / `calibrate` (test/<type>, masks in ground_truth/<type>) would read; fails when
    there is nothing to train or evaluate on."""
    from gaikan.models.dataset import DatasetError, defect_samples_under, test_samples, train_images

    try:
        training = len(train_images(data))
    except DatasetError:
        training = 0
    samples = test_samples(data)
    images = Counter(sample.defect_type for sample in samples)
    masks = Counter(sample.defect_type for sample in samples if sample.mask_path is not None)
    train_defects = Counter(sample.defect_type for sample in defect_samples_under(data / "train"))
    rows = [["train/good", str(training), ""]] + [[f"train/{kind}", str(count), ""] for kind, count in train_defects.items()]
    rows += [[f"test/{kind}", str(count), str(masks[kind])] for kind, count in images.items()]
    typer.echo(table(["folder", "images", "masks"], rows))
    if not training and not samples:
        fail(f"{data}: no images in train/good or test/<type> (MVTec AD layout expected)")


@app.command()
def synth(
    out: Annotated[Path, typer.Argument(help="Folder to write (train/, test/, ground_truth/)", show_default=False)],
    train_good: Annotated[int, typer.Option(min=0, help="Good training images")] = 40,
    test_good: Annotated[int, typer.Option(min=0, help="Good test images")] = 10,
    test_per_defect: Annotated[int, typer.Option(min=0, help="Test images per defect type, with masks")] = 4,
    size: Annotated[int, typer.Option(min=32, help="Image side in pixels")] = 256,
    seed: Annotated[int, typer.Option(help="Same seed, same images")] = 0,
) -> None:
    """Write generated parts (printed round parts with scratches, spots, cracks, missing print) in
    the MVTec AD layout: data to try training and evaluation on, as the demo model was made."""
    from gaikan.models.synthetic import write_dataset

    root = write_dataset(
        out, train_good=train_good, test_good=test_good, test_per_defect=test_per_defect, size=size, seed=seed
    )
    typer.echo(f"wrote {root}")
