"""Conversion of camera buffers into the two frame formats (Mono8, RGB8)."""

from __future__ import annotations

import cv2
import numpy as np

from gaikan.camera.frame import PixelFormat


def from_opencv_image(image: np.ndarray) -> tuple[np.ndarray, PixelFormat]:
    """Convert an image as OpenCV reads it (grey, BGR or BGRA; 8 or 16 bit) to an owned frame array."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ValueError(f"unsupported image dtype {image.dtype}")
    if image.ndim == 2:
        return np.ascontiguousarray(image), PixelFormat.MONO8
    if image.ndim == 3 and image.shape[2] == 1:
        return np.ascontiguousarray(image[:, :, 0]), PixelFormat.MONO8
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB), PixelFormat.RGB8
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB), PixelFormat.RGB8
    raise ValueError(f"unsupported image shape {image.shape}")


def to_rgb(pixels: np.ndarray, pixel_format: PixelFormat) -> np.ndarray:
    """Frame pixels as (H, W, 3) RGB uint8."""
    if pixel_format is PixelFormat.RGB8:
        return pixels
    return cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)


def to_mono(pixels: np.ndarray, pixel_format: PixelFormat) -> np.ndarray:
    """Frame pixels as (H, W) grey uint8."""
    if pixel_format is PixelFormat.MONO8:
        return pixels
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
