"""`gaikan dataset export` on a real line's re-checked parts; calibrate and train read the result."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from gaikan.service.cli import app
from gaikan.service.line import Stores
from tests.conftest import replay_settings
from tests.live_server import LiveServer, wait_decided, wait_pictures

COUNT = 15  # parts 2, 4, 7, 9, 12, 14 are scratches or cracks (rejected); the rest good (passed)


def cli(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def line_data(tmp_path_factory: pytest.TempPathFactory, template_model_file: Path) -> Path:
    """A data directory after a 15-part run where people re-checked every reject and one pass."""
    root = tmp_path_factory.mktemp("line")
    settings = replay_settings(root, COUNT, template_model_file, fps=60, loop=False, camera_id="cam", keep_pass_fraction=1.0)
    with LiveServer(settings) as live, live.client() as client:
        wait_decided(client, COUNT)
        wait_pictures(client, COUNT)
        items = client.get("/api/v1/results", params={"limit": 100}).json()["items"]
        by_source = {Path(item["source"]).stem: item for item in items}
        for stem, item in by_source.items():
            if item["decision"] == "reject":
                kind = stem.split("_")[1]  # scratch or crack
                body = {"verdict": "defective", "defect_type": kind} if kind == "scratch" else {"verdict": "defective"}
                assert client.put(f"/api/v1/results/{item['seq']}/recheck", json=body).status_code == 200
        client.put(f"/api/v1/results/{by_source['0000_good']['seq']}/recheck", json={"verdict": "good", "note": "checked"})
    return root / "data"


def test_export_writes_the_mvtec_layout_and_releases_the_images(line_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    result = cli("dataset", "export", "--data-dir", line_data, "--out", out, "--passes", 5, "--test-share", 0.4)
    assert result.exit_code == 0, result.output
    files = {str(p.relative_to(out)) for p in out.rglob("*.png")}
    folders = sorted({f.rsplit("/", 1)[0] for f in files})
    assert folders == ["test/good", "test/scratch", "test/unspecified", "train/good"]
    assert sum(f.startswith("test/scratch/") for f in files) == 3 and sum(f.startswith("test/unspecified/") for f in files) == 3
    assert sum(f.startswith("train/good/") for f in files) == 3
    assert sum(f.startswith("test/good/") for f in files) == 1 + 2, "the part found good and two sampled passes"
    assert sorted(p.name for p in (out / "ground_truth").iterdir()) == ["scratch", "unspecified"]
    assert not any((out / "ground_truth").rglob("*.png")), "no masks were drawn on the line"
    index = json.loads((out / "gaikan-export.json").read_text())
    assert {part["file"] for part in index["parts"]} == files
    checked = next(part for part in index["parts"] if part["verdict"] == "good")
    assert checked["note"] == "checked" and checked["decision"] == "pass" and checked["model_version"] == "t1"

    stores = Stores.open(f"sqlite:///{line_data / 'gaikan.db'}")
    part = next(p for p in index["parts"] if p["file"].startswith("test/scratch/"))
    original = cv2.imread(stores.decisions.get(part["seq"]).image_path)
    assert np.array_equal(cv2.imread(str(out / part["file"])), original)
    assert stores.rechecks.unexported(list(range(1, COUNT + 1))) == set(), "exported: retention may delete them now"
    assert "12 images, 6 defective" in result.output

    again = cli("dataset", "export", "--data-dir", line_data, "--out", out)
    assert again.exit_code == 1 and "not an empty folder" in again.output
    naive = cli("dataset", "export", "--data-dir", line_data, "--out", tmp_path / "x", "--since", "2026-01-01T00:00:00")
    assert naive.exit_code != 0 and "time zone" in naive.output


def test_calibrate_reads_the_export(line_data: Path, tmp_path: Path, template_model_file: Path) -> None:
    out = tmp_path / "export"
    assert cli("dataset", "export", "--data-dir", line_data, "--out", out, "--passes", 5).exit_code == 0
    result = cli("calibrate", template_model_file, "--data", out, "--out", tmp_path / "cal.zip", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "Calibrated on 2 good and 6 defective images" in result.output
    assert "escapes 0" in result.output


@pytest.mark.slow
def test_retraining_from_the_export_is_one_command(line_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    assert cli("dataset", "export", "--data-dir", line_data, "--out", out, "--passes", 100, "--test-share", 0.3).exit_code == 0
    pytest.importorskip("torch", reason="training needs the train extra")
    result = cli("train", "--data", out, "--arch", "patchcore", "--image-size", 64, "--out", tmp_path / "new.zip", "--quiet")
    assert result.exit_code == 0, result.output
    evaluated = cli("eval", tmp_path / "new.zip", "--data", out, "--no-progress")
    assert evaluated.exit_code == 0, evaluated.output


@pytest.mark.slow
def test_abn_trains_on_the_export_and_its_package_flags_every_held_back_defect(line_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    assert cli("dataset", "export", "--data-dir", line_data, "--out", out, "--passes", 100).exit_code == 0
    pytest.importorskip("torch", reason="training needs the train extra")
    from gaikan.models.dataset import test_samples
    from gaikan.models.package import read_package
    from gaikan.models.preprocess import read_image
    from gaikan.models.runtime import OnnxModel

    package_file = tmp_path / "abn.zip"
    args = ("train", "--data", out, "--arch", "abn", "--image-size", 64, "--epochs", 1, "--set", "hidden=8", "--set", "views=1", "--quiet")
    result = cli(*args, "--out", package_file)
    assert result.exit_code == 0, result.output
    manifest = read_package(package_file).manifest
    recorded = manifest.training.settings
    assert manifest.architecture == "abn" and manifest.calibrated, "held-back confirmed defects set the thresholds"
    assert recorded["defect_source"].startswith("a gaikan dataset export")
    assert recorded["defect_train_images"] + recorded["defect_holdout_images"] == 6 and recorded["defect_holdout_images"] >= 1
    assert all(manifest.thresholds.classify(s) != "pass" for s in recorded["holdout_defect_scores"])
    assert "calibrated on" in result.output

    evaluated = cli("eval", package_file, "--data", out, "--no-progress")
    assert evaluated.exit_code == 0, evaluated.output
    # The serving path (ONNX Runtime, no torch): a defect probability and an attention map per part.
    samples = test_samples(out)
    scores = OnnxModel(read_package(package_file)).score_images([read_image(s.path) for s in samples])
    assert scores.maps.shape == (len(samples), 64, 64)
    assert ((scores.scores >= 0) & (scores.scores <= 1)).all() and ((scores.maps >= 0) & (scores.maps <= 1)).all()
