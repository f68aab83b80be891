"""The architectures `gaikan train --arch` knows: each has an options model (set with
`--set KEY=VALUE`) and a fit function that turns a `TrainContext` into a scoring module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from torch import nn

from gaikan.models.train_context import TrainContext


@dataclass(frozen=True, slots=True)
class Architecture:
    name: str
    summary: str
    options: type[BaseModel]
    fit: Callable[[TrainContext], nn.Module]
    # Largest torch-vs-ONNX-Runtime difference accepted, relative to the largest output value.
    parity_tolerance: float = 1e-3


def _registry() -> dict[str, Architecture]:
    from gaikan.models.train_ae import AutoencoderOptions, ProjectedOptions, fit_ae, fit_ae_projected, fit_ae_ssim
    from gaikan.models.train_gan import EfficientGanOptions, fit_efficientgan
    from gaikan.models.train_patchcore import PatchCoreOptions, fit_patchcore
    from gaikan.models.train_simplenet import SimpleNetOptions, fit_simplenet

    entries = [
        Architecture(
            "patchcore",
            "PatchCore on ImageNet EfficientNet-Lite0 features; nearest-neighbour search in the graph",
            PatchCoreOptions,
            fit_patchcore,
        ),
        Architecture(
            "simplenet",
            "SimpleNet: EfficientNet-Lite features, learned adaptor, discriminator against feature noise; no search",
            SimpleNetOptions,
            fit_simplenet,
        ),
        Architecture("ae", "convolutional autoencoder, L2 loss; map = squared error", AutoencoderOptions, fit_ae),
        Architecture("ae-ssim", "convolutional autoencoder, SSIM loss; map = 1 - SSIM", AutoencoderOptions, fit_ae_ssim),
        Architecture(
            "ae-projected",
            "L2 autoencoder; map = squared difference to the input's iterative gradient projection (Dehaene et al. 2020)",
            ProjectedOptions,
            fit_ae_projected,
            # The projection iterates a piecewise-linear map (LeakyReLU slopes, clipping): float32
            # rounding differences between two correct implementations can switch a branch and
            # grow over the steps, most on barely trained networks.
            parity_tolerance=1e-2,
        ),
        Architecture(
            "efficientgan",
            "EfficientGAN (BiGAN E/G/D); score = lam * pixel error + (1 - lam) * discriminator feature error",
            EfficientGanOptions,
            fit_efficientgan,
        ),
    ]
    return {entry.name: entry for entry in entries}


def architecture_names() -> list[str]:
    return sorted(_registry())


def get_architecture(name: str) -> Architecture:
    registry = _registry()
    if name not in registry:
        raise ValueError(f"unknown architecture {name!r}; choose from {', '.join(sorted(registry))}")
    return registry[name]


def parse_options(architecture: Architecture, values: dict[str, Any]) -> BaseModel:
    """The architecture's options from `KEY=VALUE` settings; the error names the bad key."""
    try:
        return architecture.options.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        known = ", ".join(architecture.options.model_fields)
        raise ValueError(f"--set for {architecture.name}: {problems} (options: {known})") from error
