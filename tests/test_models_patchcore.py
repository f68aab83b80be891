"""PatchCore on EfficientNet-Lite0: backbone, coreset, in-graph nearest-neighbour search, parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gaikan.models.nets.backbone import LiteFeatures, load_efficientnet_lite
from gaikan.models.package import read_package
from gaikan.models.runtime import OnnxModel
from gaikan.models.train import TrainResult
from gaikan.models.train_context import Deadline, TrainContext
from gaikan.models.train_patchcore import PatchCoreOptions, greedy_coreset
from tests.model_training import image_auroc, train_tiny


@pytest.fixture(scope="module")
def trained(synthetic_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    return train_tiny(synthetic_dataset, tmp_path_factory.mktemp("pc") / "pc.zip", "patchcore")


def test_backbone_is_the_pretrained_lite0_truncated_after_block_10() -> None:
    full = load_efficientnet_lite("lite0")
    features = LiteFeatures("lite0", network=full)
    assert len(features.blocks) == 11 and features.channels == 40 + 112 and features.stride == 8
    # The kept weights are the pretrained ones (not a fresh initialisation).
    assert torch.equal(features.blocks[10]._project_conv.weight, full._blocks[10]._project_conv.weight)
    out = features(torch.zeros(1, 3, 64, 96))
    assert out.shape == (1, 152, 8, 12)


@pytest.mark.parametrize(("name", "blocks", "channels"), [("lite1", 21, 40 + 112), ("lite2", 21, 48 + 120)])
def test_bigger_shipped_backbones_tap_the_same_strides(name: str, blocks: int, channels: int) -> None:
    full = load_efficientnet_lite(name)
    assert len(full._blocks) == blocks
    features = LiteFeatures(name, network=full)
    assert features.channels == channels and features.stride == 8
    assert torch.equal(features.blocks[14]._project_conv.weight, full._blocks[14]._project_conv.weight)
    assert features(torch.zeros(1, 3, 64, 96)).shape == (1, channels, 8, 12)


def test_unknown_backbone_is_refused() -> None:
    with pytest.raises(ValueError, match="lite0, lite1, lite2"):
        load_efficientnet_lite("resnet50")


def test_defects_outscore_good_parts(trained: TrainResult, synthetic_dataset: Path) -> None:
    assert image_auroc(OnnxModel(read_package(trained.path)), synthetic_dataset) >= 0.9


def test_memory_bank_is_capped_whatever_the_training_set_size(synthetic_dataset: Path, tmp_path: Path) -> None:
    result = train_tiny(synthetic_dataset, tmp_path / "small.zip", "patchcore", options={"bank_size": 100})
    assert result.module.bank_size == 100
    assert result.manifest.training.settings["fit"]["patches"] > 100
    assert OnnxModel(read_package(result.path)).run(np.zeros((3, 64, 64, 3), np.uint8)).scores.shape == (3,)


def test_greedy_coreset_covers_every_cluster() -> None:
    generator = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0], [100.0, 100.0]])
    points = torch.cat([c + torch.randn(200, 2, generator=generator) for c in centres])
    context = TrainContext(
        train=np.zeros((1, 16, 16, 3), np.uint8), holdout=np.zeros((1, 16, 16, 3), np.uint8),
        device=torch.device("cpu"), seed=0, deadline=Deadline(None), epochs=None,
        options=PatchCoreOptions(), show_progress=False,
    )  # fmt: skip
    chosen = greedy_coreset(points, 4, 64, generator, Deadline(None), context)
    clusters = {int(i) // 200 for i in chosen}
    assert clusters == {0, 1, 2, 3}


def test_time_budget_stops_the_coreset_and_still_writes_a_valid_package(synthetic_dataset: Path, tmp_path: Path) -> None:
    result = train_tiny(
        synthetic_dataset, tmp_path / "stopped.zip", "patchcore", max_minutes=1e-6, options={"bank_size": 200}
    )
    assert "stopped_early" in result.manifest.training.settings["fit"]
    assert result.module.bank_size < 200
    OnnxModel(read_package(result.path))


def test_big_training_sets_are_sampled_evenly_per_image(synthetic_dataset: Path, tmp_path: Path) -> None:
    result = train_tiny(synthetic_dataset, tmp_path / "sampled.zip", "patchcore", options={"max_patches": 100})
    assert result.manifest.training.settings["fit"]["patches"] == 100  # 10 training images x 10 patches
