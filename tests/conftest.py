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


LINE_PATTERN: tuple[str | None, ...] = (None, None, "scratch", None, "crack")


def write_test_line(folder: Path, count: int, *, size: int = 64, seed: int = 5) -> Path:
    """A replay folder `<i>_<good|defect>.png` of parts the template model separates cleanly
    (scratches and cracks; see tests/onnx_graphs.py)."""
    import cv2

    from gaikan.models.synthetic import render_part

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        defect = LINE_PATTERN[i % len(LINE_PATTERN)]
        part = render_part(seed, i, defect, size)
        cv2.imwrite(str(folder / f"{i:04d}_{defect or 'good'}.png"), cv2.cvtColor(part.image, cv2.COLOR_RGB2BGR))
    return folder


@pytest.fixture(scope="session")
def template_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template-difference package (version t1, reject 2.9) fitted on 16 good 64 px parts."""
    from gaikan.models.package import write_package
    from gaikan.models.synthetic import render_part
    from tests.onnx_graphs import template_package

    package = template_package([render_part(0, i, None, 64).image for i in range(16)], version="t1", reject=2.9)
    return write_package(package, tmp_path_factory.mktemp("models") / "t1.zip")
