"""Deterministic synthetic inspection images: a printed round part on a conveyor.

Used for the demo line, for training the shipped demo model and for tests, so that nothing
needs to be downloaded. The same (seed, index, defect) always gives the same pixels.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

DEFECT_TYPES: tuple[str, ...] = ("scratch", "spot", "crack", "missing_print")
_DEFECT_CODES = {None: 0, **{name: i + 1 for i, name in enumerate(DEFECT_TYPES)}}


@dataclass(frozen=True, slots=True)
class SyntheticPart:
    image: np.ndarray  # (H, W, 3) RGB uint8
    mask: np.ndarray  # (H, W) uint8, 255 where defective
    defect: str | None


def render_part(seed: int, index: int, defect: str | None = None, size: int = 256) -> SyntheticPart:
    """One part image; `defect` is None for a good part or one of DEFECT_TYPES."""
    if defect not in _DEFECT_CODES:
        raise ValueError(f"unknown defect {defect!r}; choose from {', '.join(DEFECT_TYPES)}")
    rng = np.random.default_rng([seed, index, _DEFECT_CODES[defect]])
    scale = size / 256.0
    image = _conveyor(rng, size)
    centre = (size / 2 + rng.uniform(-4, 4) * scale, size / 2 + rng.uniform(-4, 4) * scale)
    radius = 92 * scale
    angle = rng.uniform(-6, 6)
    tone = rng.uniform(0.95, 1.05)

    part = np.zeros_like(image)
    cv2.circle(part, _pt(centre), int(radius), (int(214 * tone), int(176 * tone), int(120 * tone)), -1, cv2.LINE_AA)
    cv2.circle(part, _pt(centre), int(radius - 6 * scale), (int(200 * tone), int(160 * tone), int(104 * tone)), int(3 * scale) or 1, cv2.LINE_AA)
    disk = np.zeros(image.shape[:2], np.uint8)
    cv2.circle(disk, _pt(centre), int(radius), 255, -1, cv2.LINE_AA)
    alpha = (disk.astype(np.float32) / 255.0)[:, :, None]
    image = (image * (1 - alpha) + part * alpha).astype(np.uint8)

    mask = np.zeros(image.shape[:2], np.uint8)
    print_layer = np.zeros(image.shape[:2], np.uint8)
    _draw_print(print_layer, centre, scale, angle)
    if defect == "missing_print":
        keep = np.zeros_like(print_layer)
        # A print head failure: a band of the print is gone.
        band = rng.uniform(0.35, 0.6)
        top = int(centre[1] - 40 * scale + rng.uniform(0, 30) * scale)
        cv2.rectangle(keep, (0, top), (size, int(top + band * 80 * scale)), 255, -1)
        removed = cv2.bitwise_and(print_layer, keep)
        mask = cv2.dilate(removed, np.ones((5, 5), np.uint8))
        print_layer = cv2.subtract(print_layer, removed)
    ink = (print_layer.astype(np.float32) / 255.0)[:, :, None]
    image = (image * (1 - 0.8 * ink) + np.array([92, 52, 30], np.float32) * 0.8 * ink).astype(np.uint8)

    if defect == "scratch":
        mask = _scratch(image, rng, centre, radius)
    elif defect == "spot":
        mask = _spot(image, rng, centre, radius, scale)
    elif defect == "crack":
        mask = _crack(image, rng, centre, radius, scale)

    noise = rng.normal(0, 2.0, image.shape)
    image = np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return SyntheticPart(image=image, mask=mask, defect=defect)


def _pt(xy: tuple[float, float]) -> tuple[int, int]:
    return int(round(xy[0])), int(round(xy[1]))


def _conveyor(rng: np.random.Generator, size: int) -> np.ndarray:
    base = rng.uniform(52, 60)
    rows = base + 4 * np.sin(np.arange(size) / 3.0)[:, None]
    background = np.repeat(rows, size, axis=1)
    return np.clip(np.stack([background, background + 2, background + 5], axis=2), 0, 255).astype(np.uint8)


def _draw_print(layer: np.ndarray, centre: tuple[float, float], scale: float, angle: float) -> None:
    canvas = np.zeros_like(layer)
    cx, cy = centre
    cv2.circle(canvas, _pt(centre), int(58 * scale), 255, max(1, int(4 * scale)), cv2.LINE_AA)
    font_scale = 1.6 * scale
    thickness = max(1, int(5 * scale))
    (tw, th), _ = cv2.getTextSize("GK", cv2.FONT_HERSHEY_DUPLEX, font_scale, thickness)
    cv2.putText(canvas, "GK", (int(cx - tw / 2), int(cy + th / 2)), cv2.FONT_HERSHEY_DUPLEX, font_scale, 255, thickness, cv2.LINE_AA)
    for k in range(8):
        a = k * math.pi / 4
        cv2.circle(canvas, _pt((cx + 74 * scale * math.cos(a), cy + 74 * scale * math.sin(a))), max(1, int(4 * scale)), 255, -1, cv2.LINE_AA)
    rotation = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    layer[:] = cv2.warpAffine(canvas, rotation, (layer.shape[1], layer.shape[0]), flags=cv2.INTER_LINEAR)


def _random_point_in_disk(rng: np.random.Generator, centre: tuple[float, float], radius: float) -> tuple[float, float]:
    r = radius * math.sqrt(rng.uniform(0.0, 1.0))
    a = rng.uniform(0, 2 * math.pi)
    return centre[0] + r * math.cos(a), centre[1] + r * math.sin(a)


def _scratch(image: np.ndarray, rng: np.random.Generator, centre: tuple[float, float], radius: float) -> np.ndarray:
    mask = np.zeros(image.shape[:2], np.uint8)
    start = _random_point_in_disk(rng, centre, radius * 0.6)
    a = rng.uniform(0, 2 * math.pi)
    length = rng.uniform(0.45, 0.8) * radius
    end = (start[0] + length * math.cos(a), start[1] + length * math.sin(a))
    width = max(2, int(round(radius / 40)))
    cv2.line(mask, _pt(start), _pt(end), 255, width, cv2.LINE_AA)
    mask &= _disk_mask(image.shape[:2], centre, radius)
    light = (mask.astype(np.float32) / 255.0)[:, :, None]
    image[:] = (image * (1 - light) + np.array([250, 244, 232], np.float32) * light).astype(np.uint8)
    return (mask > 64).astype(np.uint8) * 255


def _spot(image: np.ndarray, rng: np.random.Generator, centre: tuple[float, float], radius: float, scale: float) -> np.ndarray:
    mask = np.zeros(image.shape[:2], np.uint8)
    at = _random_point_in_disk(rng, centre, radius * 0.75)
    axes = (int(rng.uniform(5, 10) * scale) + 1, int(rng.uniform(4, 8) * scale) + 1)
    cv2.ellipse(mask, _pt(at), axes, rng.uniform(0, 180), 0, 360, 255, -1, cv2.LINE_AA)
    dark = (cv2.GaussianBlur(mask, (5, 5), 0).astype(np.float32) / 255.0)[:, :, None]
    image[:] = (image * (1 - 0.85 * dark) + np.array([48, 30, 20], np.float32) * 0.85 * dark).astype(np.uint8)
    return (mask > 64).astype(np.uint8) * 255


def _crack(image: np.ndarray, rng: np.random.Generator, centre: tuple[float, float], radius: float, scale: float) -> np.ndarray:
    mask = np.zeros(image.shape[:2], np.uint8)
    a = rng.uniform(0, 2 * math.pi)
    point = (centre[0] + radius * math.cos(a), centre[1] + radius * math.sin(a))
    heading = a + math.pi + rng.uniform(-0.4, 0.4)
    points = [point]
    for _ in range(int(rng.integers(6, 10))):
        heading += rng.uniform(-0.6, 0.6)
        step = rng.uniform(7, 12) * scale
        point = (point[0] + step * math.cos(heading), point[1] + step * math.sin(heading))
        points.append(point)
    cv2.polylines(mask, [np.array([_pt(p) for p in points], np.int32)], False, 255, max(2, int(2.5 * scale)), cv2.LINE_AA)
    mask &= _disk_mask(image.shape[:2], centre, radius)
    dark = (mask.astype(np.float32) / 255.0)[:, :, None]
    image[:] = (image * (1 - 0.9 * dark) + np.array([60, 40, 26], np.float32) * 0.9 * dark).astype(np.uint8)
    return (mask > 64).astype(np.uint8) * 255


def _disk_mask(shape: tuple[int, int], centre: tuple[float, float], radius: float) -> np.ndarray:
    disk = np.zeros(shape, np.uint8)
    cv2.circle(disk, _pt(centre), int(radius) - 1, 255, -1)
    return disk


def _write_png(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    if not cv2.imwrite(str(path), bgr):
        raise OSError(f"cannot write {path}")


def write_dataset(
    root: Path,
    *,
    train_good: int = 40,
    test_good: int = 10,
    test_per_defect: int = 4,
    defects: tuple[str, ...] = DEFECT_TYPES,
    size: int = 256,
    seed: int = 0,
    grey: bool = False,
    train_per_defect: int = 0,
) -> Path:
    """Write an MVTec-AD-layout dataset: train/good, test/good, test/<defect>, ground_truth/<defect>;
    with `train_per_defect`, also train/<defect> (defective training images for a supervised model)."""
    root = Path(root)

    def emit(relative: str, part: SyntheticPart) -> None:
        image = cv2.cvtColor(part.image, cv2.COLOR_RGB2GRAY) if grey else part.image
        _write_png(root / relative, image)

    for i in range(train_good):
        emit(f"train/good/{i:03d}.png", render_part(seed, i, None, size))
    for i in range(test_good):
        emit(f"test/good/{i:03d}.png", render_part(seed, 10_000 + i, None, size))
    for defect in defects:
        for i in range(test_per_defect):
            part = render_part(seed, 20_000 + i, defect, size)
            emit(f"test/{defect}/{i:03d}.png", part)
            _write_png(root / f"ground_truth/{defect}/{i:03d}_mask.png", part.mask)
        for i in range(train_per_defect):
            emit(f"train/{defect}/{i:03d}.png", render_part(seed, 30_000 + i, defect, size))
    return root


def demo_line_sequence(count: int, defect_every: int = 4) -> Iterator[tuple[int, str | None]]:
    """(index, defect) for the demo line: every `defect_every`-th part is defective, cycling defect types."""
    defect_index = 0
    for i in range(count):
        if i % defect_every == defect_every - 1:
            yield i, DEFECT_TYPES[defect_index % len(DEFECT_TYPES)]
            defect_index += 1
        else:
            yield i, None


def write_demo_line(folder: Path, *, count: int = 48, size: int = 256, seed: int = 7) -> Path:
    """Write the demo line's part images, named `<index>_<good|defect>.png`, in line order."""
    folder = Path(folder)
    for i, defect in demo_line_sequence(count):
        _write_png(folder / f"{i:04d}_{defect or 'good'}.png", render_part(seed, 50_000 + i, defect, size).image)
    return folder
