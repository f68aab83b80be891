"""Fitting SynthSeg (`gaikan.models.nets.synthseg`): self-supervised on synthetic defects.

1. Frozen backbone features of the good training images and of `copies` painted versions of each
   (`gaikan.models.synthetic_defects`, seeded) are computed once, kept in half precision; each
   painted image's target is the share of every feature cell the paint covers (x 3, capped at 1:
   a thin crack covering a third of a cell counts as a defect there); good images' targets are 0.
2. With `patchcore_weight` > 0, PatchCore's bank is chosen from the good training features (an
   even per-image sample of at most `max_patches`, greedy k-center coreset of `bank_size` rows, as
   `train_patchcore`).
3. Each of the `heads` heads (its own initialisation and batches) trains `steps` optimiser steps on
   random batches of those maps: focal (gamma 2) x 10 + Dice loss, AdamW, cosine learning rate. A
   run stopped by the time budget keeps the heads as they are (later heads untrained are dropped).
4. The maps of the held-back good images give the means and standard deviations that put every
   head's map, their mean and the bank's map in the same units inside the graph (the held-back
   images never enter a gradient or the bank).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import ConfigDict, Field

from gaikan.models.nets.backbone import BACKBONES, LiteFeatures, check_input_size
from gaikan.models.nets.synthseg import SynthSeg
from gaikan.models.synthetic_defects import painted_batches
from gaikan.models.train_context import MapScoreOptions, TrainContext, batches, to_tensor
from gaikan.models.train_patchcore import greedy_coreset, patches_per_image, sample_rows

COVER_GAIN = 3.0  # a cell whose area is a third painted is a defect cell
FOCAL_WEIGHT = 10.0


class SynthSegOptions(MapScoreOptions):
    model_config = ConfigDict(extra="forbid")
    backbone: Literal[tuple(BACKBONES)] = Field("lite0", description="shipped ImageNet EfficientNet-Lite network")  # type: ignore[valid-type]
    patchcore_weight: float = Field(
        1.0, ge=0, le=100, description="weight of PatchCore's standardised map added to the head's; 0 = head only"
    )
    copies: int = Field(3, ge=1, le=32, description="painted copies of each training image")
    hidden: int = Field(32, ge=2, le=1024, description="channels of the head's first convolution")
    heads: int = Field(3, ge=1, le=16, description="heads trained from different seeds, their standardised maps averaged")
    steps: int = Field(1200, ge=1, description="optimiser steps per head (`--epochs N`: N passes over the good and painted maps)")
    batch_size: int = Field(8, ge=2, le=256, description="feature maps per step")
    learning_rate: float = Field(1e-3, gt=0, le=1)
    bank_size: int = Field(4096, ge=16, le=65536, description="most memory-bank rows (with patchcore_weight > 0)")
    projection_dims: int = Field(64, ge=8, le=1024, description="random projection used only by the coreset search")
    max_patches: int = Field(100_000, ge=64, description="most training patches the coreset is chosen from")


def fit_synthseg(context: TrainContext) -> SynthSeg:
    options: SynthSegOptions = context.options  # type: ignore[assignment]
    check_input_size("synthseg", context.height, context.width)
    model = SynthSeg(
        LiteFeatures(options.backbone), context.height, context.width, context.channels,
        options.hidden, options.patchcore_weight, options.score_rule, options.heads,
    ).to(context.device).eval()  # fmt: skip
    generator = torch.Generator().manual_seed(context.seed)
    good = _features(model, context.train, context, "features (good)")
    painted, cover = _painted_features(model, context, options.copies)
    if model.uses_bank:
        rows = sample_rows(good, patches_per_image(good, len(good), options.max_patches), generator).float()
        chosen = greedy_coreset(rows, options.bank_size, options.projection_dims, generator, context.deadline, context)
        model.memory.set(rows[chosen])
        context.notes.update(patches=int(rows.shape[0]), bank_size=int(chosen.numel()))
        del rows
    feats = torch.cat([good, painted])
    targets = torch.cat([torch.zeros(len(good), 1, *cover.shape[-2:]), cover])
    del good, painted
    _train_heads(model, feats, targets, options, context, generator)
    del feats, targets
    _standardise_maps(model, _features(model, context.holdout, context, "features (held back)"), context)
    return model.cpu().eval()


@torch.no_grad()
def _features(model: SynthSeg, images: np.ndarray, context: TrainContext, description: str) -> torch.Tensor:
    """(N, D, h, w) half-precision features of (N, H, W, C) uint8 images, on the CPU."""
    out = []
    with context.progress(len(images), description) as bar:
        for batch in batches(images, 8):
            out.append(model.embed(to_tensor(batch, context.device)).half().cpu())
            bar.update(len(batch))
    return torch.cat(out)


@torch.no_grad()
def _painted_features(model: SynthSeg, context: TrainContext, copies: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Features of the painted copies and their (N, 1, h, w) per-cell targets in [0, 1]."""
    feats, cover = [], []
    stride = model.features.stride
    with context.progress(len(context.train) * copies, "features (painted)") as bar:
        for images, masks in painted_batches(context.train, copies, context.seed, 8):
            feats.append(model.embed(to_tensor(images, context.device)).half().cpu())
            cell_share = F.avg_pool2d(torch.from_numpy(masks)[:, None], stride)
            cover.append((cell_share * COVER_GAIN).clamp(max=1.0))
            bar.update(len(images))
    return torch.cat(feats), torch.cat(cover)


def segmentation_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Focal (gamma 2, soft targets) x FOCAL_WEIGHT + Dice over the batch."""
    p = torch.sigmoid(logits)
    bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    focal = (bce * (p - targets).abs() ** 2).mean()
    dice = 1 - (2 * (p * targets).sum() + 1) / (p.sum() + targets.sum() + 1)
    return focal * FOCAL_WEIGHT + dice


def _train_heads(
    model: SynthSeg,
    feats: torch.Tensor,
    targets: torch.Tensor,
    options: SynthSegOptions,
    context: TrainContext,
    generator: torch.Generator,
) -> None:
    # `--epochs N`: N passes over the good and painted maps.
    steps = context.epochs * -(-len(feats) // options.batch_size) if context.epochs else options.steps
    heads = model.seg.heads
    trained, done, loss = 0, 0, torch.zeros(())
    with context.progress(steps * len(heads), f"synthseg steps ({len(heads)} heads)") as bar:
        for head in heads:
            optimiser = torch.optim.AdamW(head.parameters(), lr=options.learning_rate, weight_decay=1e-4)
            schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
            head.train()
            for done in range(1, steps + 1):
                index = torch.randint(len(feats), (options.batch_size,), generator=generator)
                batch = feats[index].to(context.device).float()
                loss = segmentation_loss(head(batch), targets[index].to(context.device))
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                schedule.step()
                bar.update(1)
                if done % 50 == 0 or done == steps:
                    bar.set_postfix(loss=f"{loss.item():.4f}")
                if context.deadline.expired:
                    break
            head.eval()
            trained += 1
            if context.deadline.expired:
                context.notes["stopped_early"] = f"time budget reached at step {done} of {steps} of head {trained}"
                break
    model.seg.keep_first(trained)
    context.notes.update(heads=trained, steps=done, final_loss=round(float(loss.item()), 6), maps=int(len(feats)))


@torch.no_grad()
def _standardise_maps(model: SynthSeg, held: torch.Tensor, context: TrainContext) -> None:
    """Set the graph's map statistics from the held-back good images' head and bank maps: each
    head's own, then their mean's, then the bank's."""
    held_batches = [held[start : start + 8].to(context.device).float() for start in range(0, len(held), 8)]
    per_head = [torch.cat([head(batch).cpu() for batch in held_batches]) for head in model.seg.heads]
    model.seg.set_stats([float(m.mean()) for m in per_head], [float(m.std()) for m in per_head])
    head_maps = torch.cat([model.seg(batch).cpu() for batch in held_batches])
    bank_maps = torch.cat([model.memory(batch).cpu() for batch in held_batches]) if model.uses_bank else torch.zeros(2)
    stats = (float(head_maps.mean()), float(head_maps.std()), float(bank_maps.mean()), float(bank_maps.std()))
    model.set_map_stats(*stats)
    context.notes["map_stats"] = [round(v, 6) for v in stats]
