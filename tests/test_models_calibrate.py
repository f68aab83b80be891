"""Calibration rules against hand-computed thresholds, and `gaikan calibrate` end to end."""

from __future__ import annotations

import json
import math
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from gaikan.models.calibrate import CalibrationError, calibrate, calibrated_package, just_above, next_version
from gaikan.models.package import read_package
from tests.test_service_cli import flat, run

GOOD = np.array([1.0, 2.0, 3.0, 4.0, 5.0])  # std sqrt(2)
DEFECTS = np.array([3.5, 6.0, 7.0])


def test_zero_escape_rule_by_hand() -> None:
    result = calibrate(GOOD, DEFECTS)
    assert result.thresholds.reject == 3.5 and result.thresholds.review is None
    assert result.confusion.escapes == 0 and result.confusion.overkills == 2  # good 4 and 5
    assert "zero escapes" in result.rule
    assert result.score_stats is not None and result.score_stats.count == 5 and result.score_stats.max == 5.0


def test_margin_is_in_standard_deviations_of_the_good_scores() -> None:
    result = calibrate(GOOD, DEFECTS, margin=1.0)
    assert result.thresholds.reject == pytest.approx(3.5 - math.sqrt(2))
    assert result.confusion.escapes == 0 and result.confusion.overkills == 3  # good 3, 4, 5


def test_good_images_only_rule_never_rejects_a_known_good_part() -> None:
    result = calibrate(GOOD, np.array([]))
    assert result.thresholds.reject == just_above(5.0)
    assert 5.0 < result.thresholds.reject < 5.001
    assert np.float32(5.0) < result.thresholds.reject  # the highest good (a float32 score) passes
    assert result.confusion.overkills == 0
    assert "about 16.7%" in result.rule  # expected overkill 1 / (5 + 1)
    assert any("no defective images" in w for w in result.warnings)
    with_margin = calibrate(GOOD, np.array([]), margin=2.0)
    assert with_margin.thresholds.reject == pytest.approx(5.0 + 2 * math.sqrt(2))


def test_good_images_that_all_score_the_same_still_give_a_usable_threshold() -> None:
    result = calibrate(np.array([2.0, 2.0, 2.0]), np.array([]), margin=1.0, review=True)
    assert result.thresholds.reject == just_above(2.0) and result.thresholds.review is None
    assert result.confusion.overkills == 0
    assert any("margin has no effect" in w for w in result.warnings)
    assert any("no review band" in w for w in result.warnings)


def test_two_levels_when_goods_and_defects_overlap() -> None:
    result = calibrate(GOOD, DEFECTS, review=True)
    # review at the lowest defect, reject just above the highest good part.
    assert result.thresholds.review == 3.5 and result.thresholds.reject == just_above(5.0)
    matrix = result.confusion
    assert (matrix.good_pass, matrix.good_review, matrix.good_reject) == (3, 2, 0)
    assert (matrix.defective_pass, matrix.defective_review, matrix.defective_reject) == (0, 1, 2)


def test_two_levels_collapse_to_one_when_defects_and_goods_separate() -> None:
    result = calibrate(np.array([1.0, 2.0, 3.0]), np.array([6.0, 7.0]), review=True)
    assert result.thresholds.reject == 6.0 and result.thresholds.review is None
    assert any("no review band needed" in w for w in result.warnings)


def test_two_levels_with_good_images_only_use_the_quantile() -> None:
    goods = np.arange(1.0, 21.0)  # 20 values; 0.95 quantile 19.05
    result = calibrate(goods, np.array([]), review=True, review_quantile=0.95)
    assert result.thresholds.review == just_above(19.05) and result.thresholds.reject == just_above(20.0)
    assert (result.confusion.good_pass, result.confusion.good_review, result.confusion.good_reject) == (19, 1, 0)


def test_defects_below_every_good_part_are_called_useless_not_hidden() -> None:
    result = calibrate(np.array([5.0, 6.0]), np.array([1.0]))
    assert result.thresholds.reject == 1.0  # still zero escapes ...
    assert any("useless threshold" in w for w in result.warnings)  # ... and said plainly


def test_calibration_refuses_what_it_cannot_do() -> None:
    with pytest.raises(CalibrationError, match="no scored images"):
        calibrate(np.array([]), np.array([]))
    with pytest.raises(CalibrationError, match="non-finite"):
        calibrate(np.array([1.0, np.nan]), np.array([]))
    with pytest.raises(CalibrationError, match="margin"):
        calibrate(GOOD, DEFECTS, margin=-1)
    defects_only = calibrate(np.array([]), np.array([3.0, 4.0]))
    assert defects_only.thresholds.reject == 3.0 and defects_only.score_stats is None
    assert any("no good images" in w for w in defects_only.warnings)


def test_next_version_replaces_an_earlier_calibration_suffix() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert next_version("1", now) == "1-cal20260102030405"
    assert next_version("1-cal20250101000000", now) == "1-cal20260102030405"
    assert len(next_version("v" * 64, now)) == 64


def test_calibrated_package_is_a_new_version(template_package_file: Path) -> None:
    package = read_package(template_package_file)
    new = calibrated_package(package, calibrate(GOOD, DEFECTS), "2")
    assert new.version == "2" and new.manifest.thresholds.reject == 3.5
    assert new.manifest.calibrated and not package.manifest.calibrated
    assert not calibrated_package(package, calibrate(GOOD, []), "3").manifest.calibrated  # no defects: still not
    assert new.manifest.score_stats is not None and new.manifest.score_stats.count == 5
    assert new.onnx_bytes == package.onnx_bytes and package.manifest.thresholds.reject == 3.0
    with pytest.raises(CalibrationError, match="new version"):
        calibrated_package(package, calibrate(GOOD, DEFECTS), package.version)


def _run(*args: object) -> object:
    return run(*args)


def test_calibrate_command_writes_a_zero_escape_package(
    template_package_file: Path, synthetic_dataset: Path, tmp_path: Path
) -> None:
    before = template_package_file.read_bytes()
    out = tmp_path / "calibrated.zip"
    result = _run("calibrate", template_package_file, "--data", synthetic_dataset, "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    assert template_package_file.read_bytes() == before  # never edited in place
    new = read_package(out)
    assert new.version.startswith("1-cal") and new.manifest.score_stats.count == 6
    assert new.manifest.calibrated
    report = tmp_path / "eval.json"
    evaluation = _run("eval", out, "--data", synthetic_dataset, "--json", report, "--no-progress")
    assert evaluation.exit_code == 0, evaluation.output
    data = json.loads(report.read_text())
    assert new.manifest.thresholds.reject == data["zero_escape_threshold"]
    assert data["at_package_threshold"]["escapes"] == 0
    assert data["at_package_threshold"]["overkills"] == data["at_zero_escape"]["overkills"]


def test_calibrate_command_two_levels(template_package_file: Path, synthetic_dataset: Path, tmp_path: Path) -> None:
    measured = tmp_path / "eval.json"
    assert _run("eval", template_package_file, "--data", synthetic_dataset, "--json", measured).exit_code == 0
    data = json.loads(measured.read_text())
    lowest_defect, good = data["zero_escape_threshold"], data["good_scores"]
    # This model separates the data; a margin wider than half the gap makes a review band.
    margin = (lowest_defect - good["max"]) / (2 * good["std"]) + 0.5
    out = tmp_path / "two-level.zip"
    result = _run(
        "calibrate", template_package_file, "--data", synthetic_dataset, "--out", out,
        "--review", "--margin", margin, "--version", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    new = read_package(out)
    assert new.version == "2"
    assert new.manifest.thresholds.review == pytest.approx(lowest_defect - margin * good["std"])
    assert new.manifest.thresholds.reject == pytest.approx(good["max"] + margin * good["std"], rel=1e-6)
    assert "escapes 0" in result.stdout and "review" in result.stdout
    separated = _run("calibrate", template_package_file, "--data", synthetic_dataset, "--out", tmp_path / "s.zip", "--review")
    assert "no review band needed" in separated.stdout
    assert read_package(tmp_path / "s.zip").manifest.thresholds.reject == lowest_defect


def test_calibrate_command_with_good_images_only(
    template_package_file: Path, synthetic_dataset: Path, tmp_path: Path
) -> None:
    data = tmp_path / "goods"
    shutil.copytree(synthetic_dataset / "test" / "good", data / "test" / "good")
    out = tmp_path / "goods.zip"
    result = _run("calibrate", template_package_file, "--data", data, "--out", out)
    assert result.exit_code == 0, result.output
    assert "good parts only" in result.stdout and "WARNING  no defective images" in result.stdout
    assert read_package(out).manifest.thresholds.reject == just_above(read_package(out).manifest.score_stats.max)
    assert not read_package(out).manifest.calibrated  # good images only: not calibrated with defects


def test_calibrate_command_refuses_to_overwrite(template_package_file: Path, synthetic_dataset: Path, tmp_path: Path) -> None:
    in_place = _run("calibrate", template_package_file, "--data", synthetic_dataset, "--out", template_package_file)
    assert in_place.exit_code == 2 and "never edits a package in place" in flat(in_place.stderr)  # a usage error
    existing = tmp_path / "existing.zip"
    existing.write_bytes(b"keep me")
    refused = _run("calibrate", template_package_file, "--data", synthetic_dataset, "--out", existing)
    assert refused.exit_code == 1 and "--force" in flat(refused.stderr) and existing.read_bytes() == b"keep me"
    forced = _run("calibrate", template_package_file, "--data", synthetic_dataset, "--out", existing, "--force")
    assert forced.exit_code == 0 and read_package(existing).version.startswith("1-cal")


def test_calibrate_command_stops_on_unreadable_files_unless_told(
    template_package_file: Path, synthetic_dataset: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(synthetic_dataset / "test", data / "test")
    (data / "test" / "crack" / "bad.png").write_bytes(b"\x89PNG broken")
    out = tmp_path / "out.zip"
    stopped = _run("calibrate", template_package_file, "--data", data, "--out", out)
    assert stopped.exit_code == 1 and "test/crack/bad.png" in flat(stopped.stderr) and not out.exists()
    skipped = _run("calibrate", template_package_file, "--data", data, "--out", out, "--skip-unreadable")
    assert skipped.exit_code == 0 and out.exists()
