"""Anomaly heatmaps drawn over images (numpy/OpenCV only)."""

from __future__ import annotations

import cv2
import numpy as np


def heatmap_colours(anomaly_map: np.ndarray, vmax: float, vmin: float = 0.0) -> np.ndarray:
    """(H, W) scores as an (H, W, 3) RGB 'jet' picture, `vmin` blue … `vmax` red (clipped)."""
    span = max(vmax - vmin, 1e-12)
    scaled = np.clip((anomaly_map.astype(np.float32) - vmin) / span, 0.0, 1.0)
    coloured = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_JET)
    return cv2.cvtColor(coloured, cv2.COLOR_BGR2RGB)


def overlay(image: np.ndarray, anomaly_map: np.ndarray, vmax: float, vmin: float = 0.0, alpha: float = 0.5) -> np.ndarray:
    """The heatmap blended over the image ((H, W) grey or (H, W, 3) RGB uint8); the map must
    already be at the image's size. Where the map is at or below `vmin` the image shows through."""
    rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else image
    if anomaly_map.shape != rgb.shape[:2]:
        raise ValueError(f"anomaly map {anomaly_map.shape} does not match image {rgb.shape[:2]}")
    span = max(vmax - vmin, 1e-12)
    weight = (np.clip((anomaly_map.astype(np.float32) - vmin) / span, 0.0, 1.0) * alpha)[:, :, None]
    blended = rgb.astype(np.float32) * (1 - weight) + heatmap_colours(anomaly_map, vmax, vmin).astype(np.float32) * weight
    return blended.astype(np.uint8)
