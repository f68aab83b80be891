"""The shipped demo model package (`make demo-model`) on the demo line the service replays."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from gaikan.models.package import read_package
from gaikan.models.preprocess import read_image
from gaikan.models.runtime import OnnxModel
from gaikan.models.synthetic import write_demo_line

MARGIN = 1.1  # good parts score at least 10 % below the threshold, defects at least 10 % above


@pytest.fixture(scope="module")
def demo_model() -> OnnxModel:
    path = Path(str(files("gaikan.models") / "shipped" / "demo.zip"))
    return OnnxModel(read_package(path))


def test_demo_package_is_small_and_describes_itself(demo_model: OnnxModel) -> None:
    manifest = demo_model.manifest
    assert manifest.name == "demo" and manifest.architecture == "patchcore"
    assert (manifest.input.height, manifest.input.width, manifest.input.colour) == (256, 256, "rgb")
    assert manifest.score_stats is not None and manifest.score_stats.max < manifest.thresholds.reject
    assert len(demo_model.package.onnx_bytes) < 5_000_000


def test_demo_line_goods_pass_and_defects_are_rejected_with_margin(demo_model: OnnxModel, tmp_path: Path) -> None:
    folder = write_demo_line(tmp_path / "line", count=24)
    paths = sorted(folder.glob("*.png"))
    scores = demo_model.score_images([read_image(p) for p in paths]).scores
    reject = demo_model.manifest.thresholds.reject
    defective = np.array([not p.stem.endswith("_good") for p in paths])
    assert defective.sum() == 6 and (~defective).sum() == 18
    good_scores, defect_scores = scores[~defective], scores[defective]
    assert good_scores.max() * MARGIN <= reject, f"a good part scores {good_scores.max():.2f}, threshold {reject:.2f}"
    assert defect_scores.min() >= reject * MARGIN, f"a defect scores {defect_scores.min():.2f}, threshold {reject:.2f}"
