"""Fitting the autoencoders (`ae`: L2 loss, `ae-ssim`: SSIM loss, `ae-projected`: the L2
autoencoder scored through iterative gradient projection).

Adam on mini-batches of the good training images; after every epoch the loss on the held-back good
images is measured and the best weights so far are kept, so a run stopped by `--max-minutes` (or
by the epoch count) ends with the best checkpoint it saw.
"""

from __future__ import annotations

import math

import torch
from pydantic import ConfigDict, Field

from gaikan.models.nets.autoencoder import ConvAutoencoder
from gaikan.models.nets.reconstruction import ErrorKind, Projection, ReconstructionScorer
from gaikan.models.train_context import BestCheckpoint, MapScoreOptions, TrainContext, batches, shuffled_batches, to_tensor

TARGET_STEPS = 1000  # default epochs give about this many optimiser steps
_DEFAULT = Projection()


class AutoencoderOptions(MapScoreOptions):
    model_config = ConfigDict(extra="forbid")
    downsample: int = Field(2, ge=1, le=8, description="the autoencoder works at input size / downsample")
    base_channels: int = Field(32, ge=4, le=256)
    latent_dims: int = Field(100, ge=2, le=4096)
    batch_size: int = Field(8, ge=1, le=512)
    learning_rate: float = Field(1e-3, gt=0, le=1)
    weight_decay: float = Field(1e-5, ge=0, le=1)


class ProjectedOptions(AutoencoderOptions):
    projection_steps: int = Field(_DEFAULT.steps, ge=1, le=100)
    projection_rate: float = Field(_DEFAULT.rate, gt=0)
    projection_l1: float = Field(_DEFAULT.l1, ge=0)


def default_epochs(train_count: int, batch_size: int) -> int:
    return max(1, math.ceil(TARGET_STEPS / max(1, math.ceil(train_count / batch_size))))


def fit_ae(context: TrainContext) -> ReconstructionScorer:
    return _fit(context, "l2", projected=False)


def fit_ae_ssim(context: TrainContext) -> ReconstructionScorer:
    return _fit(context, "ssim", projected=False)


def fit_ae_projected(context: TrainContext) -> ReconstructionScorer:
    return _fit(context, "l2", projected=True)


def _fit(context: TrainContext, error: ErrorKind, projected: bool) -> ReconstructionScorer:
    options: AutoencoderOptions = context.options  # type: ignore[assignment]
    k = options.downsample
    if context.height % k or context.width % k:
        raise ValueError(f"image size {context.height}x{context.width} is not divisible by downsample={k}")
    network = ConvAutoencoder(context.channels, context.height // k, context.width // k, options.base_channels, options.latent_dims)
    scorer = ReconstructionScorer(
        network, context.channels, context.height, context.width, error, downsample=k, rule=options.score_rule
    )
    scorer = scorer.to(context.device)
    optimiser = torch.optim.Adam(network.parameters(), lr=options.learning_rate, weight_decay=options.weight_decay)
    generator = torch.Generator().manual_seed(context.seed)
    train = to_tensor(context.train, context.device)
    epochs = context.epochs or default_epochs(len(train), options.batch_size)
    best = BestCheckpoint()
    with context.progress(epochs, f"{'ae-ssim' if error == 'ssim' else 'ae'} epochs") as bar:
        for epoch in range(epochs):
            network.train()
            total, seen = 0.0, 0
            for index in shuffled_batches(len(train), options.batch_size, generator):
                x = scorer.prepare(train[index.to(context.device)])
                loss = reconstruction_loss(scorer, x)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                total, seen = total + loss.item() * len(index), seen + len(index)
                if context.deadline.expired:
                    break
            network.eval()
            held_loss = holdout_loss(scorer, context)
            best.offer(held_loss, network, epoch)
            bar.set_postfix(loss=f"{total / max(seen, 1):.4f}", holdout=f"{held_loss:.4f}")
            bar.update(1)
            if context.deadline.expired:
                context.notes["stopped_early"] = f"time budget reached in epoch {epoch + 1} of {epochs}"
                break
    best.restore(network)
    context.notes.update(epochs=epochs, best_epoch=best.epoch, best_holdout_loss=best.loss, loss=error)
    if projected:
        o: ProjectedOptions = options  # type: ignore[assignment]
        scorer.projection = Projection(o.projection_steps, o.projection_rate, o.projection_l1)
    return scorer.cpu().eval()


def reconstruction_loss(scorer: ReconstructionScorer, x: torch.Tensor) -> torch.Tensor:
    """Mean per-pixel error of the reconstruction (the scorer's own error: L2 or 1 - SSIM)."""
    return scorer.error_map(x, scorer.autoencoder(x)).mean()


@torch.no_grad()
def holdout_loss(scorer: ReconstructionScorer, context: TrainContext) -> float:
    total = 0.0
    for batch in batches(context.holdout, 16):
        total += float(reconstruction_loss(scorer, scorer.prepare(to_tensor(batch, context.device)))) * len(batch)
    return total / len(context.holdout)
