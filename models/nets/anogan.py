"""AnoGAN (Schlegl et al., "Unsupervised anomaly detection with generative adversarial networks to
guide marker discovery", IPMI 2017): a DCGAN trained on good images only; a test image is scored by
searching the generator's latent space for the z whose G(z) is closest to it.

The search, for x in [-1, 1] at the GAN's working resolution (input / `downsample`):

    z0 = the stored latent start whose generated image is nearest to x (squared L2; `starts`
         seeded draws from the prior, their images computed once after training)
    L(z) = (1 - lam) * mean|x - G(z)| + lam * mean|f(x) - f(G(z))|
    z <- Adam step on grad L(z), `steps` times (bias-corrected, step size `rate`)
    score = L(z_final);  anomaly_map = |x - G(z_final)| (mean over channels), Gaussian sigma 4
            input px, at input size

f is the discriminator's convolutional feature map (the paper's "discrimination loss" through an
intermediate layer). The paper runs 500 gradient steps from a random z; here the search is a fixed
number of steps unrolled inside the graph, and grad L is a hand-written vector-Jacobian product
(each layer's adjoint with ordinary forward operations, as `ae-projected` does), so ONNX Runtime
runs the whole search in one call with no autograd and serving stays torch-free. Slow by design:
each step costs about four network passes (G, f, and their adjoints).
"""

from __future__ import annotations

import torch
from torch import nn

from gaikan.models.nets.autoencoder import layer_vjp
from gaikan.models.nets.efficientgan import Generator, _down
from gaikan.models.nets.layers import ImageInput, MapHead, check_sides, pooling

MAP_SIGMA = 4.0
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


class DcganDiscriminator(nn.Module):
    """D(x): four stride-2 convolution stages (the features f) and a logit over the 1/16 map."""

    def __init__(self, channels: int, height: int, width: int, base: int) -> None:
        super().__init__()
        b = base
        self.features = nn.Sequential(*_down(channels, b, False), *_down(b, 2 * b, True), *_down(2 * b, 4 * b, True), *_down(4 * b, 8 * b, True))
        self.logit = nn.Conv2d(8 * b, 1, (height // 16, width // 16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit(self.features(x)).flatten()


class AnoGan(nn.Module):
    """The DCGAN pair; x in [-1, 1] at the working resolution."""

    def __init__(self, channels: int, height: int, width: int, base: int = 32, latent: int = 64) -> None:
        super().__init__()
        check_sides("anogan", height, width, 16, "at its working resolution")
        self.generator = Generator(channels, height, width, base, latent)
        self.discriminator = DcganDiscriminator(channels, height, width, base)
        self.latent = latent


def traced(layers: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """[input, output of layer 0, output of layer 1, …]: what `sequential_vjp` needs."""
    values = [x]
    for layer in layers:
        values.append(layer(values[-1]))
    return values


def sequential_vjp(layers: nn.Sequential, values: list[torch.Tensor], grad: torch.Tensor) -> torch.Tensor:
    """grad^T J of an eval-mode `nn.Sequential` at the traced point: the gradient w.r.t. its input
    of <grad, layers(input)>, with forward operations only (exportable, no autograd)."""
    for index in range(len(layers) - 1, -1, -1):
        layer, given, made = layers[index], values[index], values[index + 1]
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
            grad = layer_vjp(layer, grad, tuple(given.shape[-2:]))
        elif isinstance(layer, nn.BatchNorm2d):  # eval mode: a per-channel scale
            assert layer.running_var is not None
            scale = torch.rsqrt(layer.running_var + layer.eps)
            if layer.weight is not None:
                scale = scale * layer.weight
            grad = grad * scale.view(1, -1, 1, 1)
        elif isinstance(layer, nn.ReLU):
            grad = grad * (given > 0).to(grad.dtype)
        elif isinstance(layer, nn.LeakyReLU):
            grad = grad * torch.where(given > 0, 1.0, layer.negative_slope)
        elif isinstance(layer, nn.Tanh):
            grad = grad * (1.0 - made * made)
        elif not isinstance(layer, nn.Dropout | nn.Identity):
            raise TypeError(f"no vector-Jacobian product for {type(layer).__name__}")
    return grad


class AnoGanScorer(nn.Module):
    def __init__(
        self, gan: AnoGan, channels: int, height: int, width: int, *, downsample: int, lam: float,
        steps: int, rate: float, starts: int, seed: int,
    ) -> None:  # fmt: skip
        super().__init__()
        self.input = ImageInput([127.5] * channels, [127.5] * channels, channels_in=channels)
        self.pool = pooling(downsample)
        self.gan = gan
        self.lam = lam
        self.steps = steps
        self.rate = rate
        self.head = MapHead(height, width, MAP_SIGMA, map_stride=downsample)
        start_z = torch.randn(starts, gan.latent, 1, 1, generator=torch.Generator().manual_seed(seed))
        self.register_buffer("start_z", start_z, persistent=False)
        self.register_buffer("start_images", torch.zeros(0), persistent=False)

    def prepare(self, image: torch.Tensor) -> torch.Tensor:
        return self.pool(self.input(image))

    @torch.no_grad()
    def refresh_starts(self) -> None:
        """Generate the start images from the current generator (after training, before scoring)."""
        generated = self.gan.generator(self.start_z)
        self.start_images = generated.flatten(1)

    def start(self, x: torch.Tensor) -> torch.Tensor:
        """The stored latent start whose image is nearest to each x (squared L2, via one MatMul)."""
        flat = x.flatten(1)
        distance = (self.start_images * self.start_images).sum(dim=1)[None, :] - 2.0 * flat @ self.start_images.T
        return self.start_z[distance.argmin(dim=1)]

    def loss_gradient(self, x: torch.Tensor, fx: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """d L / d z at z, through G and f by their vector-Jacobian products."""
        g_values = traced(self.gan.generator.net, z)
        g = g_values[-1]
        f_values = traced(self.gan.discriminator.features, g)
        fg = f_values[-1]
        grad_fg = torch.sign(fg - fx) * (self.lam / fg[0].numel())
        grad_g = torch.sign(g - x) * ((1.0 - self.lam) / g[0].numel())
        grad_g = grad_g + sequential_vjp(self.gan.discriminator.features, f_values, grad_fg)
        return sequential_vjp(self.gan.generator.net, g_values, grad_g)

    def search(self, x: torch.Tensor, fx: torch.Tensor) -> torch.Tensor:
        """The latent code after `steps` unrolled Adam steps from the nearest start."""
        z = self.start(x)
        m = torch.zeros_like(z)
        v = torch.zeros_like(z)
        beta1, beta2 = ADAM_BETAS
        for step in range(1, self.steps + 1):
            grad = self.loss_gradient(x, fx, z)
            m = beta1 * m + (1.0 - beta1) * grad
            v = beta2 * v + (1.0 - beta2) * grad * grad
            m_hat = m / (1.0 - beta1**step)
            v_hat = v / (1.0 - beta2**step)
            z = z - self.rate * m_hat / (torch.sqrt(v_hat) + ADAM_EPS)
        return z

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.prepare(image)
        features = self.gan.discriminator.features
        fx = features(x)
        z = self.search(x, fx)
        g = self.gan.generator(z)
        residual = (x - g).abs().mean(dim=1, keepdim=True)
        discrimination = (fx - features(g)).abs().flatten(1).mean(dim=1)
        score = (1.0 - self.lam) * residual.mean(dim=(1, 2, 3)) + self.lam * discrimination
        _, anomaly_map = self.head(residual)
        return score, anomaly_map

