"""Fitting SimpleNet: extract the frozen features of the good training images once, then train the
adaptor and the discriminator on random mini-batches of training patches.

Each step takes `batch_size` good patches, adapts them (z) and makes anomalous ones by adding
Gaussian noise (z + noise * N(0, 1), in standardised feature units), and minimises SimpleNet's
truncated L1 loss: max(0, margin - D(z)) + max(0, margin + D(z + noise)). After every
`check_every` steps the same loss on the held-back images' patches (with seeded noise) is measured
and the best weights so far are kept, so a run stopped by `--max-minutes` keeps the best it saw.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import ConfigDict, Field

from gaikan.models.nets.backbone import BACKBONES, LiteFeatures, check_input_size
from gaikan.models.nets.simplenet import SimpleNet
from gaikan.models.train_context import BestCheckpoint, MapScoreOptions, TrainContext
from gaikan.models.train_patchcore import extract_patches

MARGIN = 0.5


class SimpleNetOptions(MapScoreOptions):
    model_config = ConfigDict(extra="forbid")
    backbone: Literal[tuple(BACKBONES)] = Field("lite0", description="shipped ImageNet EfficientNet-Lite network")  # type: ignore[valid-type]
    hidden: int = Field(256, ge=4, le=4096, description="discriminator hidden width")
    noise: float = Field(0.5, gt=0, description="std of the synthetic feature noise, in standardised feature units")
    steps: int = Field(1000, ge=1, description="optimiser steps (`--epochs N` means N x 100 steps)")
    check_every: int = Field(100, ge=1, description="steps between held-back checks")
    batch_size: int = Field(512, ge=2, le=65536, description="patches per step")
    learning_rate: float = Field(2e-4, gt=0, le=1)
    max_patches: int = Field(250_000, ge=64, description="most training patches kept (a random, per-image even sample)")


def fit_simplenet(context: TrainContext) -> SimpleNet:
    options: SimpleNetOptions = context.options  # type: ignore[assignment]
    check_input_size("simplenet", context.height, context.width)
    features = LiteFeatures(options.backbone)
    model = SimpleNet(
        features, context.height, context.width, context.channels, options.hidden, options.score_rule
    ).to(context.device)
    model.eval()
    generator = torch.Generator().manual_seed(context.seed)
    train = extract_patches(model.embed, context.train, context, 8, options.max_patches, generator)
    model.set_feature_stats(train.mean(dim=0), train.std(dim=0))
    train = _standardised(model, train)
    held = _standardised(model, extract_patches(model.embed, context.holdout, context, 8, options.max_patches, generator))
    steps = context.epochs * 100 if context.epochs else options.steps
    held_noise = torch.randn(held.shape, generator=generator).to(context.device) * options.noise
    trainable = list(model.adaptor.parameters()) + list(model.discriminator.parameters())
    optimiser = torch.optim.Adam(trainable, lr=options.learning_rate, weight_decay=1e-5)
    best = BestCheckpoint()
    with context.progress(steps, "simplenet steps") as bar:
        for step in range(1, steps + 1):
            model.adaptor.train()
            model.discriminator.train()
            index = torch.randint(len(train), (options.batch_size,), generator=generator).to(context.device)
            noise = torch.randn((options.batch_size, train.shape[1]), generator=generator).to(context.device)
            loss = discriminator_loss(model, train[index], noise * options.noise)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            bar.update(1)
            if step % options.check_every == 0 or step == steps or context.deadline.expired:
                model.eval()
                with torch.no_grad():
                    held_loss = float(discriminator_loss(model, held, held_noise))
                best.offer(held_loss, model, step)
                bar.set_postfix(loss=f"{loss.item():.4f}", holdout=f"{held_loss:.4f}")
            if context.deadline.expired:
                context.notes["stopped_early"] = f"time budget reached at step {step} of {steps}"
                break
    best.restore(model)
    context.notes.update(steps=steps, best_step=best.epoch, best_holdout_loss=best.loss, patches=int(len(train)))
    return model.cpu().eval()


def discriminator_loss(model: SimpleNet, rows: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """SimpleNet's truncated L1 loss on (P, D) standardised good patch features and (P, D) noise."""
    good = model.adaptor(rows)
    logits_good = model.discriminator(good)[:, 0]
    logits_noisy = model.discriminator(good + noise)[:, 0]
    return torch.clamp(MARGIN - logits_good, min=0).mean() + torch.clamp(MARGIN + logits_noisy, min=0).mean()


def _standardised(model: SimpleNet, rows: torch.Tensor) -> torch.Tensor:
    """(P, D) feature rows in the model's standardised units."""
    return model.standardise(rows[:, :, None, None])[:, :, 0, 0]
