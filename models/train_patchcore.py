"""Fitting PatchCore: extract EfficientNet-Lite features of the good training images (with the scoring
module's own `embed`), pick a greedy k-center coreset of at most `bank_size` of them, and put that
bank into the module.

The coreset search runs on a random projection of the features (Johnson-Lindenstrauss: distances
are roughly preserved) so it stays fast on big training sets; the bank keeps the full features.
The greedy order means any prefix is itself a coreset, so a run stopped by the time budget keeps
the centres chosen so far.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import torch
from pydantic import ConfigDict, Field

from gaikan.models.nets.backbone import BACKBONES, LiteFeatures, check_input_size
from gaikan.models.nets.patchcore import PatchCore
from gaikan.models.train_context import Deadline, MapScoreOptions, TrainContext, batches, to_tensor


class PatchCoreOptions(MapScoreOptions):
    model_config = ConfigDict(extra="forbid")
    bank_size: int = Field(4096, ge=16, le=65536, description="most memory-bank rows: the search's latency budget")
    projection_dims: int = Field(64, ge=8, le=1024, description="random projection used only by the coreset search")
    max_patches: int = Field(
        250_000, ge=64, description="most training patches the coreset is chosen from (a random, per-image even sample)"
    )
    batch_size: int = Field(8, ge=1, le=256)
    backbone: Literal[tuple(BACKBONES)] = Field("lite0", description="shipped ImageNet EfficientNet-Lite network")  # type: ignore[valid-type]


def fit_patchcore(context: TrainContext) -> PatchCore:
    options: PatchCoreOptions = context.options  # type: ignore[assignment]
    check_input_size("patchcore", context.height, context.width)
    model = PatchCore(
        LiteFeatures(options.backbone), context.height, context.width, context.channels, options.score_rule
    ).to(context.device).eval()
    generator = torch.Generator(device="cpu").manual_seed(context.seed)
    patches = extract_patches(model.embed, context.train, context, options.batch_size, options.max_patches, generator)
    chosen = greedy_coreset(
        patches, options.bank_size, options.projection_dims, generator, context.deadline, context
    )
    model.set_bank(patches[chosen])
    context.notes.update(patches=int(patches.shape[0]), bank_size=int(chosen.numel()), feature_dims=int(patches.shape[1]))
    return model.cpu().eval()


@torch.no_grad()
def extract_patches(
    embed: Callable[[torch.Tensor], torch.Tensor],
    images: np.ndarray,
    context: TrainContext,
    batch_size: int,
    max_patches: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """(P, D) local features `embed` gives for `images` (N, H, W, C uint8), on the fit device: all
    of them, or when there are more than `max_patches`, the same random number from every image
    (memory and coreset time stay bounded on big training sets)."""
    chunks = []
    per_image: int | None = None
    with context.progress(len(images), "features") as bar:
        for batch in batches(images, batch_size):
            feats = embed(to_tensor(batch, context.device))
            if per_image is None:
                per_image = patches_per_image(feats, len(images), max_patches)
            chunks.append(sample_rows(feats, per_image, generator))
            bar.update(len(batch))
    return torch.cat(chunks)


def patches_per_image(feats: torch.Tensor, images: int, max_patches: int) -> int:
    """How many of each image's h x w patches to keep so that `images` images give at most about `max_patches`."""
    return min(feats.shape[2] * feats.shape[3], -(-max_patches // images))


def sample_rows(feats: torch.Tensor, per_image: int, generator: torch.Generator) -> torch.Tensor:
    """(N * per_image, D) rows of (N, D, h, w) feature maps: every patch, or `per_image` random ones of each map."""
    n, d, h, w = feats.shape
    rows = feats.permute(0, 2, 3, 1).reshape(n, h * w, d)
    if per_image < h * w:
        keep = torch.stack([torch.randperm(h * w, generator=generator)[:per_image] for _ in range(n)])
        rows = torch.gather(rows, 1, keep.to(rows.device)[:, :, None].expand(-1, -1, d))
    return rows.reshape(-1, d)


@torch.no_grad()
def greedy_coreset(
    points: torch.Tensor,
    size: int,
    projection_dims: int,
    generator: torch.Generator,
    deadline: Deadline,
    context: TrainContext,
) -> torch.Tensor:
    """Indices of a greedy k-center coreset of `points` (P, D): each step adds the point farthest
    from those already chosen. Returns every index when P <= size; fewer than `size` when the
    deadline expires first."""
    count = points.shape[0]
    if count <= size:
        return torch.arange(count, device=points.device)
    if points.shape[1] > projection_dims:
        projection = torch.randn(points.shape[1], projection_dims, generator=generator) / projection_dims**0.5
        points = points @ projection.to(points.device)
    squared_norms = (points * points).sum(dim=1)
    first = int(torch.randint(count, (1,), generator=generator))
    chosen = [first]
    nearest = _squared_distances(points, squared_norms, first)
    with context.progress(size, "coreset") as bar:
        bar.update(1)
        while len(chosen) < size and not deadline.expired:
            index = int(torch.argmax(nearest))
            chosen.append(index)
            torch.minimum(nearest, _squared_distances(points, squared_norms, index), out=nearest)
            bar.update(1)
    if len(chosen) < size:
        context.notes["stopped_early"] = f"coreset stopped at {len(chosen)} of {size} rows by the time budget"
    return torch.tensor(chosen, device=points.device)


def _squared_distances(points: torch.Tensor, squared_norms: torch.Tensor, index: int) -> torch.Tensor:
    centre = points[index]
    return squared_norms - 2.0 * (points @ centre) + squared_norms[index]
