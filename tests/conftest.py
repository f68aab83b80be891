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
