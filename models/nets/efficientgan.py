"""EfficientGAN (Zenati et al., "Efficient GAN-based anomaly detection", 2018): a BiGAN with an
encoder E (x -> z), a generator G (z -> x) and a discriminator D on (x, z) pairs; DCGAN-style
convolutional networks working at `size / 16` after four stride-2 stages.

Scoring, for x in [-1, 1] at the GAN's working resolution:

    score = lam * mean|x - G(E(x))| + (1 - lam) * mean|f_D(x, E(x)) - f_D(G(E(x)), E(x))|
    anomaly_map = lam * |x - G(E(x))| (mean over channels), Gaussian sigma 4 input px, at input size

(f_D is the discriminator's last hidden layer; the paper's feature-matching variant, L1 norms
taken as means so the two terms have comparable scales.)
"""

from __future__ import annotations

import torch
from torch import nn

from gaikan.models.nets.layers import ImageInput, MapHead, check_sides, pooling

SLOPE = 0.2
MAP_SIGMA = 4.0


def _down(cin: int, cout: int, norm: bool) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 4, 2, 1, bias=not norm), *([nn.BatchNorm2d(cout)] if norm else []), nn.LeakyReLU(SLOPE)]


def _up(cin: int, cout: int) -> list[nn.Module]:
    return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class Encoder(nn.Module):
    def __init__(self, channels: int, height: int, width: int, base: int, latent: int) -> None:
        super().__init__()
        b = base
        self.net = nn.Sequential(
            *_down(channels, b, False), *_down(b, 2 * b, True), *_down(2 * b, 4 * b, True), *_down(4 * b, 8 * b, True),
            nn.Conv2d(8 * b, latent, (height // 16, width // 16)),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (N, latent, 1, 1)


class Generator(nn.Module):
    def __init__(self, channels: int, height: int, width: int, base: int, latent: int) -> None:
        super().__init__()
        b = base
        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent, 8 * b, (height // 16, width // 16), bias=False), nn.BatchNorm2d(8 * b), nn.ReLU(),
            *_up(8 * b, 4 * b), *_up(4 * b, 2 * b), *_up(2 * b, b),
            nn.ConvTranspose2d(b, channels, 4, 2, 1), nn.Tanh(),
        )  # fmt: skip

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """D(x, z): an x path (convolutions) and a z path (a 1x1 convolution), joined by a dense layer
    whose activations are the features f_D."""

    def __init__(self, channels: int, height: int, width: int, base: int, latent: int, features: int = 512) -> None:
        super().__init__()
        b = base
        self.x_path = nn.Sequential(*_down(channels, b, False), *_down(b, 2 * b, True), *_down(2 * b, 4 * b, True), *_down(4 * b, 8 * b, True))
        self.z_path = nn.Sequential(nn.Conv2d(latent, 4 * b, 1), nn.LeakyReLU(SLOPE))
        flat = 8 * b * (height // 16) * (width // 16) + 4 * b
        self.joint = nn.Sequential(nn.Dropout(0.2), nn.Linear(flat, features), nn.LeakyReLU(SLOPE))
        self.logit = nn.Linear(features, 1)

    def features(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        joined = torch.cat([self.x_path(x).flatten(1), self.z_path(z).flatten(1)], dim=1)
        return self.joint(joined)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.logit(self.features(x, z)).flatten()


class EfficientGan(nn.Module):
    """The three networks plus the scoring rule; x in [-1, 1] at the working resolution."""

    def __init__(self, channels: int, height: int, width: int, base: int = 32, latent: int = 64) -> None:
        super().__init__()
        check_sides("efficientgan", height, width, 16, "at its working resolution")
        self.encoder = Encoder(channels, height, width, base, latent)
        self.generator = Generator(channels, height, width, base, latent)
        self.discriminator = Discriminator(channels, height, width, base, latent)
        self.latent = latent


class EfficientGanScorer(nn.Module):
    def __init__(self, gan: EfficientGan, channels: int, height: int, width: int, lam: float, downsample: int) -> None:
        super().__init__()
        self.input = ImageInput([127.5] * channels, [127.5] * channels, channels_in=channels)
        self.pool = pooling(downsample)
        self.gan = gan
        self.lam = lam
        self.head = MapHead(height, width, MAP_SIGMA, map_stride=downsample)

    def prepare(self, image: torch.Tensor) -> torch.Tensor:
        return self.pool(self.input(image))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.prepare(image)
        z = self.gan.encoder(x)
        reconstruction = self.gan.generator(z)
        pixel = (x - reconstruction).abs().mean(dim=1, keepdim=True)
        d = self.gan.discriminator
        feature = (d.features(x, z) - d.features(reconstruction, z)).abs().mean(dim=1)
        score = self.lam * pixel.mean(dim=(1, 2, 3)) + (1.0 - self.lam) * feature
        _, anomaly_map = self.head(self.lam * pixel)
        return score, anomaly_map
