"""A supervised split of an MVTec-layout folder, for measuring `abn` beside the good-only models:

    python benchmarks/split_defects.py --data ../shared/data/l4v_cookies --out /tmp/l4v_cookies_half [--share 0.5] [--seed 0]
    nice -n 10 python benchmarks/bench_quality.py --archs patchcore,abn --data /tmp/l4v_cookies_half

A seeded `--share` of every test/<defect_type>/ moves to train/<defect_type>/ (what a supervised
model trains on; good-only models ignore it); the rest of the defects, with their masks, and all of
test/good stay the test set. train/good is unchanged. The new folder holds symbolic links to the
original files (nothing is copied).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from gaikan.models.dataset import GOOD, test_samples, train_images


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(source.resolve())


def split(data: Path, out: Path, share: float, seed: int) -> dict[str, int]:
    """Write the split to `out` (must not exist); counts of the files per folder."""
    out.mkdir(parents=True)
    counts: dict[str, int] = {}

    def put(source: Path, folder: str) -> None:
        _link(source, out / folder / source.name)
        counts[folder] = counts.get(folder, 0) + 1

    for path in train_images(data):
        put(path, f"train/{GOOD}")
    samples = test_samples(data)
    rng = random.Random(seed)
    for kind in sorted({s.defect_type for s in samples}):
        members = [s for s in samples if s.defect_type == kind]
        if kind == GOOD:
            for sample in members:
                put(sample.path, f"test/{GOOD}")
            continue
        chosen = set(rng.sample(range(len(members)), round(len(members) * share)))
        for index, sample in enumerate(members):
            put(sample.path, f"{'train' if index in chosen else 'test'}/{kind}")
            if index not in chosen and sample.mask_path is not None:
                _link(sample.mask_path, out / "ground_truth" / kind / sample.mask_path.name)
    return dict(sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--share", type=float, default=0.5, help="share of each defect type to train on")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for folder, count in split(args.data, args.out, args.share, args.seed).items():
        print(f"{folder}: {count}")


if __name__ == "__main__":
    main()
