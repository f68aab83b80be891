"""Synthetic defects painted on good images, for self-supervised training (`synthseg`).

Two kinds of defect, chosen per painted image:

- cracks (3 in 4): a thin random polyline, 1-3 px wide, 2-6 segments of 4-30 px with random
  turns, drawn at 4x and box-filtered down (anti-aliased); on some images a second one;
- blobs (1 in 4): Perlin-style smooth noise, thresholded at its 90th percentile, inside a random box
  (as NSA / DRAEM's masks).

The painted area is blended toward a darker (7 in 10: most real cracks) or brighter version of the
part, plus some pixel noise, through a lightly blurred copy of the shape. `paint_defect` returns
the painted image and that blend weight: the mask is exactly where, and how strongly, pixels were
changed (0 = untouched). Seeded through the caller's NumPy generator; torch-free.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
from PIL import Image, ImageDraw

CRACK_SHARE = 0.75
SECOND_CRACK_SHARE = 0.3
DARK_SHARE = 0.7
MAX_CRACK_WIDTH = 3.0  # px at the image's resolution
_SUPERSAMPLE = 4


def crack_mask(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A thin random polyline: (height, width) float32 coverage in [0, 1]."""
    s = _SUPERSAMPLE
    canvas = Image.new("L", (width * s, height * s), 0)
    x, y = rng.uniform(0.1, 0.9) * width, rng.uniform(0.05, 0.95) * height
    angle = rng.uniform(0, 2 * np.pi)
    points = [(x * s, y * s)]
    for _ in range(int(rng.integers(2, 7))):
        angle += rng.normal(0, 0.6)
        step = rng.uniform(4, 30)
        x, y = x + step * np.cos(angle), y + step * np.sin(angle)
        points.append((x * s, y * s))
    line_width = int(round(rng.uniform(0.8, MAX_CRACK_WIDTH) * s))
    ImageDraw.Draw(canvas).line(points, fill=255, width=line_width, joint="curve")
    return np.asarray(canvas.resize((width, height), Image.BOX), np.float32) / 255.0


def blob_mask(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A Perlin-style patch: thresholded smooth noise inside a random box, (height, width) float32 0/1."""
    cell = int(rng.integers(4, 16))
    coarse = rng.random((height // cell + 2, width // cell + 2)).astype(np.float32)
    big = cv2.resize(coarse, (width + 2 * cell, height + 2 * cell), interpolation=cv2.INTER_CUBIC)
    noise = big[cell : cell + height, cell : cell + width]
    box_h = int(rng.integers(min(6, height // 2), max(7, min(40, height // 2))))
    box_w = int(rng.integers(min(6, width // 2), max(7, min(40, width // 2))))
    top, left = int(rng.integers(0, height - box_h + 1)), int(rng.integers(0, width - box_w + 1))
    inside = noise[top : top + box_h, left : left + box_w]
    # The image's top 10 % of noise, or the box's own top 10 % where the box holds none of it.
    level = min(float(np.quantile(noise, 0.9)), float(np.quantile(inside, 0.9)))
    mask = np.zeros((height, width), np.float32)
    mask[top : top + box_h, left : left + box_w] = inside > level
    return mask


def paint_defect(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, C) uint8 good image -> (painted image, (H, W) float32 blend weight in [0, 1]).

    Pixels where the weight is 0 are returned unchanged."""
    height, width = image.shape[:2]
    if rng.random() < CRACK_SHARE:
        shape = crack_mask(rng, height, width)
        if rng.random() < SECOND_CRACK_SHARE:
            shape = np.maximum(shape, crack_mask(rng, height, width))
    else:
        shape = blob_mask(rng, height, width)
    sigma = rng.uniform(0.0, 1.0)
    alpha = shape if sigma < 0.3 else cv2.GaussianBlur(shape, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    alpha = np.where(alpha < 1e-3, 0.0, alpha).astype(np.float32)  # no invisible tails
    base = image.astype(np.float32)
    if rng.random() < DARK_SHARE:
        target = base * rng.uniform(0.1, 0.6)
    else:
        target = np.minimum(255.0, base + rng.uniform(40, 120))
    texture = rng.normal(0, rng.uniform(0, 15), size=base.shape).astype(np.float32)
    weight = alpha[..., None]
    painted = np.clip(base * (1 - weight) + (target + texture) * weight, 0, 255)
    painted = np.where(weight > 0, painted, base)  # untouched pixels stay bit-exact
    return painted.astype(np.uint8), alpha


def painted_batches(
    images: np.ndarray, copies: int, seed: int, batch_size: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """`copies` painted versions of each (N, H, W, C) uint8 image, seeded, image by image, in
    batches of at most `batch_size`: ((B, H, W, C) uint8 images, (B, H, W) float32 blend weights).
    Batches keep memory small on big training sets; the sequence depends only on the arguments."""
    rng = np.random.default_rng(seed)
    painted: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    for image in images:
        for _ in range(copies):
            out, mask = paint_defect(image, rng)
            painted.append(out)
            masks.append(mask)
            if len(painted) == batch_size:
                yield np.stack(painted), np.stack(masks)
                painted, masks = [], []
    if painted:
        yield np.stack(painted), np.stack(masks)
