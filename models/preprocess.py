"""Bringing images to a model's input: the one implementation shared by training,
evaluation and serving. Normalisation happens inside the ONNX graph."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from gaikan.camera.pixel_formats import from_opencv_image
from gaikan.models.package import InputSpec


def to_model_colour(image: np.ndarray, colour: str) -> np.ndarray:
    """(H, W) grey or (H, W, 3) RGB uint8 to the model's colour: (H, W, 3) RGB or (H, W, 1) grey."""
    if colour == "rgb":
        if image.ndim == 2:
            return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
        return image
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return image[:, :, None]


def crop_box(height: int, width: int, spec: InputSpec) -> tuple[int, int, int, int]:
    """The (top, left, bottom, right) region of an image of this size the model sees."""
    if spec.resize == "stretch":
        return 0, 0, height, width
    target_aspect = spec.width / spec.height
    if width / height > target_aspect:
        crop_w = round(height * target_aspect)
        left = (width - crop_w) // 2
        return 0, left, height, left + crop_w
    crop_h = round(width / target_aspect)
    top = (height - crop_h) // 2
    return top, 0, top + crop_h, width


def shrink(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-average shrink, fast: exact 2x2 box halvings (OpenCV's vectorised INTER_AREA path; an
    odd last row or column is dropped) while the image stays at least twice the target on both
    axes, then the exact area resize of the rest. No aliasing; close to one exact area resize
    (mean difference well under one grey level), 3-6 x faster on a 1920x1200 frame."""
    while image.shape[0] >= 4 * height and image.shape[1] >= 4 * width:
        half_h, half_w = image.shape[0] // 2, image.shape[1] // 2
        image = cv2.resize(image[: 2 * half_h, : 2 * half_w], (half_w, half_h), interpolation=cv2.INTER_AREA)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def resize_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize with area averaging when shrinking (no aliasing) and bilinear when enlarging."""
    if image.shape[0] == height and image.shape[1] == width:
        return image
    if image.shape[0] * image.shape[1] > height * width:
        resized = shrink(image, height, width)
    else:
        resized = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    if image.ndim == 3 and resized.ndim == 2:
        resized = resized[:, :, None]
    return resized


def prepare(image: np.ndarray, spec: InputSpec) -> np.ndarray:
    """One image ((H, W) grey or (H, W, 3) RGB, uint8) as the model's (h, w, c) uint8 input.
    The colour conversion runs on the smaller side of the resize (grey is resized before it
    becomes RGB: the same pixels, a third of the work)."""
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    top, left, bottom, right = crop_box(image.shape[0], image.shape[1], spec)
    cropped = image[top:bottom, left:right]
    if cropped.ndim == 2:
        return np.ascontiguousarray(to_model_colour(resize_to(cropped, spec.height, spec.width), spec.colour))
    return np.ascontiguousarray(resize_to(to_model_colour(cropped, spec.colour), spec.height, spec.width))


def prepare_batch(images: list[np.ndarray], spec: InputSpec) -> np.ndarray:
    """Images as one (N, h, w, c) uint8 batch."""
    return np.stack([prepare(image, spec) for image in images])


def read_image(path: Path) -> np.ndarray:
    """Read an image file as (H, W) grey or (H, W, 3) RGB uint8; ValueError naming the file if unreadable."""
    data = np.fromfile(str(path), dtype=np.uint8) if Path(path).is_file() else None
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data is not None and data.size else None
    if image is None:
        raise ValueError(f"cannot read image file {path}")
    return from_opencv_image(image)[0]


def map_to_image(anomaly_map: np.ndarray, height: int, width: int, spec: InputSpec) -> np.ndarray:
    """Place a model-resolution anomaly map back onto an image of (height, width); outside the
    region the model saw is 0."""
    top, left, bottom, right = crop_box(height, width, spec)
    full = np.zeros((height, width), dtype=np.float32)
    full[top:bottom, left:right] = cv2.resize(
        anomaly_map.astype(np.float32), (right - left, bottom - top), interpolation=cv2.INTER_LINEAR
    )
    return full
