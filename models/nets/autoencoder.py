"""The convolutional autoencoder of the MVTec AD baselines (Bergmann et al., "Improving unsupervised
defect segmentation by applying structural similarity to autoencoders", 2018): four stride-2
stages down to 1/16 of the input, a dense latent vector (a convolution over the whole 1/16 map),
and the mirror image back up, LeakyReLU(0.2) between layers, a sigmoid on the output.

The network is a plain list of `Conv2d` / `ConvTranspose2d` layers so that `vjp` can give the
vector-Jacobian product with ordinary forward operations (the transposed convolution of each
convolution and back): the gradient projection of `ae-projected` then exports to ONNX as a plain
unrolled graph, with no autograd inside.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NEGATIVE_SLOPE = 0.2
DOWNSCALE = 16


def _layers(channels: int, base: int, latent: int, height: int, width: int) -> list[nn.Module]:
    b = base
    k = (height // DOWNSCALE, width // DOWNSCALE)
    return [
        # encoder
        nn.Conv2d(channels, b, 4, 2, 1),
        nn.Conv2d(b, b, 4, 2, 1),
        nn.Conv2d(b, b, 3, 1, 1),
        nn.Conv2d(b, 2 * b, 4, 2, 1),
        nn.Conv2d(2 * b, 2 * b, 3, 1, 1),
        nn.Conv2d(2 * b, 4 * b, 4, 2, 1),
        nn.Conv2d(4 * b, 2 * b, 3, 1, 1),
        nn.Conv2d(2 * b, b, 3, 1, 1),
        nn.Conv2d(b, latent, k, 1, 0),  # the latent vector (no activation)
        # decoder
        nn.ConvTranspose2d(latent, b, k, 1, 0),
        nn.Conv2d(b, 2 * b, 3, 1, 1),
        nn.Conv2d(2 * b, 4 * b, 3, 1, 1),
        nn.ConvTranspose2d(4 * b, 2 * b, 4, 2, 1),
        nn.Conv2d(2 * b, 2 * b, 3, 1, 1),
        nn.ConvTranspose2d(2 * b, b, 4, 2, 1),
        nn.Conv2d(b, b, 3, 1, 1),
        nn.ConvTranspose2d(b, b, 4, 2, 1),
        nn.ConvTranspose2d(b, channels, 4, 2, 1),  # sigmoid output
    ]


LATENT_LAYER = 8  # index of the layer whose output is the latent vector (not activated)


class ConvAutoencoder(nn.Module):
    """x in [0, 1], (N, C, H, W) -> reconstruction in [0, 1]. H and W must be multiples of 16."""

    def __init__(self, channels: int, height: int, width: int, base: int = 32, latent: int = 100) -> None:
        super().__init__()
        if height % DOWNSCALE or width % DOWNSCALE:
            raise ValueError(f"the autoencoder needs sides that are multiples of {DOWNSCALE} where it works, got {height}x{width}")
        self.layers = nn.ModuleList(_layers(channels, base, latent, height, width))
        for index, layer in enumerate(self.layers):
            _init(layer, from_single_pixel=index == LATENT_LAYER + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_trace(x)[0]

    def forward_with_trace(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The output, and each layer's pre-activation (what `vjp` needs)."""
        trace = []
        last = len(self.layers) - 1
        for index, layer in enumerate(self.layers):
            pre = layer(x)
            trace.append(pre)
            if index == last:
                x = torch.sigmoid(pre)
            elif index == LATENT_LAYER:
                x = pre
            else:
                x = F.leaky_relu(pre, NEGATIVE_SLOPE)
        return x, trace

    def vjp(self, inputs_shape: torch.Size, trace: list[torch.Tensor], output: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """grad^T J: the gradient w.r.t. the input of <grad, autoencoder(input)>, from a forward trace."""
        last = len(self.layers) - 1
        sizes = [tuple(inputs_shape[-2:])] + [tuple(t.shape[-2:]) for t in trace[:-1]]
        for index in range(last, -1, -1):
            pre, layer = trace[index], self.layers[index]
            if index == last:
                grad = grad * output * (1.0 - output)
            elif index != LATENT_LAYER:
                grad = grad * torch.where(pre > 0, 1.0, NEGATIVE_SLOPE)
            grad = layer_vjp(layer, grad, sizes[index])
        return grad


def _init(layer: nn.Module, from_single_pixel: bool = False) -> None:
    """He initialisation for LeakyReLU(0.2), counting the inputs that really reach one output pixel
    (a stride-s transposed convolution reaches each with k^2 / s^2 taps, or one tap when it expands
    the 1x1 latent vector). PyTorch's default init
    shrinks the signal at every layer: through this 18-layer network the input gradient vanished
    (~1e-8) and the autoencoder learned a mean image independent of its input."""
    assert isinstance(layer, nn.Conv2d | nn.ConvTranspose2d)
    taps = layer.kernel_size[0] * layer.kernel_size[1]
    if from_single_pixel:
        fan_in = layer.in_channels
    elif isinstance(layer, nn.ConvTranspose2d):
        fan_in = layer.in_channels * taps / (layer.stride[0] * layer.stride[1])
    else:
        fan_in = layer.in_channels * taps
    gain = (2.0 / (1.0 + NEGATIVE_SLOPE**2)) ** 0.5
    nn.init.normal_(layer.weight, std=gain / fan_in**0.5)
    nn.init.zeros_(layer.bias)


def layer_vjp(layer: nn.Module, grad: torch.Tensor, input_size: tuple[int, int]) -> torch.Tensor:
    if isinstance(layer, nn.ConvTranspose2d):
        return F.conv2d(grad, layer.weight, None, layer.stride, layer.padding)
    if isinstance(layer, nn.Conv2d):
        produced = [
            (grad.shape[-2 + i] - 1) * layer.stride[i] - 2 * layer.padding[i] + layer.kernel_size[i] for i in range(2)
        ]
        extra = tuple(input_size[i] - produced[i] for i in range(2))
        return F.conv_transpose2d(grad, layer.weight, None, layer.stride, layer.padding, output_padding=extra)
    raise TypeError(f"no vector-Jacobian product for {type(layer).__name__}")
