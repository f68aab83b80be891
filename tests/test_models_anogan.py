"""AnoGAN's latent search: the hand-written gradients equal autograd, and the unrolled search
finds a closer generated image than its start (what makes the score mean anything)."""

from __future__ import annotations

import pytest
import torch

from gaikan.models.nets.anogan import AnoGan, AnoGanScorer, sequential_vjp, traced


def _gan(seed: int = 0) -> AnoGan:
    torch.manual_seed(seed)
    gan = AnoGan(3, 32, 32, base=8, latent=16)
    for module in gan.modules():  # batch-norm statistics other than the identity, as after training
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return gan.eval()


def _scorer(gan: AnoGan, steps: int) -> AnoGanScorer:
    scorer = AnoGanScorer(gan, 3, 64, 64, downsample=2, lam=0.1, steps=steps, rate=0.05, starts=8, seed=1).eval()
    scorer.refresh_starts()
    return scorer


@pytest.mark.parametrize("part", ["generator", "features"])
def test_hand_written_vjp_equals_autograd(part: str) -> None:
    gan = _gan()
    layers = gan.generator.net if part == "generator" else gan.discriminator.features
    x = torch.randn(3, 16, 1, 1) if part == "generator" else torch.rand(3, 3, 32, 32) * 2 - 1
    x.requires_grad_(True)
    output = layers(x)
    cotangent = torch.randn_like(output)
    (expected,) = torch.autograd.grad((output * cotangent).sum(), x)
    with torch.no_grad():
        actual = sequential_vjp(layers, traced(layers, x.detach()), cotangent)
    assert torch.allclose(actual, expected, atol=1e-6 * float(expected.abs().max()))


def test_search_gradient_is_the_gradient_of_the_search_loss() -> None:
    gan = _gan()
    scorer = _scorer(gan, steps=1)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    fx = gan.discriminator.features(x).detach()
    z = torch.randn(2, 16, 1, 1, requires_grad=True)
    g = gan.generator(z)
    # Per image: mean |x - G(z)| and mean |f(x) - f(G(z))|, summed over the batch.
    loss = 0.9 * (x - g).abs().flatten(1).mean(1) + 0.1 * (fx - gan.discriminator.features(g)).abs().flatten(1).mean(1)
    (expected,) = torch.autograd.grad(loss.sum(), z)
    with torch.no_grad():
        actual = scorer.loss_gradient(x, fx, z.detach())
    assert torch.allclose(actual, expected, atol=1e-5 * float(expected.abs().max()))


def test_the_search_brings_the_generated_image_closer_than_its_start() -> None:
    gan = _gan()
    image = (torch.rand(4, 64, 64, 3) * 255).to(torch.uint8)
    with torch.no_grad():
        no_search, _ = _scorer(gan, steps=0)(image)
        searched, maps = _scorer(gan, steps=15)(image)
    assert (searched < no_search).all(), (searched, no_search)
    assert maps.shape == (4, 64, 64) and torch.isfinite(maps).all()
