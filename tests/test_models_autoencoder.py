"""The autoencoders (`ae`, `ae-ssim`, `ae-projected`): hand-written vector-Jacobian product, SSIM,
best checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch

from gaikan.models.nets.autoencoder import ConvAutoencoder
from gaikan.models.nets.ssim import SSIMMap
from gaikan.models.package import read_package
from gaikan.models.runtime import OnnxModel
from tests.model_training import train_tiny


def test_hand_written_vjp_equals_autograd() -> None:
    torch.manual_seed(0)
    network = ConvAutoencoder(3, 32, 48, base=8, latent=16)
    x = torch.rand(2, 3, 32, 48, requires_grad=True)
    output, trace = network.forward_with_trace(x)
    cotangent = torch.randn_like(output)
    (expected,) = torch.autograd.grad((output * cotangent).sum(), x)
    actual = network.vjp(x.shape, trace, output, cotangent)
    assert expected.abs().mean() > 1e-2  # the initialisation lets the input gradient through
    torch.testing.assert_close(actual, expected, rtol=1e-3, atol=1e-5 * float(expected.abs().max()))


def test_ssim_is_one_for_identical_images_and_lower_where_they_differ() -> None:
    ssim = SSIMMap(channels=1)
    x = torch.rand(1, 1, 32, 32)
    assert torch.allclose(ssim(x, x), torch.ones_like(x), atol=1e-4)
    y = x.clone()
    y[..., 10:20, 10:20] = 1.0 - y[..., 10:20, 10:20]
    similarity = ssim(x, y)
    assert similarity[..., 14, 14] < 0.5 and similarity[..., 1, 1] > 0.99


def test_time_budget_keeps_the_best_checkpoint_so_far(synthetic_dataset: Path, tmp_path: Path) -> None:
    result = train_tiny(
        synthetic_dataset, tmp_path / "ae.zip", "ae", epochs=50, max_minutes=1e-6,
        options={"base_channels": 8, "latent_dims": 16},
    )  # fmt: skip
    fit = result.manifest.training.settings["fit"]
    assert "stopped_early" in fit and fit["best_epoch"] == 0
    OnnxModel(read_package(result.path))
