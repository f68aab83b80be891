"""SynthSeg scoring module: a small segmentation head on frozen EfficientNet-Lite features, trained
to find synthetic defects painted on good images (`gaikan.models.synthetic_defects`), with
PatchCore's nearest-neighbour map fused in, all in one graph.

    image uint8 NHWC -> (x - 127) / 128 -> EfficientNet-Lite features (N, D, h, w)
      -> K heads, each: 3x3 conv D->hidden, BN, ReLU, 3x3 conv ->hidden/2, BN, ReLU, 1x1
         -> defect logit (N, 1, h, w), standardised by its own held-back statistics
      -> head map = mean of the K standardised logits (K = 1: the one head's)
      -> [patchcore_weight > 0] nearest distance to a bank of good features (N, 1, h, w)
      -> raw map = (head map - mean_h) / std_h + patchcore_weight * (distance - mean_p) / std_p
         (means and stds of the held-back good images' maps: both maps in "good-image spreads")
      -> MapHead: Gaussian (sigma 4 input pixels), bilinear to input size, image score (max | topk_mean)

With `patchcore_weight` 0 the bank is empty and its MatMul is not in the graph. Several heads
trained from different seeds on the same painted maps make one steadier map: a single head's
ranking moved with its seed (kolektorsdd: review at zero escapes 13-29 % over four seeds of head +
bank), the mean of three did not (13 %).
"""

from __future__ import annotations

import torch
from torch import nn

from gaikan.models.nets.backbone import LITE_MEAN, LITE_STD, LiteFeatures
from gaikan.models.nets.layers import ImageInput, MapHead, ScoreRule
from gaikan.models.nets.patchcore import MemoryBank

MAP_SIGMA = 4.0


class SegHead(nn.Module):
    """(N, D, h, w) frozen features -> (N, 1, h, w) defect logits."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, hidden, 3, padding=1), nn.BatchNorm2d(hidden), nn.ReLU(),
            nn.Conv2d(hidden, max(1, hidden // 2), 3, padding=1), nn.BatchNorm2d(max(1, hidden // 2)), nn.ReLU(),
            nn.Conv2d(max(1, hidden // 2), 1, 1),
        )  # fmt: skip

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.net(feats)


class HeadEnsemble(nn.Module):
    """K `SegHead`s; (N, D, h, w) -> (N, 1, h, w) mean of their logits, each standardised by
    `set_stats` (identity until then)."""

    def __init__(self, channels: int, hidden: int, count: int) -> None:
        super().__init__()
        if count < 1:
            raise ValueError(f"need at least one head, got {count}")
        self.heads = nn.ModuleList(SegHead(channels, hidden) for _ in range(count))
        # Per head: (mean, 1/std) of its held-back good logits.
        self.register_buffer("stats", torch.tensor([[0.0, 1.0]] * count))

    def __len__(self) -> int:
        return len(self.heads)

    def keep_first(self, count: int) -> None:
        """Drop every head after the first `count` (a run stopped early: untrained heads add only noise)."""
        if not 1 <= count <= len(self.heads):
            raise ValueError(f"can keep 1 to {len(self.heads)} heads, not {count}")
        del self.heads[count:]
        self.stats = self.stats[:count]

    def set_stats(self, means: list[float], stds: list[float]) -> None:
        if len(means) != len(self.heads) or len(stds) != len(self.heads):
            raise ValueError(f"need {len(self.heads)} means and stds")
        self.stats = torch.tensor([[m, 1.0 / max(s, 1e-6)] for m, s in zip(means, stds, strict=True)], device=self.stats.device)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        maps = [(head(feats) - self.stats[k, 0]) * self.stats[k, 1] for k, head in enumerate(self.heads)]
        return maps[0] if len(maps) == 1 else torch.stack(maps).mean(dim=0)


class SynthSeg(nn.Module):
    """Scores uint8 NHWC images by the heads' mean logit map, plus `patchcore_weight` x the bank's
    distance map, each standardised by `set_map_stats` (identity until then)."""

    def __init__(
        self,
        features: LiteFeatures,
        height: int,
        width: int,
        channels: int,
        hidden: int,
        patchcore_weight: float,
        rule: ScoreRule | None = None,
        heads: int = 1,
    ) -> None:
        super().__init__()
        if patchcore_weight < 0:
            raise ValueError(f"patchcore_weight must be >= 0, got {patchcore_weight}")
        self.input = ImageInput(LITE_MEAN, LITE_STD, channels_in=channels, channels_out=3)
        self.features = features
        self.seg = HeadEnsemble(features.channels, hidden, heads)
        self.memory = MemoryBank(features.channels)
        self.patchcore_weight = float(patchcore_weight)
        # (head mean, head 1/std, bank mean, bank 1/std) of the held-back good maps.
        self.register_buffer("map_stats", torch.tensor([0.0, 1.0, 0.0, 1.0]))
        self.head = MapHead(height, width, MAP_SIGMA, map_stride=features.stride, rule=rule)

    @property
    def uses_bank(self) -> bool:
        return self.patchcore_weight > 0

    def embed(self, image: torch.Tensor) -> torch.Tensor:
        """(N, H, W, C) uint8 -> (N, D, h, w) frozen features."""
        return self.features(self.input(image))

    def set_map_stats(self, head_mean: float, head_std: float, bank_mean: float, bank_std: float) -> None:
        self.map_stats = torch.tensor(
            [head_mean, 1.0 / max(head_std, 1e-6), bank_mean, 1.0 / max(bank_std, 1e-6)], device=self.map_stats.device
        )

    def raw_map(self, feats: torch.Tensor) -> torch.Tensor:
        """(N, D, h, w) features -> (N, 1, h, w) fused, standardised map (before smoothing)."""
        fused = (self.seg(feats) - self.map_stats[0]) * self.map_stats[1]
        if self.uses_bank:
            fused = fused + self.patchcore_weight * (self.memory(feats) - self.map_stats[2]) * self.map_stats[3]
        return fused

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.raw_map(self.embed(image)))
