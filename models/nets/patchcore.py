"""PatchCore scoring module: the nearest-neighbour distance of every local feature to a memory bank
of good-image features, computed inside the graph by matrix products, so serving is one ONNX
Runtime call.

    image uint8 NHWC -> (x - 127) / 128 -> EfficientNet-Lite features (N, D, h, w)
      -> |q|^2 + min over the bank of (|b|^2 - 2 q.b)   (one MatMul against the bank), sqrt
      -> (N, 1, h, w) -> Gaussian (sigma 4 input pixels) -> bilinear to input size
      -> anomaly_map (N, H, W); score = max of the map (or the mean of its hottest pixels: ScoreRule)

The cost of the search is (h * w) x bank_size x D multiply-adds per image, independent of how
many images the model was trained on: the bank size is capped when the model is fitted.
"""

from __future__ import annotations

import torch
from torch import nn

from gaikan.models.nets.backbone import LITE_MEAN, LITE_STD, LiteFeatures
from gaikan.models.nets.layers import ImageInput, MapHead, ScoreRule

MAP_SIGMA = 4.0


class MemoryBank(nn.Module):
    """Nearest-neighbour distance of every local feature to (M, D) bank rows, by matrix products
    (one MatMul + Add over the (patches, M) matrix; no search op in the graph). Empty until `set`."""

    def __init__(self, dims: int) -> None:
        super().__init__()
        self.dims = dims
        self.register_buffer("bank_t", torch.zeros(dims, 0))  # (D, M) = -2 x bank, transposed
        self.register_buffer("bank_sq", torch.zeros(1, 0))  # (1, M) = squared norms of the bank rows

    @property
    def size(self) -> int:
        return int(self.bank_t.shape[1])

    def set(self, bank: torch.Tensor) -> None:
        if bank.ndim != 2 or bank.shape[1] != self.dims or bank.shape[0] == 0:
            raise ValueError(f"bank must be (M > 0, {self.dims}), got {tuple(bank.shape)}")
        bank = bank.detach().to(device=self.bank_t.device, dtype=torch.float32)
        self.bank_t = (-2.0 * bank).t().contiguous()
        self.bank_sq = (bank * bank).sum(dim=1).view(1, -1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """(N, D, h, w) features -> (N, 1, h, w) Euclidean distance to the nearest bank row."""
        n, d, h, w = feats.shape
        queries = feats.permute(0, 2, 3, 1).reshape(-1, d)
        # min_b |q - b|^2 = |q|^2 + min_b (|b|^2 - 2 q.b)
        closest = (queries @ self.bank_t + self.bank_sq).amin(dim=1)
        nearest = (closest + (queries * queries).sum(dim=1)).clamp_min(0.0).sqrt()
        return nearest.reshape(-1, 1, h, w)


class PatchCore(nn.Module):
    """Scores uint8 NHWC images against a memory bank of (M, D) features.

    Built with an empty bank; `embed` gives the features the bank is chosen from (the same
    computation the scores use), then `set_bank` fills it.
    """

    def __init__(
        self, features: LiteFeatures, height: int, width: int, channels: int, rule: ScoreRule | None = None
    ) -> None:
        super().__init__()
        self.input = ImageInput(LITE_MEAN, LITE_STD, channels_in=channels, channels_out=3)
        self.features = features
        self.memory = MemoryBank(features.channels)
        self.head = MapHead(height, width, MAP_SIGMA, map_stride=features.stride, rule=rule)

    @property
    def bank_size(self) -> int:
        return self.memory.size

    def set_bank(self, bank: torch.Tensor) -> None:
        self.memory.set(bank)

    def embed(self, image: torch.Tensor) -> torch.Tensor:
        """(N, H, W, C) uint8 -> (N, D, h, w) local features."""
        return self.features(self.input(image))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.memory(self.embed(image)))
