"""SimpleNet scoring module (Liu et al., CVPR 2023): frozen pretrained features, a learned
per-patch feature adaptor, and a discriminator trained to tell adapted good features from the same
features plus Gaussian noise. At serving time there is no memory bank and no search: the cost is
three small matrix products per patch, so it stays cheap at high input resolution.

    image uint8 NHWC -> (x - 127) / 128 -> EfficientNet-Lite features (N, D, h, w)
      -> standardised with the training features' per-channel mean and std
      -> per patch: adaptor (linear D -> D) -> discriminator (linear D -> hidden, BN, LeakyReLU, linear -> 1)
      -> raw map = -discriminator logit (N, 1, h, w) -> MapHead (Gaussian, bilinear, image score)
"""

from __future__ import annotations

import torch
from torch import nn

from gaikan.models.nets.backbone import LITE_MEAN, LITE_STD, LiteFeatures
from gaikan.models.nets.layers import ImageInput, MapHead, ScoreRule

MAP_SIGMA = 4.0


class SimpleNet(nn.Module):
    """Scores uint8 NHWC images. `embed` gives the frozen features; `standardise` brings them to
    the training features' per-channel mean 0 and std 1 (set by `set_feature_stats`), the units
    the adaptor, the discriminator and the noise work in."""

    def __init__(
        self, features: LiteFeatures, height: int, width: int, channels: int, hidden: int, rule: ScoreRule | None = None
    ) -> None:
        super().__init__()
        dims = features.channels
        self.input = ImageInput(LITE_MEAN, LITE_STD, channels_in=channels, channels_out=3)
        self.features = features
        self.register_buffer("feature_mean", torch.zeros(1, dims, 1, 1))
        self.register_buffer("feature_inv_std", torch.ones(1, dims, 1, 1))
        self.adaptor = nn.Linear(dims, dims)
        nn.init.eye_(self.adaptor.weight)  # starts as the identity
        nn.init.zeros_(self.adaptor.bias)
        self.discriminator = nn.Sequential(
            nn.Linear(dims, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1)
        )
        self.head = MapHead(height, width, MAP_SIGMA, map_stride=features.stride, rule=rule)

    def set_feature_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Per-channel (D,) mean and std of the training features."""
        self.feature_mean = mean.detach().reshape(1, -1, 1, 1).to(self.feature_mean)
        self.feature_inv_std = 1.0 / std.detach().clamp_min(1e-6).reshape(1, -1, 1, 1).to(self.feature_inv_std)

    def embed(self, image: torch.Tensor) -> torch.Tensor:
        """(N, H, W, C) uint8 -> (N, D, h, w) frozen features."""
        return self.features(self.input(image))

    def standardise(self, feats: torch.Tensor) -> torch.Tensor:
        """(N, D, h, w) features -> standardised."""
        return (feats - self.feature_mean) * self.feature_inv_std

    def row_logits(self, rows: torch.Tensor) -> torch.Tensor:
        """Discriminator logits (P,) of (P, D) standardised patch features: high = looks good."""
        return self.discriminator(self.adaptor(rows))[:, 0]

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats = self.standardise(self.embed(image))
        n, d, h, w = feats.shape
        logits = self.row_logits(feats.permute(0, 2, 3, 1).reshape(-1, d))
        return self.head(-logits.reshape(n, 1, h, w))
