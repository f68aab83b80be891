"""Heatmap overlays (torch-free, shared by the report, the service and the dashboard)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gaikan.models.overlay import heatmap_overlay, png_bytes
from gaikan.models.package import InputSpec, Normalisation


def _spec(resize: str = "stretch") -> InputSpec:
    return InputSpec(height=8, width=8, colour="rgb", resize=resize, normalisation=Normalisation(mean=[0], std=[1]))


def test_cold_pixels_show_the_image_and_hot_ones_the_colour() -> None:
    image = np.full((16, 16, 3), 100, np.uint8)
    anomaly_map = np.zeros((8, 8), np.float32)
    anomaly_map[:, 4:] = 10.0
    overlay = heatmap_overlay(image, anomaly_map, _spec(), vmin=0.0, vmax=10.0, max_alpha=0.6)
    assert overlay.shape == (16, 16, 3) and overlay.dtype == np.uint8
    assert (overlay[:, :6] == 100).all()  # at vmin: fully transparent
    # At vmax: 40 % image + 60 % turbo's top colour (dark red, RGB 122, 4, 3).
    np.testing.assert_allclose(overlay[:, 10:].reshape(-1, 3).mean(axis=0), [0.4 * 100 + 0.6 * 122, 0.4 * 100 + 0.6 * 4, 0.4 * 100 + 0.6 * 3], atol=1.5)
    assert overlay[:, 10:, 0].mean() > overlay[:, 10:, 2].mean() + 40


def test_grey_images_and_a_flat_scale_are_fine() -> None:
    grey = np.full((10, 12), 50, np.uint8)
    overlay = heatmap_overlay(grey, np.ones((8, 8), np.float32), _spec(), vmin=1.0, vmax=1.0)
    assert overlay.shape == (10, 12, 3) and (overlay == 50).all()


def test_the_map_lands_on_the_region_the_model_saw() -> None:
    image = np.full((8, 16, 3), 100, np.uint8)  # centre crop keeps columns 4..11
    overlay = heatmap_overlay(image, np.full((8, 8), 5.0, np.float32), _spec("center_crop"), vmin=0.0, vmax=5.0)
    assert (overlay[:, :4] == 100).all() and (overlay[:, 12:] == 100).all()
    assert (overlay[:, 4:12] != 100).any(axis=2).all()


def test_mask_outline_and_size_limit() -> None:
    image = np.zeros((200, 100, 3), np.uint8)
    mask = np.zeros((200, 100), bool)
    mask[50:150, 25:75] = True
    overlay = heatmap_overlay(image, np.zeros((8, 8), np.float32), _spec(), vmin=0.0, vmax=1.0, mask=mask)
    assert (overlay[50, 25:75] == 255).all() and (overlay[100, 50] == 0).all()
    small = heatmap_overlay(image, np.zeros((8, 8), np.float32), _spec(), vmin=0.0, vmax=1.0, max_side=50)
    assert small.shape == (50, 25, 3)
    with pytest.raises(ValueError, match="mask shape"):
        heatmap_overlay(image, np.zeros((8, 8), np.float32), _spec(), vmin=0.0, vmax=1.0, mask=mask[:10])


def test_png_round_trip() -> None:
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 200
    decoded = cv2.imdecode(np.frombuffer(png_bytes(rgb), np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (4, 5, 3) and (decoded[..., 2] == 200).all() and (decoded[..., 0] == 0).all()
