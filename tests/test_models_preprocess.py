"""The one preprocessing path: the fast area shrink and `prepare`'s sizes and colours."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gaikan.models.package import InputSpec, Normalisation
from gaikan.models.preprocess import prepare, resize_to, shrink


def checkerboard(height: int, width: int) -> np.ndarray:
    rows, cols = np.indices((height, width))
    return (((rows + cols) % 2) * 255).astype(np.uint8)


@pytest.mark.parametrize("size", [(1200, 1920), (1000, 1000), (768, 576)])
def test_a_fine_checkerboard_shrinks_to_flat_grey(size: tuple[int, int]) -> None:
    """One-pixel detail averages out instead of aliasing into stripes or noise."""
    small = shrink(checkerboard(*size), 256, 256)
    assert small.shape == (256, 256) and small.dtype == np.uint8
    assert np.abs(small.astype(int) - 128).max() <= 8  # odd windows (768 -> 256: 3 pixels) leave a trace
    aliased = cv2.resize(checkerboard(*size), (256, 256), interpolation=cv2.INTER_NEAREST)
    assert np.abs(aliased.astype(int) - 128).max() > 100  # what the test guards against


def test_shrink_stays_close_to_one_exact_area_resize() -> None:
    """A smooth scene with edges: within a few grey levels of `INTER_AREA` in one step."""
    rows, cols = np.indices((1200, 1920), dtype=np.float32)
    scene = 128 + 60 * np.sin(rows / 37) * np.cos(cols / 53)
    scene[300:900, 500:1400] += 50  # a part on the conveyor
    image = np.clip(scene, 0, 255).astype(np.uint8)
    exact = cv2.resize(image, (256, 256), interpolation=cv2.INTER_AREA).astype(np.float32)
    difference = np.abs(shrink(image, 256, 256).astype(np.float32) - exact)
    assert difference.mean() < 0.5 and difference.max() <= 16


def test_floats_and_single_channel_images_keep_their_type_and_axes() -> None:
    mask = np.zeros((1024, 1024), np.float32)
    mask[:512] = 1.0
    small = resize_to(mask, 128, 128)
    assert small.dtype == np.float32 and small.shape == (128, 128)
    assert small[:63].min() == 1.0 and small[65:].max() == 0.0
    grey = resize_to(np.full((800, 800, 1), 7, np.uint8), 100, 100)
    assert grey.shape == (100, 100, 1) and (grey == 7).all()


@pytest.mark.parametrize("colour, channels", [("rgb", 3), ("gray", 1)])
@pytest.mark.parametrize("source", ["grey", "rgb"])
def test_prepare_gives_the_model_size_and_colour(colour: str, channels: int, source: str) -> None:
    """Grey or RGB frames of any size become the model's (h, w, c) uint8 input, the colour of a
    flat frame unchanged (grey is resized before it becomes RGB, RGB turned grey before)."""
    image = np.full((1200, 1920), 90, np.uint8) if source == "grey" else np.dstack([np.full((1200, 1920), v, np.uint8) for v in (200, 90, 90)])
    spec = InputSpec(height=96, width=128, colour=colour, resize="center_crop", normalisation=Normalisation(mean=[0.0] * channels, std=[1.0] * channels))
    prepared = prepare(image, spec)
    assert prepared.shape == (96, 128, channels) and prepared.dtype == np.uint8 and prepared.flags.c_contiguous
    expected = {"grey": [90, 90, 90], "rgb": [200, 90, 90]}[source] if colour == "rgb" else [90 if source == "grey" else int(cv2.cvtColor(image[:1, :1], cv2.COLOR_RGB2GRAY)[0, 0])]
    assert (prepared == np.array(expected, np.uint8)).all()
