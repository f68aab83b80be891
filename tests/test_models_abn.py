"""ABN, the supervised architecture: what it trains on, how it balances few defects, and the
thresholds it ships with (training and serving: tests/test_models_architectures.py; from a line's
export: tests/test_service_cli_dataset.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from gaikan.models.dataset import EXPORT_INDEX, DatasetError, Sample, supervised_images
from gaikan.models.metrics import score_stats
from gaikan.models.calibrate import just_above
from gaikan.models.train import defect_holdout_split, initial_thresholds, supervised_thresholds
from gaikan.models.train_abn import AbnOptions, augment, balanced_batches
from gaikan.service.cli import app


def test_defects_come_from_train_folders_and_a_plain_test_set_is_never_trained_on(
    synthetic_dataset: Path, supervised_dataset: Path
) -> None:
    found = supervised_images(supervised_dataset)
    assert len(found.good) == 12 and {s.defect_type for s in found.defects} == {"crack", "missing_print", "scratch", "spot"}
    assert all(s.path.parent.parent.name == "train" for s in found.defects)
    with pytest.raises(DatasetError, match="no defective training images"):
        supervised_images(synthetic_dataset)  # defects under test/ only: evaluation data, not training data
    checked = CliRunner().invoke(app, ["data", "check", str(supervised_dataset)])
    rows = {line.split()[0]: line.split()[1:] for line in checked.output.splitlines()[2:]}
    assert rows["train/crack"] == ["3"] and rows["test/crack"] == ["2", "2"], "data check lists what abn trains on"


def test_an_export_folder_trains_on_its_confirmed_defects(synthetic_dataset: Path, tmp_path: Path) -> None:
    export = Path(shutil.copytree(synthetic_dataset, tmp_path / "export"))
    (export / EXPORT_INDEX).write_text(json.dumps({"parts": []}))
    found = supervised_images(export)
    assert len(found.good) == 12 + 6, "train/good and the parts found good (test/good)"
    assert len(found.defects) == 8 and all(s.path.parent.parent.name == "test" for s in found.defects)


def test_cli_refuses_abn_without_defect_images(synthetic_dataset: Path, tmp_path: Path) -> None:
    args = ["train", "--data", str(synthetic_dataset), "--arch", "abn", "--out", str(tmp_path / "m.zip"), "--image-size", "64"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "abn is supervised" in result.output and "train/<defect_type>" in result.output
    assert not (tmp_path / "m.zip").exists()


def test_defect_holdout_is_a_seeded_share_of_every_type() -> None:
    defects = [Sample(Path(f"{kind}{i}.png"), kind) for kind, count in (("crack", 10), ("spot", 5)) for i in range(count)]
    train, held = defect_holdout_split(defects, 0.2, seed=1)
    assert sorted(defects[i].defect_type for i in held) == ["crack", "crack", "spot"]
    assert not set(train) & set(held) and len(train) + len(held) == 15
    assert np.array_equal(defect_holdout_split(defects, 0.2, seed=1)[1], held)
    two = defects[:2]
    assert [len(part) for part in defect_holdout_split(two, 0.2, seed=0)] == [1, 1], "one held back, one to train on"
    assert [len(part) for part in defect_holdout_split(two[:1], 0.2, seed=0)] == [1, 0]


def test_every_epoch_draws_both_classes_equally_however_few_the_defects() -> None:
    batches = balanced_batches(goods=30, defects=3, batch_size=8, generator=torch.Generator().manual_seed(0))
    drawn = torch.cat(batches)
    assert len(drawn) == 60 and (drawn < 30).sum() == 30 and (drawn >= 30).sum() == 30
    assert sorted(set(drawn[drawn >= 30].tolist())) == [30, 31, 32] and set(drawn[drawn < 30].tolist()) == set(range(30))
    assert all(len(batch) >= 2 for batch in batches)


def test_augmentation_keeps_the_input_type_and_is_off_when_asked() -> None:
    images = torch.randint(0, 256, (4, 32, 32, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    off = AbnOptions(flips=False, shift=0, jitter=0)
    assert torch.equal(augment(images, off, torch.Generator()), images)
    changed = augment(images, AbnOptions(), torch.Generator().manual_seed(2))
    assert changed.dtype == torch.uint8 and changed.shape == images.shape and not torch.equal(changed, images)


def test_shipped_thresholds_flag_every_held_back_defect_and_reject_no_held_back_good() -> None:
    goods = np.array([0.01, 0.02, 0.02, 0.03, 0.05, 0.08])
    defects = np.array([0.04, 0.6, 0.97])  # one defect scores inside the good range
    stats = score_stats(goods)
    thresholds = supervised_thresholds(stats, goods, defects)
    assert thresholds.review == pytest.approx(0.04), "the lowest held-back defect goes to review"
    assert all(thresholds.classify(s) != "pass" for s in defects)
    assert all(thresholds.classify(s) != "reject" for s in goods)
    safe = initial_thresholds(stats)
    assert thresholds.review < safe.review and thresholds.reject == safe.reject, "a defect in the good range: more review"
    clean = supervised_thresholds(stats, goods, np.array([0.9, 0.95]))
    assert clean.review == just_above(stats.p95), "well separated: review stays just above the typical good range"
    assert clean.review > safe.review, "defects known: less review than the good-only default"
    assert clean.reject == pytest.approx(0.9), "rejected outright only when scoring like a confirmed defect"
