"""Reading inspection datasets in the MVTec AD layout.

    root/train/good/*.png               good images for training
    root/test/good/*.png                good images for evaluation
    root/test/<defect_type>/<stem>.*    defective images
    root/ground_truth/<defect_type>/<stem>_mask.png   optional masks (white = defect)

A mask is paired with its image by exact name (`<stem>_mask.png`), never by sorted order
or substring (`anomaly-1` must not pick up `anomaly-10_mask`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from gaikan.camera.replay import IMAGE_SUFFIXES
from gaikan.models.package import DataFingerprint

GOOD = "good"


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
            mask = root / "ground_truth" / defect_type / f"{path.stem}_mask.png"
            samples.append(Sample(path=path, defect_type=defect_type, mask_path=mask if mask.is_file() else None))
    return samples


def fingerprint(files: list[Path], root: Path) -> DataFingerprint:
    """sha256 over the sorted relative paths and contents of `files`."""
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return DataFingerprint(file_count=len(files), sha256=digest.hexdigest())
