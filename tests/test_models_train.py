"""`gaikan train`: hold-back split, manifest contents, colour, determinism, CLI, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gaikan.models.calibrate import just_above
from gaikan.models.package import InputSpec, ModelPackage, OutputSpec, PackageError, build_manifest, read_package, with_changes
from gaikan.models.runtime import OnnxModel
from gaikan.models.synthetic import write_dataset
from gaikan.models.train import DEFAULT_ARCHITECTURE, detect_colour, holdout_split, initial_thresholds, score_stats
from gaikan.service.cli import app
from tests.model_training import train_tiny


def test_holdout_split_is_seeded_disjoint_and_never_empty() -> None:
    train, held = holdout_split(31, 0.2, seed=4)
    assert len(held) == 6 and len(train) == 25 and not set(train) & set(held)
    assert np.array_equal(holdout_split(31, 0.2, seed=4)[1], held)
    assert not np.array_equal(holdout_split(31, 0.2, seed=5)[1], held)
    assert [len(part) for part in holdout_split(2, 0.2, seed=0)] == [1, 1]
    with pytest.raises(ValueError, match="at least 2"):
        holdout_split(1, 0.2, seed=0)


def test_colour_is_grey_only_when_every_image_is_grey() -> None:
    grey = np.full((8, 8), 100, np.uint8)
    grey_as_rgb = np.repeat(grey[:, :, None], 3, axis=2)
    colour = grey_as_rgb.copy()
    colour[0, 0, 0] = 7
    assert detect_colour([grey, grey_as_rgb]) == "gray"
    assert detect_colour([grey, colour]) == "rgb"


def test_safe_defaults_review_above_the_good_range_and_reject_clearly_beyond_it() -> None:
    held_back = np.array([10.0, 11.0, 12.0, 14.0])  # p50 11.5, p85 13.1 (linear interpolation)
    thresholds = initial_thresholds(score_stats(held_back))
    assert thresholds.review == just_above(13.1) and thresholds.classify(13.1) == "pass"
    assert thresholds.reject == pytest.approx(14.0 + 2.0 * (14.0 - 11.5))
    outcomes = [thresholds.classify(s) for s in (*held_back, 13.11, 18.9, 19.0, 25.0)]
    assert outcomes == ["pass"] * 3 + ["review"] * 3 + ["reject", "reject"]  # no good part rejected


def test_safe_defaults_need_the_p85_of_the_held_back_scores() -> None:
    old = score_stats(np.array([1.0, 2.0])).model_copy(update={"p85": None})  # a package from before the rule
    with pytest.raises(ValueError, match="p85"):
        initial_thresholds(old)


def test_safe_defaults_on_scores_that_are_all_alike_small_or_negative() -> None:
    flat = initial_thresholds(score_stats(np.array([5.0, 5.0])))
    assert flat.review == just_above(5.0) and flat.classify(5.0) == "pass" and flat.reject == pytest.approx(5.0 + 2.0 * 0.25)
    zeros = initial_thresholds(score_stats(np.array([0.0, 0.0])))
    assert zeros.classify(0.0) == "pass" and 0 < zeros.review < zeros.reject
    negative = initial_thresholds(score_stats(np.array([-8.0, -6.0, -5.0])))
    assert [negative.classify(s) for s in (-5.5, -5.0, -3.0)] == ["pass", "review", "reject"]  # p85 -5.3, reject -3
    huge = initial_thresholds(score_stats(np.array([3e38, 3e38])))  # no room above in float32
    assert huge.review < huge.reject


def test_manifest_records_what_was_trained_and_how(synthetic_dataset: Path, tmp_path: Path) -> None:
    result = train_tiny(synthetic_dataset, tmp_path / "m.zip", "patchcore", seed=3, name="line-1", version="7")
    manifest = read_package(result.path).manifest
    assert (manifest.name, manifest.version, manifest.architecture) == ("line-1", "7", "patchcore")
    assert manifest.input.normalisation.mean == [127.0] * 3 and manifest.input.normalisation.std == [128.0] * 3
    assert manifest.training.data.file_count == 12
    settings = manifest.training.settings
    assert settings["seed"] == 3 and settings["holdout_images"] == 2 and settings["train_images"] == 10
    assert manifest.score_stats.count == 2
    assert manifest.thresholds.reject > manifest.score_stats.max and manifest.thresholds.review > manifest.score_stats.p85
    assert manifest.calibrated is False and "review" in settings["threshold_rule"]
    assert manifest.training.seconds > 0
    assert np.allclose(np.sort(result.holdout_scores), [manifest.score_stats.min, manifest.score_stats.max])


def test_same_seed_same_graph(synthetic_dataset: Path, tmp_path: Path) -> None:
    first = train_tiny(synthetic_dataset, tmp_path / "a.zip", "patchcore", options={"bank_size": 64})
    second = train_tiny(synthetic_dataset, tmp_path / "b.zip", "patchcore", options={"bank_size": 64})
    assert first.manifest.graph_sha256 == second.manifest.graph_sha256


def test_grey_data_gives_a_grey_model(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "grey", train_good=4, test_good=0, test_per_defect=0, size=48, seed=5, grey=True)
    result = train_tiny(data, tmp_path / "g.zip", "patchcore", size=48)
    assert result.manifest.input.colour == "gray"
    model = OnnxModel(read_package(result.path))
    assert model.score_images([np.zeros((100, 80), np.uint8)]).maps.shape == (1, 48, 48)


def test_a_package_whose_manifest_does_not_match_its_graph_is_refused(synthetic_dataset: Path, tmp_path: Path) -> None:
    result = train_tiny(synthetic_dataset, tmp_path / "m.zip", "patchcore")
    package = read_package(result.path)
    wrong_size = with_changes(package, input=InputSpec(**(package.manifest.input.model_dump() | {"height": 128})))
    with pytest.raises(PackageError, match="input shape"):
        OnnxModel(wrong_size)
    wrong_colour = with_changes(package, input=InputSpec(**(package.manifest.input.model_dump() | {"colour": "gray"})))
    with pytest.raises(PackageError, match="input shape"):
        OnnxModel(wrong_colour)
    renamed = with_changes(package, outputs=OutputSpec(anomaly_map="heatmap"))
    with pytest.raises(PackageError, match="no output 'heatmap'"):
        OnnxModel(renamed)
    garbage = package.onnx_bytes[: len(package.onnx_bytes) // 3]
    fields = package.manifest.model_dump(exclude={"graph_sha256"})
    truncated = ModelPackage(manifest=build_manifest(garbage, **fields), onnx_bytes=garbage)
    with pytest.raises(PackageError, match="cannot load the graph"):
        OnnxModel(truncated)


def test_cli_trains_a_package_and_names_bad_options(synthetic_dataset: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli.zip"
    args = ["train", "--data", str(synthetic_dataset), "--arch", "patchcore", "--out", str(out), "--image-size", "64", "--quiet"]
    result = runner.invoke(app, [*args, "--set", "bank_size=128", "--version", "v3"])
    assert result.exit_code == 0, result.output
    assert read_package(out).manifest.version == "v3"
    assert json.loads(read_package(out).manifest.model_dump_json())["training"]["settings"]["options"]["bank_size"] == 128

    bad_option = runner.invoke(app, [*args, "--set", "bank=3"])
    assert bad_option.exit_code == 2 and "bank" in bad_option.output and "bank_size" in bad_option.output
    bad_arch = runner.invoke(app, [*args[:4], "nope", *args[5:]])
    assert bad_arch.exit_code == 2 and "unknown architecture 'nope'" in bad_arch.output
    no_data = runner.invoke(app, ["train", "--data", str(tmp_path / "none"), "--arch", "patchcore", "--out", str(out)])
    assert no_data.exit_code == 2 and "train/good" in no_data.output
    bad_size = runner.invoke(app, [*args[:-2], "60", "--quiet"])
    assert bad_size.exit_code == 2 and "multiple of 16" in bad_size.output


def test_cli_without_arch_trains_the_default_architecture(synthetic_dataset: Path, tmp_path: Path) -> None:
    from gaikan.models.train_archs import architecture_names

    assert DEFAULT_ARCHITECTURE in architecture_names()
    out = tmp_path / "default.zip"
    args = ["train", "--data", str(synthetic_dataset), "--out", str(out), "--image-size", "64", "--epochs", "1", "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert read_package(out).manifest.architecture == DEFAULT_ARCHITECTURE
