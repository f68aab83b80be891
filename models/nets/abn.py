"""ABN scoring module: an Attention Branch Network (Fukui et al., CVPR 2019) for good / defective,
on frozen EfficientNet-Lite features. Supervised: trained on good and confirmed defective images.

    image uint8 NHWC -> (x - 127) / 128 -> EfficientNet-Lite features F (N, D, h, w)  [frozen]
      attention branch:  F -> 2 x (conv3x3, BN, ReLU) -> conv1x1 -> defect evidence A (N, 1, h, w)
                         attention-branch logit = log-mean-exp of A over the map (training only)
                         attention map M = sigmoid(A)
      perception branch: F * (1 + M) -> conv3x3, BN, ReLU -> conv3x3 stride 2, BN, ReLU
                         -> [global mean, global max] -> linear -> perception logit
      score = sigmoid(perception logit)  (the defect probability)
      anomaly_map = M, bilinear to the input size (where the network looked)

Departures from the paper, for one class (defective) instead of K: the branch has one evidence map
instead of K class maps, so the paper's K -> 1 convolution and BN before the sigmoid reduce to an
affine map, fixed here to the identity so that M reads directly as defect evidence (high where the
branch sees a defect); the branch pools with log-mean-exp instead of a plain mean (between mean and
max: a small defect is not averaged away).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gaikan.models.nets.backbone import LITE_MEAN, LITE_STD, LiteFeatures
from gaikan.models.nets.layers import ImageInput


def _conv_block(channels_in: int, channels_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
    )


class AttentionBranchNet(nn.Module):
    """Scores uint8 NHWC images: (`score` (N,) defect probability, `anomaly_map` (N, H, W) attention).

    `logits` gives both branches' logits for training; `forward` is what the graph computes.
    """

    def __init__(self, features: LiteFeatures, height: int, width: int, channels: int, hidden: int) -> None:
        super().__init__()
        dims = features.channels
        self.size = (height, width)
        self.input = ImageInput(LITE_MEAN, LITE_STD, channels_in=channels, channels_out=3)
        self.features = features
        for parameter in self.features.parameters():
            parameter.requires_grad_(False)
        self.attention = nn.Sequential(_conv_block(dims, hidden), _conv_block(hidden, hidden))
        self.evidence = nn.Conv2d(hidden, 1, 1)
        self.perception = nn.Sequential(_conv_block(dims, hidden), _conv_block(hidden, hidden, stride=2))
        self.classifier = nn.Linear(2 * hidden, 1)

    def train(self, mode: bool = True) -> AttentionBranchNet:
        super().train(mode)
        self.features.eval()  # frozen: its BN statistics stay ImageNet's
        return self

    def embed(self, image: torch.Tensor) -> torch.Tensor:
        """(N, H, W, C) uint8 -> (N, D, h, w) frozen features."""
        return self.features(self.input(image))

    def heads(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(attention-branch logit (N,), perception logit (N,), evidence map A (N, 1, h, w))."""
        evidence = self.evidence(self.attention(feats))
        h, w = evidence.shape[-2:]
        attention_logit = torch.logsumexp(evidence.flatten(1), dim=1) - math.log(h * w)
        perceived = self.perception(feats * (1.0 + torch.sigmoid(evidence)))
        pooled = torch.cat([perceived.mean(dim=(2, 3)), perceived.amax(dim=(2, 3))], dim=1)
        return attention_logit, self.classifier(pooled)[:, 0], evidence

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, perception_logit, evidence = self.heads(self.embed(image))
        attention = F.interpolate(torch.sigmoid(evidence), size=self.size, mode="bilinear", align_corners=False)
        return torch.sigmoid(perception_logit), attention[:, 0]
