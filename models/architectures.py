"""The one registry of model architectures (torch-free, so the command line and the service can
name and describe them without importing torch).

To add an architecture: write its training module (an options model and a fit function, see
`train_archs.Architecture`), add one `ArchitectureEntry` below, and add it to the tiny-training
table of `tests/test_models_architectures.py`. `gaikan train --help`, `--arch` validation and the
training entry point all read this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ArchitectureEntry:
    name: str  # the `--arch` value and the manifest's `architecture`
    summary: str  # one line: what it is and how it scores
    options: str  # "module:Class" of its options model (the `--set KEY=VALUE` settings)
    fit: str  # "module:function" turning a TrainContext into the scoring module
    # Largest torch-vs-ONNX-Runtime difference accepted, relative to the largest output value.
    parity_tolerance: float = 1e-3
    # Trained on good and confirmed defective images (`gaikan.models.dataset.supervised_images`);
    # the others learn from good images only.
    supervised: bool = False


# What `gaikan train` trains without `--arch` (why: README, models section).
DEFAULT_ARCHITECTURE = "patchcore"

ARCHITECTURES: tuple[ArchitectureEntry, ...] = (
    ArchitectureEntry(
        "patchcore",
        "PatchCore on ImageNet EfficientNet-Lite0 features; nearest-neighbour search in the graph",
        "gaikan.models.train_patchcore:PatchCoreOptions",
        "gaikan.models.train_patchcore:fit_patchcore",
    ),
    ArchitectureEntry(
        "synthseg",
        "Segmentation head on frozen EfficientNet-Lite features trained to find synthetic defects painted on good "
        "images, plus PatchCore's nearest-neighbour map (both standardised on held-back good images)",
        "gaikan.models.train_synthseg:SynthSegOptions",
        "gaikan.models.train_synthseg:fit_synthseg",
    ),
    ArchitectureEntry(
        "simplenet",
        "SimpleNet: EfficientNet-Lite features, learned adaptor, discriminator against feature noise; no search",
        "gaikan.models.train_simplenet:SimpleNetOptions",
        "gaikan.models.train_simplenet:fit_simplenet",
    ),
    ArchitectureEntry(
        "ae",
        "convolutional autoencoder, L2 loss; map = squared error",
        "gaikan.models.train_ae:AutoencoderOptions",
        "gaikan.models.train_ae:fit_ae",
    ),
    ArchitectureEntry(
        "ae-ssim",
        "convolutional autoencoder, SSIM loss; map = 1 - SSIM",
        "gaikan.models.train_ae:AutoencoderOptions",
        "gaikan.models.train_ae:fit_ae_ssim",
    ),
    ArchitectureEntry(
        "ae-projected",
        "L2 autoencoder; map = squared difference to the input's iterative gradient projection (Dehaene et al. 2020)",
        "gaikan.models.train_ae:ProjectedOptions",
        "gaikan.models.train_ae:fit_ae_projected",
        # The projection iterates a piecewise-linear map (LeakyReLU slopes, clipping): float32
        # rounding differences between two correct implementations can switch a branch and
        # grow over the steps, most on barely trained networks.
        parity_tolerance=1e-2,
    ),
    ArchitectureEntry(
        "efficientgan",
        "EfficientGAN (BiGAN E/G/D); score = lam * pixel error + (1 - lam) * discriminator feature error",
        "gaikan.models.train_gan:EfficientGanOptions",
        "gaikan.models.train_gan:fit_efficientgan",
    ),
    ArchitectureEntry(
        "anogan",
        "AnoGAN (DCGAN); score = residual + discrimination loss after a latent search unrolled in the graph",
        "gaikan.models.train_anogan:AnoGanOptions",
        "gaikan.models.train_anogan:fit_anogan",
        # The search iterates sign() and ReLU masks: float32 rounding differences between two
        # correct implementations can flip a branch and grow over the steps (as ae-projected).
        parity_tolerance=1e-2,
    ),
    ArchitectureEntry(
        "abn",
        "Attention Branch Network on frozen EfficientNet-Lite features, trained on good and defective images; "
        "score = defect probability, map = attention",
        "gaikan.models.train_abn:AbnOptions",
        "gaikan.models.train_abn:fit_abn",
        supervised=True,
    ),
)


def architecture_names() -> list[str]:
    return sorted(entry.name for entry in ARCHITECTURES)


def architecture_entry(name: str) -> ArchitectureEntry:
    """The registered architecture called `name`; ValueError naming the known ones otherwise."""
    for entry in ARCHITECTURES:
        if entry.name == name:
            return entry
    raise ValueError(f"unknown architecture {name!r}; choose from {', '.join(architecture_names())}")
