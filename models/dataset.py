"""Reading inspection datasets in the MVTec AD layout.

    root/train/good/*.png               good images for training
    root/test/good/*.png                good images for evaluation
    root/test/<defect_type>/<stem>.*    defective images
    root/ground_truth/<defect_type>/<stem>_mask.png   optional masks (white = defect)
    root/train/<defect_type>/*.png      confirmed defective images for supervised training (`abn`)

A `gaikan dataset export` folder (it has `gaikan-export.json`) keeps the confirmed defects under
test/<defect_type>/: a supervised architecture trains on that whole folder (`supervised_images`).

Images may be any size, grey or colour, png/jpg/bmp/tif. A mask is paired with its image by
exact name (`<stem>_mask.png`, or another image suffix when there is no png), never by sorted
order or substring (`anomaly-1` must not pick up `anomaly-10_mask`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from gaikan.camera.replay import IMAGE_SUFFIXES
from gaikan.models.package import DataFingerprint

GOOD = "good"
EXPORT_INDEX = "gaikan-export.json"  # written by `gaikan dataset export` (service/dataset_export.py)


class DatasetError(ValueError):
    """The folder does not have the expected layout; the message says what is missing."""


@dataclass(frozen=True, slots=True)
class Sample:
    path: Path
    defect_type: str  # "good" or the defect folder name
    mask_path: Path | None = None

    @property
    def is_defective(self) -> bool:
        return self.defect_type != GOOD


def _images_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def train_images(root: Path) -> list[Path]:
    """Good training images under `root/train/good`."""
    root = Path(root)
    images = _images_in(root / "train" / GOOD)
    if not images:
        raise DatasetError(f"{root}: no training images in train/good ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return images


@dataclass(frozen=True, slots=True)
class SupervisedImages:
    """The training material of a supervised architecture."""

    good: list[Path]
    defects: list[Sample]
    source: str  # where they came from, in words (recorded in the manifest)


def defect_samples_under(folder: Path) -> list[Sample]:
    """Images in every `folder/<type>/` other than good, by type (masks not looked up)."""
    if not folder.is_dir():
        return []
    types = sorted(d.name for d in folder.iterdir() if d.is_dir() and d.name != GOOD)
    return [Sample(path=path, defect_type=kind) for kind in types for path in _images_in(folder / kind)]


def supervised_images(root: Path) -> SupervisedImages:
    """Good and defective training images: train/good and every train/<defect_type>/; for a
    `gaikan dataset export` folder without defect folders under train/, the whole export
    (train/good and test/good, defects from test/<defect_type>/), since that is where it keeps the
    parts people confirmed. DatasetError saying what is missing when there is no defect image
    (a plain MVTec folder's test/ set is never trained on)."""
    root = Path(root)
    good = train_images(root)
    defects = defect_samples_under(root / "train")
    if defects:
        return SupervisedImages(good, defects, "train/good and train/<defect_type>/")
    if (root / EXPORT_INDEX).is_file():
        defects = defect_samples_under(root / "test")
        if defects:
            return SupervisedImages(good + _images_in(root / "test" / GOOD), defects, "a gaikan dataset export: train/ and test/")
    raise DatasetError(
        f"{root}: no defective training images: a supervised model needs train/<defect_type>/ folders beside "
        f"train/good (or a `gaikan dataset export` folder with parts re-checked as defective)"
    )


def test_samples(root: Path) -> list[Sample]:
    """Every image under `root/test/<type>/`, with its mask where `ground_truth/<type>/<stem>_mask.png` exists.
    Types are sorted with `good` first; empty when there is no test folder."""
    root = Path(root)
    test_root = root / "test"
    if not test_root.is_dir():
        return []
    types = sorted((d.name for d in test_root.iterdir() if d.is_dir()), key=lambda name: (name != GOOD, name))
    samples: list[Sample] = []
    for defect_type in types:
        for path in _images_in(test_root / defect_type):
            samples.append(Sample(path=path, defect_type=defect_type, mask_path=_mask_for(root, defect_type, path.stem)))
    return samples


_MASK_SUFFIXES = (".png", *sorted(IMAGE_SUFFIXES - {".png"}))


def _mask_for(root: Path, defect_type: str, stem: str) -> Path | None:
    folder = root / "ground_truth" / defect_type
    for suffix in _MASK_SUFFIXES:
        for candidate in (folder / f"{stem}_mask{suffix}", folder / f"{stem}_mask{suffix.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def read_mask(path: Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A mask file as (H, W) bool, True = defect: bright pixels (>= 128; > 0 in a 0/1 mask; in
    a colour mask, in any colour channel).
    `shape`, if given, is the (height, width) of its image. DatasetError naming the file when it
    cannot be read or its size differs from the image's."""
    data = np.fromfile(str(path), dtype=np.uint8) if Path(path).is_file() else None
    mask = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data is not None and data.size else None
    if mask is None:
        raise DatasetError(f"cannot read mask file {path}")
    if mask.ndim == 3:
        mask = mask[:, :, :3].max(axis=2)
    if shape is not None and mask.shape != tuple(shape):
        raise DatasetError(
            f"mask {path} is {mask.shape[1]}x{mask.shape[0]} but its image is {shape[1]}x{shape[0]}"
        )
    return mask >= 128 if mask.max() > 1 else mask > 0


def fingerprint(files: list[Path], root: Path) -> DataFingerprint:
    """sha256 over the sorted relative paths and contents of `files`."""
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return DataFingerprint(file_count=len(files), sha256=digest.hexdigest())
