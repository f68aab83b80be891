"""Shared fixtures: small synthetic data and real ONNX model packages built without torch."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaikan.models.synthetic import write_dataset


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small MVTec-layout dataset of synthetic parts (64 px), shared by the whole run."""
    return write_dataset(
        tmp_path_factory.mktemp("dataset"), train_good=12, test_good=6, test_per_defect=2, size=64, seed=3
    )


@pytest.fixture(scope="session")
def template_package_file(synthetic_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real template-difference package (64 px RGB, reject 30) fitted on the synthetic dataset's
    train/good, written as a package file."""
    from gaikan.models.dataset import train_images
    from gaikan.models.package import write_package
    from gaikan.models.preprocess import read_image
    from tests.onnx_graphs import template_package

    package = template_package([read_image(p) for p in train_images(synthetic_dataset)], version="1", reject=30.0)
    return write_package(package, tmp_path_factory.mktemp("packages") / "template-1.zip")
