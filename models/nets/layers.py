"""Building blocks every exported scoring module shares: the graph's input stage (uint8 NHWC
pixels to normalised float NCHW) and its output stage (a low-resolution anomaly map brought to
input resolution, smoothed, and reduced to an image score).

Keeping these in the exported module itself is what makes training-time scores and ONNX Runtime
scores the same computation: there is no second implementation to drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn


def check_sides(arch: str, height: int, width: int, multiple: int, where: str = "") -> None:
    """ValueError unless both sides are multiples of `multiple` (`where`: e.g. "at its working
    resolution", for models that work below the input size)."""
    for side in (height, width):
        if side % multiple:
            raise ValueError(f"{arch} needs an image size that is a multiple of {multiple}{where and ' ' + where}, got {side}")


def pooling(downsample: int) -> nn.Module:
    """Average pooling by `downsample`, for a network that works below input resolution (1: none)."""
    return nn.AvgPool2d(downsample) if downsample > 1 else nn.Identity()


class ImageInput(nn.Module):
    """(N, H, W, C) uint8 -> (N, C', H, W) float32, (x - mean) / std per channel.

    `channels_out` lets a grey (C = 1) input feed a 3-channel network (the channel is repeated).
    """

    def __init__(self, mean: list[float], std: list[float], channels_in: int, channels_out: int | None = None) -> None:
        super().__init__()
        channels_out = channels_out or channels_in
        if channels_in not in (1, 3) or channels_out not in (1, 3) or (channels_in == 3 and channels_out == 1):
            raise ValueError(f"cannot feed {channels_in}-channel images to a {channels_out}-channel network")
        if len(mean) not in (1, channels_out) or len(std) not in (1, channels_out):
            raise ValueError(f"mean/std need 1 or {channels_out} values, got {len(mean)} and {len(std)}")
        self.channels_in = channels_in
        self.mean_values, self.std_values = [float(m) for m in mean], [float(v) for v in std]
        self.repeat = channels_out // channels_in
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("inv_std", 1.0 / torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image.permute(0, 3, 1, 2).to(torch.float32)
        if self.repeat > 1:
            x = x.repeat(1, self.repeat, 1, 1)
        return (x - self.mean) * self.inv_std

    def unnormalise(self, x: torch.Tensor) -> torch.Tensor:
        """Network-space tensor back to 0..255 pixel units (for error maps in pixel units)."""
        return x / self.inv_std + self.mean


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """A 1-D normalised Gaussian, truncated at 4 sigma (odd length)."""
    radius = max(1, int(math.ceil(4.0 * sigma)))
    positions = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (positions / sigma) ** 2)
    return (kernel / kernel.sum()).to(torch.float32)


class GaussianBlur(nn.Module):
    """Separable Gaussian smoothing of (N, 1, H, W) maps; borders repeat the edge pixel."""

    def __init__(self, sigma: float) -> None:
        super().__init__()
        kernel = gaussian_kernel(sigma)
        self.radius = kernel.numel() // 2
        self.register_buffer("kx", kernel.view(1, 1, 1, -1), persistent=False)
        self.register_buffer("ky", kernel.view(1, 1, -1, 1), persistent=False)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        r = self.radius
        padded = F.pad(maps, (r, r, r, r), mode="replicate")
        return F.conv2d(F.conv2d(padded, self.kx), self.ky)


ImageScoreKind = Literal["max", "topk_mean"]
IMAGE_SCORES: tuple[str, ...] = ("max", "topk_mean")


@dataclass(frozen=True, slots=True)
class ScoreRule:
    """How the final anomaly map becomes the image score.

    `max`: the value of the map's hottest pixel. `topk_mean`: the mean of its hottest
    `topk_fraction` of pixels (at least one), which counts how much of the part looks wrong, not
    only its worst pixel (on mvtec_screw at 448 px, end to end: image AUROC 0.969 -> 0.984, review
    at zero escapes 59 % -> 27 %; see the README's hard-products tables).
    """

    kind: ImageScoreKind = "max"
    topk_fraction: float = 0.003

    def __post_init__(self) -> None:
        if self.kind not in IMAGE_SCORES:
            raise ValueError(f"unknown image score {self.kind!r}; choose from {', '.join(IMAGE_SCORES)}")
        if not 0.0 < self.topk_fraction <= 1.0:
            raise ValueError(f"topk_fraction must be in (0, 1], got {self.topk_fraction}")

    def pixels(self, height: int, width: int) -> int:
        """How many of the map's pixels the score averages."""
        if self.kind == "max":
            return 1
        return min(height * width, max(1, round(self.topk_fraction * height * width)))


class MapHead(nn.Module):
    """(N, 1, h, w) raw anomaly map -> (`score` (N,), `anomaly_map` (N, H, W)).

    The map is Gaussian-smoothed (`sigma` in input pixels, applied at the raw map's own resolution,
    which is cheaper for coarse maps) and resized (bilinear) to the input resolution; the image
    score follows `rule` on the final map: by default its maximum, so the score is the value of
    its hottest pixel; `topk_mean` averages its hottest pixels (a fixed count, so the graph's
    TopK has a constant k).
    """

    def __init__(self, height: int, width: int, sigma: float, map_stride: int = 1, rule: ScoreRule | None = None) -> None:
        super().__init__()
        self.size = (height, width)
        self.blur = GaussianBlur(sigma / map_stride) if sigma > 0 else nn.Identity()
        self.rule = rule or ScoreRule()
        self.top_pixels = self.rule.pixels(height, width)

    def forward(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        smooth = self.blur(raw)
        if tuple(smooth.shape[-2:]) != self.size:
            smooth = F.interpolate(smooth, size=self.size, mode="bilinear", align_corners=False)
        anomaly_map = smooth[:, 0]
        return self.image_score(anomaly_map), anomaly_map

    def image_score(self, anomaly_map: torch.Tensor) -> torch.Tensor:
        """(N, H, W) final map -> (N,) image score by the head's rule."""
        flat = anomaly_map.flatten(1)
        if self.top_pixels == 1:
            return flat.amax(dim=1)
        return flat.topk(self.top_pixels, dim=1).values.mean(dim=1)
