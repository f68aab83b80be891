"""Fitting EfficientGAN as a BiGAN: D learns to tell (x, E(x)) from (G(z), z); E and G learn to
fool it (labels swapped, the usual non-saturating form). Adam(2e-4, beta1 = 0.5).

GAN training is slow on a CPU (about 0.1 step/s at 256 px on two cores), so by default the GAN
works at a quarter of the input size (64 px for a 256 px input): the input is average-pooled
inside the graph and the map brought back to input size. After every epoch the held-back good
images' mean score is measured and the weights with the lowest are kept (the best checkpoint).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field

from gaikan.models.nets.efficientgan import EfficientGan, EfficientGanScorer
from gaikan.models.train_context import BestCheckpoint, TrainContext, batches, shuffled_batches, to_tensor

TARGET_STEPS = 2000


class EfficientGanOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    downsample: int = Field(4, ge=1, le=16, description="the GAN works at input size / downsample")
    base_channels: int = Field(32, ge=4, le=256)
    latent_dims: int = Field(64, ge=2, le=1024)
    batch_size: int = Field(16, ge=2, le=512)
    learning_rate: float = Field(2e-4, gt=0, le=1)
    lam: float = Field(0.9, ge=0, le=1, description="weight of the pixel term in the score")


def fit_efficientgan(context: TrainContext) -> EfficientGanScorer:
    options: EfficientGanOptions = context.options  # type: ignore[assignment]
    k = options.downsample
    if context.height % k or context.width % k:
        raise ValueError(f"image size {context.height}x{context.width} is not divisible by downsample={k}")
    gan = EfficientGan(context.channels, context.height // k, context.width // k, options.base_channels, options.latent_dims)
    scorer = EfficientGanScorer(gan, context.channels, context.height, context.width, options.lam, k).to(context.device)
    betas = (0.5, 0.999)
    optimise_d = torch.optim.Adam(gan.discriminator.parameters(), lr=options.learning_rate, betas=betas)
    optimise_eg = torch.optim.Adam(
        [*gan.encoder.parameters(), *gan.generator.parameters()], lr=options.learning_rate, betas=betas
    )
    generator = torch.Generator().manual_seed(context.seed)
    train = to_tensor(context.train, context.device)
    batch_size = min(options.batch_size, len(train))
    epochs = context.epochs or max(1, math.ceil(TARGET_STEPS / max(1, len(train) // batch_size)))
    best = BestCheckpoint()
    with context.progress(epochs, "efficientgan epochs") as bar:
        for epoch in range(epochs):
            gan.train()
            d_total = eg_total = 0.0
            steps = 0
            for index in shuffled_batches(len(train), batch_size, generator):
                if len(index) < 2:  # batch norm needs two samples
                    continue
                x = scorer.prepare(train[index.to(context.device)])
                z = torch.randn(len(index), gan.latent, 1, 1, generator=generator).to(context.device)
                d_loss, eg_loss = _step(gan, x, z, optimise_d, optimise_eg)
                d_total, eg_total, steps = d_total + d_loss, eg_total + eg_loss, steps + 1
                if context.deadline.expired:
                    break
            gan.eval()
            held = holdout_score(scorer, context)
            best.offer(held, gan, epoch)
            bar.set_postfix(d=f"{d_total / max(steps, 1):.3f}", eg=f"{eg_total / max(steps, 1):.3f}", holdout=f"{held:.4f}")
            bar.update(1)
            if context.deadline.expired:
                context.notes["stopped_early"] = f"time budget reached in epoch {epoch + 1} of {epochs}"
                break
    best.restore(gan)
    context.notes.update(epochs=epochs, best_epoch=best.epoch, best_holdout_score=best.loss)
    return scorer.cpu().eval()


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
def holdout_score(scorer: EfficientGanScorer, context: TrainContext) -> float:
    """Mean score of the held-back good images (lower is better: they are good)."""
    total = 0.0
    for batch in batches(context.holdout, 16):
        total += float(scorer(to_tensor(batch, context.device))[0].sum())
    return total / len(context.holdout)
