"""Every architecture trains a few steps on tiny generated data, exports, agrees with ONNX Runtime
on unseen images, loads as a package through `OnnxModel` and serves through the service's line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel

from gaikan.models.export import compare, torch_scores
from gaikan.models.package import read_package
from gaikan.models.runtime import OnnxModel
from gaikan.models.architectures import architecture_entry
from gaikan.models.train_archs import architecture_names, get_architecture, parse_options
from tests.model_training import prepared_test_images, train_tiny

TINY = {
    "patchcore": {"bank_size": 256},
    "simplenet": {"hidden": 16, "batch_size": 64, "check_every": 50},
    "synthseg": {"hidden": 8, "bank_size": 64, "heads": 2},
    "ae": {"base_channels": 8, "latent_dims": 16},
    "ae-ssim": {"base_channels": 8, "latent_dims": 16},
    "ae-projected": {"base_channels": 8, "latent_dims": 16, "projection_steps": 2},
    "efficientgan": {"base_channels": 8, "latent_dims": 16, "downsample": 2},
    "anogan": {"base_channels": 8, "latent_dims": 16, "downsample": 2, "search_steps": 3, "starts": 8},
    "abn": {"hidden": 8, "batch_size": 8, "views": 2},
}


def test_every_registered_architecture_is_covered() -> None:
    assert sorted(TINY) == architecture_names()


@pytest.mark.parametrize("arch", sorted(TINY))
def test_each_registry_entry_names_its_training_code(arch: str) -> None:
    architecture = get_architecture(arch)
    assert architecture.summary == architecture_entry(arch).summary
    assert issubclass(architecture.options, BaseModel) and callable(architecture.fit)
    architecture.options.model_validate(TINY[arch])


def test_an_unknown_architecture_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown architecture 'resnet'; choose from abn, ae, ae-projected"):
        get_architecture("resnet")


@pytest.mark.parametrize("arch", sorted(TINY))
def test_trains_exports_and_onnx_runtime_agrees_with_torch(
    arch: str, synthetic_dataset: Path, supervised_dataset: Path, tmp_path: Path
) -> None:
    # A supervised architecture also trains on the defective images under train/<type>/.
    data = supervised_dataset if get_architecture(arch).supervised else synthetic_dataset
    result = train_tiny(data, tmp_path / f"{arch}.zip", arch, epochs=2, options=TINY[arch])
    model = OnnxModel(read_package(result.path))
    assert model.manifest.architecture == arch
    images, _ = prepared_test_images(data, model)
    onnx = model.run(images)
    tolerance = get_architecture(arch).parity_tolerance
    parity = compare(torch_scores(result.module, images), (onnx.scores, onnx.maps), tolerance=tolerance)
    assert parity.images == len(images) == 14
    assert onnx.scores.dtype == np.float32 and onnx.maps.shape == (14, 64, 64)
    assert np.isfinite(onnx.maps).all()
    # The batch axis is dynamic: one image alone scores as it does inside a batch.
    single = model.run(images[:1])
    assert np.allclose(single.scores, onnx.scores[:1], rtol=1e-4, atol=1e-6)
    _serves_through_the_line(result.path, data / "test" / "good", tmp_path / "line")


def _serves_through_the_line(package: Path, images: Path, data_dir: Path) -> None:
    """The package runs in the service: replayed parts are decided on its score, by its version."""
    from gaikan.camera.config import ReplayConfig
    from gaikan.service.line import Line
    from gaikan.service.pipeline import Overflow
    from gaikan.service.settings import Settings
    from tests.live_server import wait_for

    count = len(list(images.iterdir()))
    settings = Settings(
        data_dir=data_dir,
        camera=ReplayConfig(path=images, fps=None, loop=False),
        initial_model=package,
        overflow=Overflow.BLOCK,
    )
    line = Line(settings)
    line.start()
    try:
        wait_for(lambda: line.stores.decisions.last_seq() >= count)
        decisions = line.stores.decisions.page(limit=100)
    finally:
        line.stop()
    version = read_package(package).version
    assert len(decisions) == count
    assert all(d.record.reason.value == "score" and d.record.model_version == version for d in decisions)


@pytest.mark.parametrize("arch", ["ae", "efficientgan"])
def test_same_seed_same_trained_weights(arch: str, synthetic_dataset: Path, tmp_path: Path) -> None:
    first = train_tiny(synthetic_dataset, tmp_path / "a.zip", arch, epochs=2, options=TINY[arch])
    second = train_tiny(synthetic_dataset, tmp_path / "b.zip", arch, epochs=2, options=TINY[arch])
    assert first.manifest.graph_sha256 == second.manifest.graph_sha256


def test_topk_mean_image_score_is_exported_in_the_graph_and_recorded(synthetic_dataset: Path, tmp_path: Path) -> None:
    options = TINY["patchcore"] | {"image_score": "topk_mean", "topk_fraction": 0.01}
    result = train_tiny(synthetic_dataset, tmp_path / "topk.zip", "patchcore", options=options)
    model = OnnxModel(read_package(result.path))
    recorded = model.manifest.training.settings["options"]
    assert (recorded["image_score"], recorded["topk_fraction"]) == ("topk_mean", 0.01)
    images, _ = prepared_test_images(synthetic_dataset, model)
    onnx = model.run(images)
    compare(torch_scores(result.module, images), (onnx.scores, onnx.maps))
    # The score ONNX Runtime returns is the mean of the hottest 1 % (41 of 64 x 64) of its own map.
    pixels = np.sort(onnx.maps.reshape(len(images), -1), axis=1)
    assert np.allclose(onnx.scores, pixels[:, -41:].mean(axis=1), rtol=1e-5)
    assert (onnx.scores < pixels[:, -1]).all()


def test_an_unknown_image_score_rule_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="image_score"):
        parse_options(get_architecture("patchcore"), {"image_score": "median"})
    with pytest.raises(ValueError, match="topk_fraction"):
        parse_options(get_architecture("simplenet"), {"topk_fraction": 0})
