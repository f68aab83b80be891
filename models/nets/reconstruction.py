"""Scoring modules of the reconstruction models (`ae`, `ae-ssim`, `ae-projected`).

    image uint8 NHWC -> x = pixels / 255, average-pooled by `downsample` -> target
      -> per-pixel error(x, target), mean over channels -> Gaussian (sigma 4 input px)
      -> bilinear to input size -> anomaly_map (N, H, W); score = max of the map

`downsample` (default 2) runs the autoencoder at half the input resolution, the resolution of the
MVTec AD paper's baseline (128 px for a 256 px input): four times cheaper to train and to serve on
a CPU, and the map is still at input resolution.

`target` is the autoencoder's reconstruction, or for `ae-projected` the input projected onto the
normal manifold by gradient steps (Dehaene et al., ICLR 2020). `error` is the squared difference
(`l2`) or 1 - SSIM (`ssim`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from gaikan.models.nets.autoencoder import ConvAutoencoder
from gaikan.models.nets.layers import ImageInput, MapHead, ScoreRule, pooling
from gaikan.models.nets.ssim import SSIMMap

MAP_SIGMA = 4.0
ErrorKind = Literal["l2", "ssim"]


@dataclass(frozen=True, slots=True)
class Projection:
    """Iterative energy-based projection: `steps` updates
        x <- x - rate * (grad E(x) * (x - f(x))^2),   E(x) = |x - f(x)|^2 + l1 * |x - x0|_1
    (the gradient is weighted by the squared reconstruction error, as in the paper, so pixels the
    autoencoder already explains stay put), each step clipped to the valid pixel range [0, 1]."""

    steps: int = 8
    rate: float = 1.0
    l1: float = 0.05


class ReconstructionScorer(nn.Module):
    def __init__(
        self, autoencoder: ConvAutoencoder, channels: int, height: int, width: int, error: ErrorKind,
        projection: Projection | None = None, downsample: int = 1, rule: ScoreRule | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.input = ImageInput([0.0] * channels, [255.0] * channels, channels_in=channels)
        self.pool = pooling(downsample)
        self.autoencoder = autoencoder
        self.error = error
        self.ssim = SSIMMap(channels) if error == "ssim" else None
        self.projection = projection
        self.head = MapHead(height, width, MAP_SIGMA, map_stride=downsample, rule=rule)

    def error_map(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) per-pixel error, mean over channels."""
        if self.ssim is not None:
            return (1.0 - self.ssim(x, target)).mean(dim=1, keepdim=True)
        return ((x - target) ** 2).mean(dim=1, keepdim=True)

    def project(self, x0: torch.Tensor) -> torch.Tensor:
        assert self.projection is not None
        p = self.projection
        x = x0
        for _ in range(p.steps):
            reconstruction, trace = self.autoencoder.forward_with_trace(x)
            residual = x - reconstruction
            gradient = 2.0 * (residual - self.autoencoder.vjp(x.shape, trace, reconstruction, residual))
            gradient = gradient + p.l1 * torch.sign(x - x0)
            x = (x - p.rate * gradient * residual * residual).clamp(0.0, 1.0)
        return x

    def prepare(self, image: torch.Tensor) -> torch.Tensor:
        """uint8 NHWC -> the autoencoder's input: [0, 1], at the working resolution."""
        return self.pool(self.input(image))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.prepare(image)
        target = self.project(x) if self.projection is not None else self.autoencoder(x)
        return self.head(self.error_map(x, target))
