"""Fitting EfficientGAN as a BiGAN: D learns to tell (x, E(x)) from (G(z), z); E and G learn to
fool it (labels swapped, the usual non-saturating form). Adam(2e-4, beta1 = 0.5).

GAN training is slow on a CPU (about 0.1 step/s at 256 px on two cores), so by default the GAN
works at a quarter of the input size (64 px for a 256 px input): the input is average-pooled
inside the graph and the map brought back to input size. After every epoch the held-back good
images' mean score is measured and the weights with the lowest are kept (the best checkpoint).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from gaikan.models.nets.efficientgan import EfficientGan, EfficientGanScorer
from gaikan.models.train_context import BestCheckpoint, TrainContext, batches, shuffled_batches, to_tensor

TARGET_STEPS = 2000


class GanOptions(BaseModel):
    """Options every GAN architecture shares."""

    model_config = ConfigDict(extra="forbid")
    downsample: int = Field(4, ge=1, le=16, description="the GAN works at input size / downsample")
    base_channels: int = Field(32, ge=4, le=256)
    latent_dims: int = Field(64, ge=2, le=1024)
    batch_size: int = Field(16, ge=2, le=512)
    learning_rate: float = Field(2e-4, gt=0, le=1)


class EfficientGanOptions(GanOptions):
    lam: float = Field(0.9, ge=0, le=1, description="weight of the pixel term in the score")


def fit_efficientgan(context: TrainContext) -> EfficientGanScorer:
    options: EfficientGanOptions = context.options  # type: ignore[assignment]
    k = options.downsample
    gan = EfficientGan(context.channels, *working_size(context, k), options.base_channels, options.latent_dims)
    scorer = EfficientGanScorer(gan, context.channels, context.height, context.width, options.lam, k).to(context.device)
    optimise_d = gan_adam(gan.discriminator.parameters(), options.learning_rate)
    optimise_eg = gan_adam([*gan.encoder.parameters(), *gan.generator.parameters()], options.learning_rate)
    train_gan(
        context, gan, scorer, lambda x, z: _step(gan, x, z, optimise_d, optimise_eg),
        batch_size=options.batch_size, name="efficientgan", losses=("d", "eg"),
    )  # fmt: skip
    return scorer.cpu().eval()


def working_size(context: TrainContext, downsample: int) -> tuple[int, int]:
    """(height, width) where the GAN works: the input size / `downsample`, which must divide it."""
    if context.height % downsample or context.width % downsample:
        raise ValueError(f"image size {context.height}x{context.width} is not divisible by downsample={downsample}")
    return context.height // downsample, context.width // downsample


def gan_adam(parameters: Any, learning_rate: float) -> torch.optim.Adam:
    return torch.optim.Adam(parameters, lr=learning_rate, betas=(0.5, 0.999))  # DCGAN's beta1


def train_gan(
    context: TrainContext, gan: nn.Module, scorer: Any, step: Callable[[torch.Tensor, torch.Tensor], tuple[float, float]],
    *, batch_size: int, name: str, losses: tuple[str, str], check_every_steps: int | None = None,
    before_check: Callable[[], None] = lambda: None,
) -> None:  # fmt: skip
    """The GAN epochs: `context.epochs`, or as many as give about TARGET_STEPS optimiser steps, in a
    seeded order; the held-back mean score is checked after every epoch (or, with
    `check_every_steps`, when that many steps have passed, and after the last epoch) and the best
    weights are restored at the end. Stops cleanly at the deadline; records what it did in the notes."""
    generator = torch.Generator().manual_seed(context.seed)
    train = to_tensor(context.train, context.device)
    batch_size = min(batch_size, len(train))
    epochs = context.epochs or max(1, math.ceil(TARGET_STEPS / max(1, len(train) // batch_size)))
    best = BestCheckpoint()
    steps = 0
    with context.progress(epochs, f"{name} epochs") as bar:
        for epoch in range(epochs):
            gan.train()
            first, second, epoch_steps = gan_epoch(scorer, gan.latent, train, batch_size, generator, context, step)
            steps += epoch_steps
            gan.eval()
            last = epoch == epochs - 1 or context.deadline.expired
            if check_every_steps is None or last or steps // check_every_steps != (steps - epoch_steps) // check_every_steps:
                before_check()
                held = holdout_score(scorer, context)
                best.offer(held, gan, epoch)
                bar.set_postfix({losses[0]: f"{first:.3f}", losses[1]: f"{second:.3f}", "holdout": f"{held:.4f}"})
            bar.update(1)
            if context.deadline.expired:
                context.notes["stopped_early"] = f"time budget reached in epoch {epoch + 1} of {epochs}"
                break
    best.restore(gan)
    gan.eval()
    context.notes.update(epochs=epochs, steps=steps, best_epoch=best.epoch, best_holdout_score=best.loss)


def gan_epoch(
    scorer: Any, latent: int, train: torch.Tensor, batch_size: int, generator: torch.Generator,
    context: TrainContext, step: Callable[[torch.Tensor, torch.Tensor], tuple[float, float]],
) -> tuple[float, float, int]:  # fmt: skip
    """One epoch of GAN steps over `train` in a seeded order, each on the prepared batch and prior
    draws z; stops early at the deadline. (mean first loss, mean second loss, steps taken)."""
    totals = [0.0, 0.0]
    steps = 0
    for index in shuffled_batches(len(train), batch_size, generator):
        if len(index) < 2:  # batch norm needs two samples
            continue
        x = scorer.prepare(train[index.to(context.device)])
        z = torch.randn(len(index), latent, 1, 1, generator=generator).to(context.device)
        losses = step(x, z)
        totals = [totals[0] + losses[0], totals[1] + losses[1]]
        steps += 1
        if context.deadline.expired:
            break
    return totals[0] / max(steps, 1), totals[1] / max(steps, 1), steps


def _step(
    gan: EfficientGan, x: torch.Tensor, z: torch.Tensor, optimise_d: torch.optim.Optimizer, optimise_eg: torch.optim.Optimizer
) -> tuple[float, float]:
    ones = torch.ones(len(x), device=x.device)
    zeros = torch.zeros(len(x), device=x.device)
    encoded = gan.encoder(x)
    generated = gan.generator(z)
    d = gan.discriminator
    real, fake = d(x, encoded.detach()), d(generated.detach(), z)
    d_loss = F.binary_cross_entropy_with_logits(real, ones) + F.binary_cross_entropy_with_logits(fake, zeros)
    optimise_d.zero_grad(set_to_none=True)
    d_loss.backward()
    optimise_d.step()
    real, fake = d(x, encoded), d(generated, z)
    eg_loss = F.binary_cross_entropy_with_logits(real, zeros) + F.binary_cross_entropy_with_logits(fake, ones)
    optimise_eg.zero_grad(set_to_none=True)
    eg_loss.backward()
    optimise_eg.step()
    return d_loss.item(), eg_loss.item()


@torch.no_grad()
def holdout_score(scorer: torch.nn.Module, context: TrainContext) -> float:
    """Mean score of the held-back good images (lower is better: they are good); any scoring module."""
    total = 0.0
    for batch in batches(context.holdout, 16):
        total += float(scorer(to_tensor(batch, context.device))[0].sum())
    return total / len(context.holdout)
