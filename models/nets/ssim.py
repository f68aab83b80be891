"""Structural similarity (Wang et al., 2004) as a per-pixel map, for the `ae-ssim` loss and map.

Local statistics use an 11x11 Gaussian window (sigma 1.5), separable, applied per channel with
edge-repeating borders so the map has the input's size. Inputs are in [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gaikan.models.nets.layers import gaussian_kernel

C1 = 0.01**2
C2 = 0.03**2


class SSIMMap(nn.Module):
    """ssim(x, y) -> (N, C, H, W) similarity in [-1, 1] (1 = identical neighbourhoods)."""

    def __init__(self, channels: int, sigma: float = 1.5, radius: int = 5) -> None:
        super().__init__()
        kernel = gaussian_kernel(sigma)
        centre = kernel.numel() // 2
        kernel = kernel[centre - radius : centre + radius + 1]
        kernel = kernel / kernel.sum()
        self.channels, self.radius = channels, radius
        self.register_buffer("kx", kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), persistent=False)
        self.register_buffer("ky", kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), persistent=False)

    def _mean(self, x: torch.Tensor) -> torch.Tensor:
        r = self.radius
        x = F.pad(x, (r, r, r, r), mode="replicate")
        return F.conv2d(F.conv2d(x, self.kx, groups=self.channels), self.ky, groups=self.channels)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        mx, my = self._mean(x), self._mean(y)
        vx = self._mean(x * x) - mx * mx
        vy = self._mean(y * y) - my * my
        cov = self._mean(x * y) - mx * my
        return ((2 * mx * my + C1) * (2 * cov + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2))
