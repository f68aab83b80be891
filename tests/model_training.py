"""Helpers for model tests: train tiny packages on generated data, score them both ways."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gaikan.models.dataset import test_samples
from gaikan.models.metrics import auroc
from gaikan.models.preprocess import prepare_batch, read_image
from gaikan.models.runtime import OnnxModel
from gaikan.models.train import TrainResult, TrainSettings, train_package


def train_tiny(data: Path, out: Path, arch: str, size: int = 64, **settings: object) -> TrainResult:
    """Train `arch` on `data` at `size` px, quietly, on the CPU."""
    return train_package(
        data, out, TrainSettings(arch=arch, height=size, width=size, device="cpu", **settings), show_progress=False
    )


def prepared_test_images(data: Path, model: OnnxModel) -> tuple[np.ndarray, np.ndarray]:
    """The test images of `data` as the model's input batch, and which of them are defective."""
    samples = test_samples(data)
    images = prepare_batch([read_image(s.path) for s in samples], model.manifest.input)
    return images, np.array([s.is_defective for s in samples])


def image_auroc(model: OnnxModel, data: Path) -> float:
    images, defective = prepared_test_images(data, model)
    return auroc(model.run(images).scores, defective)
