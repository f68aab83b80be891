"""`gaikan train`: good images in (and confirmed defective ones for a supervised architecture),
a validated model package out.

1. Read `train/good` of an MVTec-AD-layout folder (a supervised architecture also its defect
   folders, `dataset.supervised_images`) and bring every image to the model input with
   `gaikan.models.preprocess` (the same code serving uses).
2. Hold back a seeded share of the good images (never trained on), and as large a share of each
   defect type for a supervised architecture.
3. Fit the architecture, export its scoring module to ONNX, and score the held-back images with
   both torch and ONNX Runtime (through `OnnxModel`, the serving runner): the package is written
   only if they agree.
4. Record score statistics of the held-back images (ONNX Runtime scores), the safe default
   thresholds (`initial_thresholds`: a review band above the good range, uncalibrated; with
   held-back defects `supervised_thresholds`: calibrated), the data fingerprint, the settings and
   the time taken.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from gaikan.models.architectures import DEFAULT_ARCHITECTURE
from gaikan.models.calibrate import calibrate, just_above
from gaikan.models.dataset import Sample, fingerprint, supervised_images, train_images
from gaikan.models.metrics import score_stats
from gaikan.models.package import (
    InputSpec,
    Manifest,
    ModelPackage,
    Normalisation,
    ScoreStats,
    TrainingInfo,
    build_manifest,
    with_changes,
    write_package,
)
from gaikan.models.preprocess import prepare_batch, read_image
from gaikan.models.thresholds import Thresholds

# The default reject threshold sits this many "median-to-max spreads" of the held-back good scores
# above their maximum; between the maximum and it lies the review band (see `initial_thresholds`).
THRESHOLD_SPREADS = 2.0
THRESHOLD_RULE = (
    f"review = just above the p85 of held-back good scores; "
    f"reject = max + {THRESHOLD_SPREADS:g} x (max - p50) (at least 5 % of |max| above it)"
)
SUPERVISED_THRESHOLD_RULE = (
    "review = the lower of (just above the p95 of held-back good scores) and (the lowest held-back defect score: "
    f"no held-back defect passes); reject = the higher of (max + {THRESHOLD_SPREADS:g} x (max - p50) of the held-back "
    "good scores) and (the lowest held-back defect score)"
)


class TrainSettings(BaseModel):
    """Everything that decides what a training run produces (recorded in the manifest)."""

    model_config = ConfigDict(extra="forbid")
    arch: str = DEFAULT_ARCHITECTURE
    height: int = Field(256, ge=16, le=4096)
    width: int = Field(256, ge=16, le=4096)
    resize: Literal["stretch", "center_crop"] = "stretch"
    colour: Literal["rgb", "gray"] | None = Field(None, description="None: grey when every training image is grey")
    epochs: int | None = Field(None, ge=1)
    max_minutes: float | None = Field(None, gt=0)
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    holdout_fraction: float = Field(0.2, gt=0, lt=1)
    name: str | None = None
    version: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("options", mode="before")
    @classmethod
    def _no_none(cls, value: Any) -> Any:
        return value or {}


@dataclass(frozen=True, slots=True)
class TrainResult:
    path: Path
    manifest: Manifest
    module: Any  # the torch scoring module that was exported (CPU, eval mode)
    holdout_scores: np.ndarray
    parity_error: float


def detect_colour(images: list[np.ndarray]) -> Literal["rgb", "gray"]:
    """`gray` when every image is single-channel or has three equal channels, else `rgb`."""
    for image in images:
        if image.ndim == 3 and not (np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 1], image[..., 2])):
            return "rgb"
    return "gray"


def holdout_split(count: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, held-back indices): a seeded shuffle, at least one image on each side."""
    if count < 2:
        raise ValueError(f"need at least 2 good training images (one is held back), found {count}")
    held = min(count - 1, max(1, round(count * fraction)))
    order = np.random.default_rng(seed).permutation(count)
    return np.sort(order[held:]), np.sort(order[:held])


def initial_thresholds(stats: ScoreStats) -> Thresholds:
    """Safe default thresholds from held-back good scores only, before any calibration with
    defects (`gaikan calibrate`). They err toward review:

        review = just above p85                                        (above the typical good range:
                                                                        a person looks)
        reject = max + THRESHOLD_SPREADS * max(max - p50, 5 % |max|)   (clearly beyond every good part)

    No held-back good part is rejected outright; about 15 % of good parts go to review until the
    model is calibrated: the price of catching defects that score just above the typical good
    range, which on hard products is where many are. The level is a compromise measured on the dev
    sets (README, "Safe default thresholds"): escapes / good parts reviewed at the held-back p95,
    p85 and p80 were l4v_cookies (patchcore) 0 % / 7 %, 0 % / 14 %, 0 % / 36 %; mvtec_screw
    (patchcore 448) 13 % / 2 %, 0 % / 12 %, 0 % / 24 %; kolektorsdd (synthseg) 25 % / 8 %,
    6 % / 13 %, 2 % / 16 %. Nothing is known about defects: one that scores within the typical good
    range cannot be told apart by any threshold. Scale-free (any architecture's score units).
    `just_above` is the next float32 above the value, so a good score equal to it passes.
    """
    if stats.p85 is None:
        raise ValueError("score statistics without p85 (a package older than this rule): score held-back images again")
    spread = max(stats.max - stats.p50, 0.05 * abs(stats.max), 1e-6)
    review = just_above(stats.p85)
    reject = max(stats.max + THRESHOLD_SPREADS * spread, just_above(review))
    return Thresholds(reject=reject, review=review)


def supervised_thresholds(stats: ScoreStats, good_scores: np.ndarray, defect_scores: np.ndarray) -> Thresholds:
    """Thresholds of a supervised model from its held-back good and defective images, erring
    toward review: review at the lower of just above the p95 of the held-back good scores and the
    zero-escape level of the held-back defects (`gaikan calibrate`'s rule: their lowest score), so
    no held-back defect passes; reject at the higher of the safe default (clearly beyond every
    held-back good part, `initial_thresholds`) and that zero-escape level, so only a score as high as a confirmed
    defect's is rejected outright and everything between goes to a person."""
    safe = initial_thresholds(stats)
    calibrated = calibrate(good_scores, defect_scores, review=True).thresholds
    zero_escape = calibrated.review if calibrated.review is not None else calibrated.reject
    # Held-back defects set the level, so the good-only default's wide review band (p85) is not
    # needed: above the typical good range (p95) or at the lowest defect, whichever is lower.
    review = min(just_above(stats.p95), zero_escape)
    return Thresholds(review=review, reject=max(safe.reject, zero_escape, just_above(review)))


def defect_holdout_split(defects: list[Sample], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, held-back indices) into `defects`: a seeded share of every defect type
    (rounded), at least one held back when there are two or more, at least one kept to train on."""
    rng = np.random.default_rng(seed)
    held: list[int] = []
    for kind in sorted({d.defect_type for d in defects}):
        members = [i for i, d in enumerate(defects) if d.defect_type == kind]
        held += [int(i) for i in rng.permutation(members)[: round(len(members) * fraction)]]
    if len(held) >= len(defects):
        held = held[: len(defects) - 1]
    if not held and len(defects) >= 2:
        held = [int(rng.integers(len(defects)))]
    chosen = np.zeros(len(defects), bool)
    chosen[held] = True
    return np.flatnonzero(~chosen), np.flatnonzero(chosen)


def _clean_name(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-._")
    return (cleaned or "model")[:100]


def train_package(data: Path, out: Path, settings: TrainSettings, *, show_progress: bool = True) -> TrainResult:
    """Train `settings.arch` on `data/train/good` (a supervised one also on its defect images) and
    write the package to `out`."""
    from gaikan.models.export import compare, export_onnx, torch_scores
    from gaikan.models.runtime import OnnxModel
    from gaikan.models.train_archs import get_architecture, parse_options
    from gaikan.models.train_context import Deadline, TrainContext, pick_device, seed_everything

    started = time.monotonic()
    architecture = get_architecture(settings.arch)
    options = parse_options(architecture, settings.options)
    device = pick_device(settings.device)
    data = Path(data)
    supervised = supervised_images(data) if architecture.supervised else None
    files = supervised.good if supervised else train_images(data)
    defects = supervised.defects if supervised else []
    raw = [read_image(path) for path in files + [d.path for d in defects]]
    colour = settings.colour or detect_colour(raw)
    # Normalisation is the architecture's (known once its module exists); preparing ignores it.
    spec = InputSpec(
        height=settings.height, width=settings.width, colour=colour, resize=settings.resize,
        normalisation=Normalisation(mean=[0.0], std=[1.0]),
    )  # fmt: skip
    images = prepare_batch(raw, spec)
    del raw
    images, defect_images = images[: len(files)], images[len(files) :]
    train_index, holdout_index = holdout_split(len(images), settings.holdout_fraction, settings.seed)
    defect_train, defect_held = defect_holdout_split(defects, settings.holdout_fraction, settings.seed)

    seed_everything(settings.seed)
    context = TrainContext(
        train=images[train_index], holdout=images[holdout_index], device=device, seed=settings.seed,
        deadline=Deadline(settings.max_minutes), epochs=settings.epochs, options=options, show_progress=show_progress,
        defects=defect_images[defect_train], holdout_defects=defect_images[defect_held],
    )  # fmt: skip
    module = architecture.fit(context)

    spec = spec.model_copy(
        update={"normalisation": Normalisation(mean=module.input.mean_values, std=module.input.std_values)}
    )
    onnx_bytes = export_onnx(module, spec.height, spec.width, spec.channels)
    provisional = ModelPackage(
        manifest=build_manifest(
            onnx_bytes, name="provisional", version="0", architecture=settings.arch, input=spec,
            thresholds=Thresholds(reject=1.0),
        ),
        onnx_bytes=onnx_bytes,
    )  # fmt: skip
    runner = OnnxModel(provisional)
    # Held-back images only: on training images a memory-bank model's distances are ~0, where
    # float32 rounding differences between two correct implementations are relatively large.
    held = np.concatenate([context.holdout, context.holdout_defects]) if len(defect_held) else context.holdout
    onnx_outputs = _run_in_batches(runner, held)
    parity = compare(torch_scores(module, held), onnx_outputs, architecture.parity_tolerance)
    holdout_scores, held_defect_scores = onnx_outputs[0][: len(holdout_index)], onnx_outputs[0][len(holdout_index) :]
    stats = score_stats(holdout_scores)
    calibrated = held_defect_scores.size > 0
    if calibrated:
        thresholds, rule = supervised_thresholds(stats, holdout_scores, held_defect_scores), SUPERVISED_THRESHOLD_RULE
    else:
        thresholds, rule = initial_thresholds(stats), THRESHOLD_RULE

    seconds = time.monotonic() - started
    recorded = settings.model_dump(exclude={"name", "version", "options"}) | {
        "colour": colour,
        "device": str(device),
        "options": options.model_dump(),
        "train_images": int(len(train_index)),
        "holdout_images": int(len(holdout_index)),
        "fit": context.notes,
        "parity_relative_error": parity.worst,
        "threshold_rule": rule,
    }
    if supervised:
        recorded |= {
            "defect_source": supervised.source,
            "defect_train_images": int(len(defect_train)),
            "defect_holdout_images": int(len(defect_held)),
            "holdout_defect_scores": [round(float(v), 6) for v in held_defect_scores],
        }
    package = with_changes(
        provisional,
        name=_clean_name(settings.name or f"{data.name}-{settings.arch}"),
        version=settings.version or datetime.now(UTC).strftime("%Y%m%d-%H%M%S"),
        description=f"{architecture.summary}; trained on {data.name}",
        created_at=datetime.now(UTC),
        thresholds=thresholds,
        calibrated=calibrated,  # set by held-back defects; good images only: `gaikan calibrate` with defects sets it
        score_stats=stats,
        training=TrainingInfo(
            data=fingerprint(files + [d.path for d in defects], data), settings=recorded, seconds=round(seconds, 3)
        ),
    )
    path = write_package(package, Path(out))
    return TrainResult(path=path, manifest=package.manifest, module=module, holdout_scores=holdout_scores, parity_error=parity.worst)


def _run_in_batches(runner: Any, images: np.ndarray, batch_size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    scores, maps = [], []
    for start in range(0, len(images), batch_size):
        result = runner.run(images[start : start + batch_size])
        scores.append(result.scores)
        maps.append(result.maps)
    return np.concatenate(scores), np.concatenate(maps)
