"""synthseg: the synthetic-defect painter paints what its mask says, and the graph fuses the head's
map with PatchCore's as documented, several heads are averaged, and a time budget keeps what was
trained (its training, export and parity run in the tiny-training table of
test_models_architectures.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
import torch

from gaikan.models.export import export_onnx
from gaikan.models.nets.backbone import LiteFeatures
from gaikan.models.nets.synthseg import SynthSeg
from gaikan.models.package import read_package
from gaikan.models.runtime import OnnxModel
from gaikan.models.synthetic_defects import crack_mask, paint_defect, painted_batches
from tests.model_training import prepared_test_images, train_tiny


def _good_images(count: int, height: int = 48, width: int = 80) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(90, 170, size=(count, height, width, 1), dtype=np.uint8)


def test_painted_pixels_are_exactly_where_the_mask_says() -> None:
    rng = np.random.default_rng(0)
    for image in _good_images(30):
        painted, mask = paint_defect(image, rng)
        assert painted.shape == image.shape and painted.dtype == np.uint8
        assert mask.shape == image.shape[:2] and 0 <= mask.min() and mask.max() <= 1 and mask.max() > 0.2
        untouched = mask == 0
        assert np.array_equal(painted[untouched], image[untouched])
        # Where the paint is at least half opaque the pixel moved visibly (darker by >= 40 % or brighter by >= 40 levels).
        strong = mask >= 0.5
        moved = np.abs(painted[..., 0].astype(int) - image[..., 0].astype(int))[strong]
        assert (moved >= 8).mean() > 0.9


def test_painting_is_seeded() -> None:
    images = _good_images(3)
    first = list(painted_batches(images, copies=2, seed=5, batch_size=4))
    again = list(painted_batches(images, copies=2, seed=5, batch_size=4))
    other = list(painted_batches(images, copies=2, seed=6, batch_size=4))
    assert [len(b[0]) for b in first] == [4, 2]
    for (a_img, a_mask), (b_img, b_mask) in zip(first, again, strict=True):
        assert np.array_equal(a_img, b_img) and np.array_equal(a_mask, b_mask)
    assert not np.array_equal(first[0][1], other[0][1])


def test_cracks_are_thin_lines() -> None:
    rng = np.random.default_rng(1)
    for _ in range(30):
        crack = crack_mask(rng, 96, 96) >= 0.5
        ys, xs = np.nonzero(crack)
        assert len(ys) > 0
        assert max(np.ptp(ys), np.ptp(xs)) >= 6  # a line, not a dot
        # At most 3 px wide: nothing of it survives an erosion that a 5 px wide stroke would.
        assert cv2.erode(crack.astype(np.uint8), np.ones((5, 5), np.uint8)).sum() == 0


@pytest.fixture(scope="module")
def features() -> LiteFeatures:
    return LiteFeatures("lite0")


@torch.no_grad()
def test_graph_adds_the_standardised_bank_map_to_the_standardised_head_map(features: LiteFeatures) -> None:
    torch.manual_seed(0)
    model = SynthSeg(features, 64, 64, 1, hidden=8, patchcore_weight=0.5).eval()
    model.memory.set(torch.randn(32, features.channels))
    model.set_map_stats(head_mean=0.2, head_std=0.5, bank_mean=3.0, bank_std=2.0)
    image = torch.randint(0, 256, (2, 64, 64, 1), dtype=torch.uint8)
    feats = model.embed(image)
    expected = (model.seg(feats) - 0.2) / 0.5 + 0.5 * (model.memory(feats) - 3.0) / 2.0
    assert torch.allclose(model.raw_map(feats), expected, atol=1e-5)


@torch.no_grad()
def test_heads_are_averaged_each_in_its_own_good_image_units(features: LiteFeatures) -> None:
    torch.manual_seed(0)
    model = SynthSeg(features, 64, 64, 1, hidden=8, patchcore_weight=0.0, heads=2).eval()
    model.seg.set_stats(means=[1.0, -2.0], stds=[0.5, 4.0])
    model.set_map_stats(head_mean=0.1, head_std=2.0, bank_mean=0.0, bank_std=1.0)
    feats = model.embed(torch.randint(0, 256, (2, 64, 64, 1), dtype=torch.uint8))
    first, second = (head(feats) for head in model.seg.heads)
    mean = ((first - 1.0) / 0.5 + (second + 2.0) / 4.0) / 2
    assert not torch.allclose(first, second)  # two heads, two initialisations
    assert torch.allclose(model.raw_map(feats), (mean - 0.1) / 2.0, atol=1e-5)


def test_patchcore_weight_zero_exports_the_head_alone(features: LiteFeatures) -> None:
    fused = SynthSeg(features, 64, 64, 1, hidden=8, patchcore_weight=1.0).eval()
    fused.memory.set(torch.randn(32, features.channels))
    alone = SynthSeg(features, 64, 64, 1, hidden=8, patchcore_weight=0.0).eval()
    ops = [{node.op_type for node in onnx.load_from_string(export_onnx(m, 64, 64, 1)).graph.node} for m in (fused, alone)]
    assert "ReduceMin" in ops[0] and "ReduceMin" not in ops[1]  # no nearest-neighbour search


def test_time_budget_keeps_the_heads_trained_so_far_in_a_valid_package(synthetic_dataset: Path, tmp_path: Path) -> None:
    result = train_tiny(
        synthetic_dataset, tmp_path / "stopped.zip", "synthseg", max_minutes=1e-6,
        options={"heads": 3, "hidden": 8, "bank_size": 32, "steps": 5},
    )  # fmt: skip
    fit = result.manifest.training.settings["fit"]
    assert "stopped_early" in fit and fit["heads"] == 1
    assert len(result.module.seg) == 1 and result.module.seg.stats.shape == (1, 2)
    package = read_package(result.path)
    scores = OnnxModel(package).run(prepared_test_images(synthetic_dataset, OnnxModel(package))[0]).scores
    assert np.isfinite(scores).all()
