"""Fitting AnoGAN's DCGAN: D learns to tell good images from G(z); G learns to fool it (the usual
non-saturating form). Adam(2e-4, beta1 = 0.5), as in DCGAN.

Like `efficientgan`, the GAN works at a quarter of the input size by default (64 px for a 256 px
input). Every `CHECK_EVERY` optimiser steps (and at the end) the held-back good images are scored
with the full latent search and the weights with the lowest mean score are kept.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

from gaikan.models.nets.anogan import AnoGan, AnoGanScorer
from gaikan.models.train_context import TrainContext
from gaikan.models.train_gan import GanOptions, gan_adam, train_gan, working_size

CHECK_EVERY = 200  # optimiser steps between held-back checks (each runs the latent search)


class AnoGanOptions(GanOptions):
    lam: float = Field(0.1, ge=0, le=1, description="weight of the discrimination (feature) loss in the search and score")
    search_steps: int = Field(20, ge=1, le=500, description="Adam steps of the latent search, unrolled in the graph")
    search_rate: float = Field(0.05, gt=0, le=10, description="Adam step size in latent space")
    starts: int = Field(64, ge=1, le=4096, description="stored latent starts; the nearest generated image starts the search")


def fit_anogan(context: TrainContext) -> AnoGanScorer:
    options: AnoGanOptions = context.options  # type: ignore[assignment]
    k = options.downsample
    gan = AnoGan(context.channels, *working_size(context, k), options.base_channels, options.latent_dims)
    scorer = AnoGanScorer(
        gan, context.channels, context.height, context.width, downsample=k, lam=options.lam,
        steps=options.search_steps, rate=options.search_rate, starts=options.starts, seed=context.seed,
    ).to(context.device)  # fmt: skip
    optimise_d = gan_adam(gan.discriminator.parameters(), options.learning_rate)
    optimise_g = gan_adam(gan.generator.parameters(), options.learning_rate)
    train_gan(
        context, gan, scorer, lambda x, z: _step(gan, x, z, optimise_d, optimise_g), batch_size=options.batch_size,
        name="anogan", losses=("d", "g"), check_every_steps=CHECK_EVERY, before_check=scorer.refresh_starts,
    )  # fmt: skip
    scorer.refresh_starts()
    return scorer.cpu().eval()


def _step(
    gan: AnoGan, x: torch.Tensor, z: torch.Tensor, optimise_d: torch.optim.Optimizer, optimise_g: torch.optim.Optimizer
) -> tuple[float, float]:
    ones = torch.ones(len(x), device=x.device)
    zeros = torch.zeros(len(x), device=x.device)
    d = gan.discriminator
    generated = gan.generator(z)
    d_loss = F.binary_cross_entropy_with_logits(d(x), ones) + F.binary_cross_entropy_with_logits(d(generated.detach()), zeros)
    optimise_d.zero_grad(set_to_none=True)
    d_loss.backward()
    optimise_d.step()
    g_loss = F.binary_cross_entropy_with_logits(d(generated), ones)
    optimise_g.zero_grad(set_to_none=True)
    g_loss.backward()
    optimise_g.step()
    return d_loss.item(), g_loss.item()

