"""Detection quality of every registered architecture on MVTec-layout folders, as one Markdown table.

    nice -n 10 python benchmarks/bench_quality.py --data ../shared/data/l4v_cookies --data DIR2 ...
    python benchmarks/bench_quality.py --archs patchcore,anogan --data DIR --keep packages/
    python benchmarks/bench_quality.py --data DIR --keep packages/ --reuse    # evaluate kept packages again

Per (data set, architecture): `gaikan train` (the same `train_package`, default options unless
`--set`), then the package is scored through `OnnxModel` and measured by `gaikan eval`'s own code
(`models/evaluate.py`, `models/metrics.py`; no second implementation of any metric):

- image AUROC and the review rate at zero escapes (good parts flagged at the lowest defect score);
- pixel AUROC and AUPRO (to 30 % FPR) where the data has masks;
- escapes and good parts flagged at the package's own shipped thresholds (uncalibrated: the safe
  defaults from good images only; a supervised architecture's are calibrated on its held-back
  training defects), i.e. what a line gets when it activates the fresh package;
- ONNX Runtime latency, batch 1, median per image (`--threads` intra-op threads);
- training seconds (as recorded in the manifest).

Architectures default to every one `gaikan train --arch` knows (`train_archs.architecture_names`);
a supervised one (`abn`) is skipped on a folder without defect folders under train/
(`benchmarks/split_defects.py` makes such a split of an MVTec-layout folder).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gaikan.models.dataset import test_samples
from gaikan.models.evaluate import Evaluation, evaluate, score_dataset
from gaikan.models.package import read_package
from gaikan.models.runtime import OnnxModel
from gaikan.models.train import TrainSettings, train_package

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_models import latency_ms, trainable  # noqa: E402  (the benchmarks' one latency measurement)

HEADER = (
    "| data | arch | image AUROC | review @ 0 escapes | pixel AUROC | AUPRO | escapes @ shipped | good flagged @ shipped "
    "| ORT ms/img b1 | train s |"
)
ALIGN = "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"


@dataclass(frozen=True, slots=True)
class Row:
    data: str
    arch: str
    evaluation: Evaluation
    ms_b1: float
    train_s: float | None

    def markdown(self) -> str:
        e = self.evaluation
        shipped = e.at_package_threshold
        pixel = e.pixel
        cells = [
            self.data,
            self.arch,
            _number(e.image_auroc),
            _percent(e.review_rate_at_zero_escapes),
            _number(pixel.auroc if pixel else None),
            _number(pixel.aupro if pixel else None),
            f"{shipped.escapes} of {shipped.defective} ({_percent(shipped.escape_rate)})",
            _percent(shipped.overkill_rate),
            f"{self.ms_b1:.1f}",
            "–" if self.train_s is None else f"{self.train_s:.0f}",
        ]
        return "| " + " | ".join(cells) + " |"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _package_for(data: Path, arch: str, args: argparse.Namespace, folder: Path) -> Path:
    out = folder / f"{data.name}-{arch}.zip"
    if args.reuse and out.is_file():
        return out
    settings = TrainSettings(
        arch=arch, height=args.image_size[0], width=args.image_size[1], max_minutes=args.max_minutes,
        epochs=args.epochs, seed=args.seed, device=args.device, options=_options(args.set, arch),
    )  # fmt: skip
    train_package(data, out, settings, show_progress=not args.quiet)
    return out


def _options(items: list[str], arch: str) -> dict[str, str]:
    """`--set arch:KEY=VALUE` applies to that architecture, `--set KEY=VALUE` to every one."""
    options = {}
    for item in items:
        target, _, setting = item.partition(":") if ":" in item.split("=", 1)[0] else ("", "", item)
        if target in ("", arch):
            key, _, value = setting.partition("=")
            options[key.strip().replace("-", "_")] = value.strip()
    return options


def _size(text: str) -> tuple[int, int]:
    """`256` or `512x208` (height x width), as `gaikan train --image-size`."""
    values = [int(part) for part in text.lower().split("x")]
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError(f"{text!r}: expected S or HxW, e.g. 256 or 512x208")
    return values[0], values[-1]


def measure(data: Path, arch: str, args: argparse.Namespace, folder: Path) -> Row:
    package = read_package(_package_for(data, arch, args, folder))
    model = OnnxModel(package, intra_op_threads=args.threads)
    scored = score_dataset(model, test_samples(data), root=data, batch_size=8, progress=not args.quiet)
    return Row(
        data=data.name,
        arch=arch,
        evaluation=evaluate(scored, package.manifest),
        ms_b1=latency_ms(model, 1, args.repeats),
        train_s=package.manifest.training.seconds,
    )


def main() -> None:
    from gaikan.models.train_archs import architecture_names

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, action="append", required=True, help="MVTec-layout folder (repeatable)")
    parser.add_argument("--archs", default=None, help="comma-separated subset (default: every registered architecture)")
    parser.add_argument("--set", action="append", default=[], help="architecture option [ARCH:]KEY=VALUE (repeatable)")
    parser.add_argument("--image-size", type=_size, default=(256, 256), help="S (square) or HxW, as gaikan train")
    parser.add_argument("--max-minutes", type=float, default=None, help="training budget per architecture")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads")
    parser.add_argument("--repeats", type=int, default=40, help="timed batch-1 runs per package")
    parser.add_argument("--keep", type=Path, default=None, help="write the packages here (default: a temporary folder)")
    parser.add_argument("--reuse", action="store_true", help="with --keep: evaluate packages already there instead of training")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    known = architecture_names()
    archs = [a.strip() for a in args.archs.split(",")] if args.archs else known
    unknown = sorted(set(archs) - set(known))
    if unknown:
        parser.error(f"unknown architecture(s) {', '.join(unknown)}; known: {', '.join(known)}")
    missing = [str(d) for d in args.data if not (d / "train" / "good").is_dir() or not test_samples(d)]
    if missing:
        parser.error(f"not an MVTec-layout folder with train/good and test images: {', '.join(missing)}")

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="gaikan-quality-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(HEADER + "\n" + ALIGN, flush=True)
        for data in args.data:
            for arch in archs:
                if not trainable(data, arch):
                    print(f"skipped {arch} on {data.name}: no defect folders under train/", file=sys.stderr, flush=True)
                    continue
                rows.append(measure(data, arch, args, folder))
                print(rows[-1].markdown(), flush=True)
    print()
    print(HEADER)
    print(ALIGN)
    for row in rows:
        print(row.markdown())


if __name__ == "__main__":
    main()
