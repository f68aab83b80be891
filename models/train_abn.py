"""Fitting ABN (`gaikan.models.nets.abn`): the heads learn good against defective on frozen
EfficientNet-Lite features; the loss is the sum of both branches' binary cross-entropies, as in the
paper (attention branch weighted by `attention_weight`).

The backbone is frozen, so its features are computed once: for every training image, `views`
copies (the image itself and `views - 1` randomly augmented ones), kept as float16 (memory:
images x views x D x h x w x 2 bytes; Lite0 at 256 px: 0.3 MB per view). Each epoch then draws one
view per image, and costs only the two small heads. Augmentation, on the uint8 images before the
graph's own input stage: mirror and rotation by 90° steps (`flips`; turn it off when orientation is
part of what makes a part good), a shift of up to `shift` of the image side (reflected border),
brightness and contrast within +-`jitter`.

Few defects: every epoch draws as many defective as good images (defects repeat, in other views),
so both classes weigh the same in every epoch.

The weights after the last epoch are kept (no best-of selection): the held-back images set the
shipped thresholds (`gaikan.models.train`), and choosing the weights on them too would make those
thresholds optimistic. Their loss is shown and recorded for information.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field

from gaikan.models.nets.abn import AttentionBranchNet
from gaikan.models.nets.backbone import BACKBONES, LiteFeatures, check_input_size
from gaikan.models.train_context import TrainContext, batches, to_tensor


class AbnOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    backbone: Literal[tuple(BACKBONES)] = Field("lite0", description="shipped ImageNet EfficientNet-Lite network (frozen)")  # type: ignore[valid-type]
    hidden: int = Field(64, ge=4, le=1024, description="channels of both branches")
    epochs: int = Field(60, ge=1, description="epochs when --epochs is not given")
    views: int = Field(8, ge=1, le=64, description="feature copies kept per training image: itself and views - 1 augmented")
    batch_size: int = Field(16, ge=2, le=512)
    learning_rate: float = Field(1e-3, gt=0, le=1)
    weight_decay: float = Field(1e-4, ge=0, le=1)
    attention_weight: float = Field(1.0, ge=0, description="weight of the attention branch's loss")
    flips: bool = Field(True, description="augment with mirror images and 90° rotations")
    shift: float = Field(0.0625, ge=0, lt=0.5, description="augment with shifts up to this share of the image side")
    jitter: float = Field(0.1, ge=0, lt=1, description="augment brightness and contrast within +- this share")


def fit_abn(context: TrainContext) -> AttentionBranchNet:
    options: AbnOptions = context.options  # type: ignore[assignment]
    check_input_size("abn", context.height, context.width)
    if len(context.defects) == 0:
        raise ValueError("abn needs defective training images besides the good ones")
    model = AttentionBranchNet(LiteFeatures(options.backbone), context.height, context.width, context.channels, options.hidden)
    model = model.to(context.device)
    generator = torch.Generator().manual_seed(context.seed)
    cache = cached_views(model, np.concatenate([context.train, context.defects]), options, generator, context)
    labels = torch.cat([torch.zeros(len(context.train)), torch.ones(len(context.defects))]).to(context.device)
    held = cached_views(model, np.concatenate([context.holdout, context.holdout_defects]), options, generator, context, views=1)
    held_labels = torch.cat([torch.zeros(len(context.holdout)), torch.ones(len(context.holdout_defects))]).to(context.device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=options.learning_rate, weight_decay=options.weight_decay)
    epochs = context.epochs or options.epochs
    held_loss = float("nan")
    with context.progress(epochs, "abn epochs") as bar:
        for epoch in range(1, epochs + 1):
            model.train()
            total, seen = 0.0, 0
            for index in balanced_batches(len(context.train), len(context.defects), options.batch_size, generator):
                view = torch.randint(cache.shape[1], (len(index),), generator=generator)
                feats = cache[index.to(cache.device), view.to(cache.device)].float()
                loss = abn_loss(model, feats, labels[index.to(labels.device)], options.attention_weight)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                total, seen = total + loss.item() * len(index), seen + len(index)
            model.eval()
            with torch.no_grad():
                held_loss = float(abn_loss(model, held[:, 0].float(), held_labels, options.attention_weight))
            bar.set_postfix(loss=f"{total / max(seen, 1):.4f}", holdout=f"{held_loss:.4f}")
            bar.update(1)
            if context.deadline.expired:
                context.notes["stopped_early"] = f"time budget reached in epoch {epoch} of {epochs}"
                break
    context.notes.update(
        epochs=epochs, holdout_loss=held_loss, good_images=int(len(context.train)), defect_images=int(len(context.defects))
    )
    return model.cpu().eval()


@torch.no_grad()
def cached_views(
    model: AttentionBranchNet,
    images: np.ndarray,
    options: AbnOptions,
    generator: torch.Generator,
    context: TrainContext,
    views: int | None = None,
) -> torch.Tensor:
    """(N, views, D, h, w) float16 frozen features of (N, H, W, C) uint8 `images`: view 0 the image
    itself, the others augmented copies."""
    views = views or options.views
    model.eval()
    out: torch.Tensor | None = None
    with context.progress(len(images) * views, "abn features") as bar:
        for view in range(views):
            start = 0
            for batch in batches(images, 16):
                pixels = to_tensor(batch, context.device)
                feats = model.embed(augment(pixels, options, generator) if view else pixels).to(torch.float16)
                if out is None:
                    out = torch.empty((len(images), views, *feats.shape[1:]), dtype=torch.float16, device=feats.device)
                out[start : start + len(batch), view] = feats
                start += len(batch)
                bar.update(len(batch))
    assert out is not None
    return out


def balanced_batches(goods: int, defects: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """One epoch's index batches into [goods..., defects...]: max(goods, defects) draws of each
    class (the smaller class repeats, in fresh random orders), shuffled together; no batch of one
    (BatchNorm needs two)."""
    draws = max(goods, defects)

    def repeated(count: int, offset: int) -> torch.Tensor:
        rounds = math.ceil(draws / count)
        return torch.cat([torch.randperm(count, generator=generator) for _ in range(rounds)])[:draws] + offset

    both = torch.cat([repeated(goods, 0), repeated(defects, goods)])
    order = both[torch.randperm(len(both), generator=generator)]
    return [chunk for chunk in order.split(batch_size) if len(chunk) > 1]


def augment(images: torch.Tensor, options: AbnOptions, generator: torch.Generator) -> torch.Tensor:
    """A randomly changed copy of a (N, H, W, C) uint8 batch (see the module docstring)."""
    n, height, width, _ = images.shape
    x = images.permute(0, 3, 1, 2).to(torch.float32)
    out = []
    for i in range(n):
        image = x[i : i + 1]
        if options.flips:
            if torch.rand((), generator=generator) < 0.5:
                image = image.flip(3)
            if torch.rand((), generator=generator) < 0.5:
                image = image.flip(2)
            if height == width:
                image = torch.rot90(image, int(torch.randint(4, (), generator=generator)), dims=(2, 3))
        if options.shift > 0:
            dy, dx = (int(torch.randint(-round(side * options.shift), round(side * options.shift) + 1, (), generator=generator)) for side in (height, width))
            pad = (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0))
            image = F.pad(image, pad, mode="reflect")[:, :, pad[3] : pad[3] + height, pad[1] : pad[1] + width]
        if options.jitter > 0:
            gain, offset = (1.0 + options.jitter * (2 * torch.rand(2, generator=generator) - 1)).tolist()
            mean = image.mean()
            image = (image - mean) * gain + mean * offset
        out.append(image)
    return torch.cat(out).clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def abn_loss(model: AttentionBranchNet, feats: torch.Tensor, labels: torch.Tensor, attention_weight: float) -> torch.Tensor:
    """Perception-branch BCE + attention_weight x attention-branch BCE (labels 1 = defective)."""
    attention_logit, perception_logit, _ = model.heads(feats)
    return F.binary_cross_entropy_with_logits(perception_logit, labels) + attention_weight * F.binary_cross_entropy_with_logits(
        attention_logit, labels
    )
