"""Scoring datasets through the serving path and `gaikan eval`, with a real ONNX model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from gaikan.models import metrics
from gaikan.models.dataset import test_samples as dataset_test_samples
from gaikan.models.evaluate import Evaluation, evaluate, mask_at_model_resolution, score_dataset
from gaikan.models.package import InputSpec, Normalisation, read_package, with_changes, write_package
from gaikan.models.preprocess import read_image
from gaikan.models.runtime import OnnxModel
from gaikan.models.synthetic import render_part
from gaikan.service.cli import app

EVALUATION_KEYS = {
    "schema_version", "package", "data", "image_auroc", "zero_escape_threshold", "review_rate_at_zero_escapes",
    "at_package_threshold", "at_zero_escape", "good_scores", "defective_scores", "defect_types", "pixel",
    "images", "skipped", "warnings",
}  # fmt: skip
OPERATING_POINT_KEYS = {
    "reject", "review", "good_pass", "good_review", "good_reject", "defective_pass", "defective_review",
    "defective_reject", "good", "defective", "total", "escapes", "overkills", "flagged", "accuracy",
    "escape_rate", "overkill_rate", "flagged_share",
}  # fmt: skip


@pytest.fixture(scope="module")
def model(template_package_file: Path) -> OnnxModel:
    return OnnxModel(read_package(template_package_file))


def _copy_dataset(source: Path, target: Path) -> Path:
    shutil.copytree(source / "test", target / "test")
    shutil.copytree(source / "ground_truth", target / "ground_truth")
    return target


def test_scores_are_those_of_the_serving_path(model: OnnxModel, synthetic_dataset: Path) -> None:
    samples = dataset_test_samples(synthetic_dataset)
    scored = score_dataset(model, samples, root=synthetic_dataset, batch_size=3, progress=False)
    assert [i.path for i in scored.images] == [s.path for s in samples] and not scored.skipped
    for image in scored.images[:4]:
        direct = model.score_images([read_image(image.path)])
        assert image.score == float(direct.scores[0])
        np.testing.assert_array_equal(image.anomaly_map, direct.maps[0])
        assert image.anomaly_map.shape == (64, 64)
    assert all(i.mask is not None for i in scored.images if i.is_defective)


def test_masks_follow_the_image_crop_and_resize() -> None:
    spec = InputSpec(height=50, width=50, colour="rgb", resize="center_crop", normalisation=Normalisation(mean=[0], std=[1]))
    # A 100x200 image is cropped to its centre 100x100 (columns 50..149), then halved.
    mask = np.zeros((100, 200), bool)
    mask[:, :50] = True  # outside the crop: invisible to the model
    assert not mask_at_model_resolution(mask, spec).any()
    mask = np.zeros((100, 200), bool)
    mask[:50, 50:150] = True  # the top half of the crop
    resized = mask_at_model_resolution(mask, spec)
    assert resized.shape == (50, 50)
    assert resized[:25].all() and not resized[25:].any()
    stretch = spec.model_copy(update={"resize": "stretch"})
    assert mask_at_model_resolution(np.ones((100, 200), bool), stretch).all()


def test_evaluation_agrees_with_the_metrics_on_its_own_scores(model: OnnxModel, synthetic_dataset: Path) -> None:
    scored = score_dataset(model, dataset_test_samples(synthetic_dataset), root=synthetic_dataset, progress=False)
    result = evaluate(scored, model.manifest)
    scores = np.array([i.score for i in result.images])
    labels = np.array([i.defect_type != "good" for i in result.images])
    assert result.image_auroc == pytest.approx(metrics.auroc(scores, labels))
    assert result.zero_escape_threshold == scores[labels].min()
    assert result.at_zero_escape is not None and result.at_zero_escape.escapes == 0
    assert result.at_zero_escape.overkills == int((scores[~labels] >= scores[labels].min()).sum())
    reject = model.manifest.thresholds.reject
    assert result.at_package_threshold.reject == reject
    assert result.at_package_threshold.escapes == int((scores[labels] < reject).sum())
    assert result.at_package_threshold.overkills == int((scores[~labels] >= reject).sum())
    # Defect types in the order they start escaping: by their lowest score.
    lowest = [t.lowest for t in result.defect_types]
    assert lowest == sorted(lowest) and [t.escape_order for t in result.defect_types] == [1, 2, 3, 4]
    assert {t.defect_type for t in result.defect_types} == {"scratch", "spot", "crack", "missing_print"}
    assert result.pixel is not None and result.pixel.defective_images_with_mask == 8
    assert 0.5 < result.pixel.auroc <= 1 and 0 < result.pixel.aupro <= 1
    assert (result.pixel.height, result.pixel.width) == (64, 64)


def test_a_dataset_without_defects(model: OnnxModel, synthetic_dataset: Path, tmp_path: Path) -> None:
    shutil.copytree(synthetic_dataset / "test" / "good", tmp_path / "test" / "good")
    scored = score_dataset(model, dataset_test_samples(tmp_path), root=tmp_path, progress=False)
    result = evaluate(scored, model.manifest)
    assert result.data.defective == 0 and result.data.good == 6
    assert result.zero_escape_threshold is None and result.at_zero_escape is None
    assert result.image_auroc is None and result.review_rate_at_zero_escapes is None and result.pixel is None
    assert result.at_package_threshold.escape_rate is None
    assert result.at_package_threshold.overkills == sum(i.score >= model.manifest.thresholds.reject for i in scored.images)
    assert any("No defective images" in w for w in result.warnings)


def test_unreadable_files_are_named_and_nothing_else_is_lost(model: OnnxModel, synthetic_dataset: Path, tmp_path: Path) -> None:
    root = _copy_dataset(synthetic_dataset, tmp_path)
    (root / "test" / "good" / "broken.png").write_bytes(b"not an image")
    cv2.imwrite(str(root / "ground_truth" / "spot" / "000_mask.png"), np.zeros((10, 10), np.uint8))
    scored = score_dataset(model, dataset_test_samples(root), root=root, progress=False)
    assert len(scored.images) == 14  # every readable image is scored
    reasons = {scored.relative(s.path): s.reason for s in scored.skipped}
    assert set(reasons) == {"test/good/broken.png", "ground_truth/spot/000_mask.png"}
    assert "broken.png" in reasons["test/good/broken.png"]
    assert "10x10" in reasons["ground_truth/spot/000_mask.png"]
    spot = next(i for i in scored.images if i.path.name == "000.png" and i.defect_type == "spot")
    assert spot.mask is None  # scored, without ground truth
    result = evaluate(scored, model.manifest)
    assert [s.path for s in result.skipped] == ["test/good/broken.png", "ground_truth/spot/000_mask.png"]
    assert result.data.skipped == 2 and any("could not be used" in w for w in result.warnings)


def test_any_size_grey_or_colour_png_jpg_bmp_tif(model: OnnxModel, tmp_path: Path) -> None:
    part = render_part(5, 1, "spot", size=96)
    bgr = cv2.cvtColor(part.image, cv2.COLOR_RGB2BGR)
    grey = cv2.cvtColor(part.image, cv2.COLOR_RGB2GRAY)
    files = {
        "test/good/a.jpg": cv2.resize(bgr, (80, 60)),
        "test/good/b.bmp": grey,
        "test/good/c.TIF": (grey.astype(np.uint16) * 257),  # 16-bit grey
        "test/spot/d.png": bgr,
        "test/spot/e.tiff": cv2.resize(grey, (128, 96)),
    }
    for name, pixels in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(tmp_path / name), pixels)
    (tmp_path / "ground_truth" / "spot").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "ground_truth" / "spot" / "d_mask.png"), part.mask)
    scored = score_dataset(model, dataset_test_samples(tmp_path), root=tmp_path, progress=False)
    assert not scored.skipped and len(scored.images) == 5
    assert [i.mask is not None for i in scored.images] == [False, False, False, True, False]


def test_eval_command_prints_both_matrices_and_writes_documented_json(
    template_package_file: Path, synthetic_dataset: Path, tmp_path: Path
) -> None:
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(app, ["eval", str(template_package_file), "--data", str(synthetic_dataset), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "At the package threshold (reject >= 3)" in result.stdout
    assert "At the zero-escape threshold" in result.stdout
    assert "Review rate at zero escapes" in result.stdout and "Pixel AUROC" in result.stdout
    assert "scoring" in result.stderr  # the progress bar
    data = json.loads(out.read_text())
    assert set(data) == EVALUATION_KEYS
    assert set(data["at_package_threshold"]) == OPERATING_POINT_KEYS
    assert set(data["at_zero_escape"]) == OPERATING_POINT_KEYS
    assert data["at_zero_escape"]["escapes"] == 0
    assert Evaluation.model_validate(data).data.images == 14


def test_eval_command_warns_when_the_thresholds_are_not_calibrated_with_defects(
    template_package_file: Path, synthetic_dataset: Path, tmp_path: Path
) -> None:
    package = read_package(template_package_file)
    calibrated = write_package(with_changes(package, version="2", calibrated=True), tmp_path / "calibrated.zip")
    runs = {
        name: CliRunner().invoke(app, ["eval", str(path), "--data", str(synthetic_dataset), "--json", str(tmp_path / f"{name}.json"), "--no-progress"])
        for name, path in [("uncalibrated", template_package_file), ("calibrated", calibrated)]
    }
    assert all(run.exit_code == 0 for run in runs.values()), [run.output for run in runs.values()]
    assert "WARNING  The package's thresholds are not calibrated with defective images" in runs["uncalibrated"].stdout
    assert "not calibrated" not in runs["calibrated"].stdout
    figures = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in runs}
    assert figures["uncalibrated"]["package"]["calibrated"] is False and figures["calibrated"]["package"]["calibrated"] is True


def test_eval_command_errors_name_the_problem(template_package_file: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(app, ["eval", str(template_package_file), "--data", str(tmp_path)])
    assert empty.exit_code == 1 and "no test images" in empty.stderr
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"nope")
    bad_package = runner.invoke(app, ["eval", str(broken), "--data", str(tmp_path)])
    assert bad_package.exit_code == 1 and "broken.zip" in bad_package.stderr and "not a zip" in bad_package.stderr


def test_eval_command_when_nothing_can_be_read(template_package_file: Path, tmp_path: Path) -> None:
    (tmp_path / "test" / "good").mkdir(parents=True)
    (tmp_path / "test" / "good" / "empty.png").write_bytes(b"")
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(app, ["eval", str(template_package_file), "--data", str(tmp_path), "--json", str(out)])
    assert result.exit_code == 1 and "no image could be scored" in result.stderr
    assert "SKIPPED  test/good/empty.png: cannot read image file" in result.stdout
    assert json.loads(out.read_text())["skipped"][0]["path"] == "test/good/empty.png"
