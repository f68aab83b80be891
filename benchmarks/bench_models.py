"""Per architecture and data set: training time, ONNX Runtime latency (batch 1 and 8), image AUROC,
review rate at zero escapes, pixel AUROC (where masks exist). Prints a Markdown table.

    python benchmarks/bench_models.py                       # every arch, l4v_cookies (if present) + generated data
    python benchmarks/bench_models.py --archs patchcore --data /path/to/mvtec/bottle --no-synthetic

Scores go through the package and `OnnxModel` exactly as serving runs them; metrics are computed
on raw scores. Pixel AUROC is over every pixel of every test image that has a mask (good images
count as all-good), at the image's own resolution.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from gaikan.models.dataset import test_samples
from gaikan.models.metrics import auroc, review_rate_at_zero_escapes
from gaikan.models.package import read_package
from gaikan.models.preprocess import map_to_image, read_image
from gaikan.models.runtime import OnnxModel
from gaikan.models.synthetic import write_dataset
from gaikan.models.train import TrainSettings, train_package
from gaikan.models.train_archs import architecture_names

COOKIES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "l4v_cookies"
ALL_ARCHS = tuple(architecture_names())  # every registered architecture


@dataclass
class Row:
    data: str
    arch: str
    train_s: float
    ms_b1: float
    ms_b8: float
    image_auroc: float
    review_rate: float | None
    pixel_auroc: float | None
    size_mb: float


def latency_ms(model: OnnxModel, batch: int, repeats: int) -> float:
    """Median wall time of one `run` at this batch size, in ms per call."""
    spec = model.manifest.input
    images = np.random.default_rng(0).integers(0, 256, (batch, spec.height, spec.width, spec.channels), dtype=np.uint8)
    for _ in range(3):
        model.run(images)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.run(images)
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def evaluate(model: OnnxModel, data: Path) -> tuple[float, float | None, float | None]:
    samples = test_samples(data)
    if not samples:
        raise SystemExit(f"{data}: no test images to evaluate")
    scores, labels, pixel_scores, pixel_labels = [], [], [], []
    has_masks = any(s.mask_path for s in samples)
    for sample in samples:
        image = read_image(sample.path)
        result = model.score_images([image])
        scores.append(float(result.scores[0]))
        labels.append(sample.is_defective)
        if has_masks and (sample.mask_path or not sample.is_defective):
            full = map_to_image(result.maps[0], image.shape[0], image.shape[1], model.manifest.input)
            mask = np.zeros(image.shape[:2], bool)
            if sample.mask_path:
                mask = cv2.imread(str(sample.mask_path), cv2.IMREAD_GRAYSCALE) > 127
            pixel_scores.append(full.ravel())
            pixel_labels.append(mask.ravel())
    s, y = np.array(scores), np.array(labels)
    pixel = auroc(np.concatenate(pixel_scores), np.concatenate(pixel_labels)) if pixel_scores else None
    return auroc(s, y), review_rate_at_zero_escapes(s, y), pixel


def bench(data: Path, label: str, arch: str, args: argparse.Namespace, workdir: Path) -> Row:
    out = (args.keep or workdir) / f"{label}-{arch}.zip"
    settings = TrainSettings(
        arch=arch, height=args.image_size, width=args.image_size, max_minutes=args.max_minutes,
        epochs=args.epochs, seed=args.seed, device=args.device,
    )  # fmt: skip
    start = time.monotonic()
    train_package(data, out, settings, show_progress=not args.quiet)
    train_s = time.monotonic() - start
    model = OnnxModel(read_package(out), intra_op_threads=args.threads)
    ms_b1 = latency_ms(model, 1, args.repeats)
    ms_b8 = latency_ms(model, 8, max(3, args.repeats // 4))
    image_auc, review, pixel_auc = evaluate(model, data)
    return Row(label, arch, train_s, ms_b1, ms_b8, image_auc, review, pixel_auc, out.stat().st_size / 1e6)


def print_rows(rows: list[Row]) -> None:
    print("| data | arch | train s | ORT ms b1 | ORT ms b8 | image AUROC | review @0 escapes | pixel AUROC | package MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        review = "-" if r.review_rate is None else f"{100 * r.review_rate:.1f} %"
        pixel = "-" if r.pixel_auroc is None else f"{r.pixel_auroc:.3f}"
        print(
            f"| {r.data} | {r.arch} | {r.train_s:.0f} | {r.ms_b1:.1f} | {r.ms_b8:.1f} | {r.image_auroc:.3f} | "
            f"{review} | {pixel} | {r.size_mb:.1f} |"
        )
    sys.stdout.flush()


def trainable(data: Path, arch: str) -> bool:
    """False for a supervised architecture on a folder without defective training images."""
    from gaikan.models.dataset import DatasetError, supervised_images
    from gaikan.models.train_archs import get_architecture

    if not get_architecture(arch).supervised:
        return True
    try:
        supervised_images(data)
    except DatasetError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", default=",".join(ALL_ARCHS))
    parser.add_argument("--data", type=Path, action="append", default=[], help="MVTec-layout folders (repeatable)")
    parser.add_argument("--no-synthetic", action="store_true")
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--max-minutes", type=float, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--keep", type=Path, default=None, help="keep the trained packages in this folder")
    args = parser.parse_args()

    datasets = [(p.name, p) for p in args.data]
    if not args.data and COOKIES.is_dir():
        datasets.append(("l4v_cookies", COOKIES))
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="gaikan-bench-") as tmp:
        workdir = Path(tmp)
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
        if not args.no_synthetic:
            synthetic = write_dataset(
                workdir / "synthetic", train_good=60, test_good=20, test_per_defect=8, size=args.image_size, seed=21,
                train_per_defect=8,  # for a supervised architecture; the good-only ones read train/good only
            )
            datasets.append(("synthetic", synthetic))
        for label, path in datasets:
            for arch in args.archs.split(","):
                if not trainable(path, arch.strip()):
                    print(f"skipped {arch} on {label}: no defect folders under train/", file=sys.stderr, flush=True)
                    continue
                rows.append(bench(path, label, arch.strip(), args, workdir))
                print_rows(rows[-1:])
    print()
    print_rows(rows)


if __name__ == "__main__":
    main()
