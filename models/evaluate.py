"""Scoring a dataset through the serving path and measuring it in the line's language.

`score_dataset` runs every test image through `OnnxModel.score_images` (the preprocessing and
ONNX Runtime path the service uses) and keeps the raw score and the model-resolution anomaly map.
`evaluate` turns the scores into an `Evaluation`: confusion matrices at the package's thresholds
and at the zero-escape threshold, rates, AUROC, pixel metrics and a per-defect-type breakdown.
Its JSON form (`Evaluation.model_dump_json`) has stable keys, documented in the README.

Pixel metrics are computed at the model's resolution: each ground-truth mask is cut and resized
with the same crop box and resize as the image (`preprocess.crop_box`, `preprocess.resize_to`)
and a model pixel counts as defective when at least half of the image pixels it covers are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict
from tqdm import tqdm

from gaikan.models import metrics
from gaikan.models.dataset import GOOD, DatasetError, Sample, read_mask
from gaikan.models.package import InputSpec, Manifest, ScoreStats
from gaikan.models.preprocess import crop_box, read_image, resize_to
from gaikan.models.runtime import OnnxModel
from gaikan.models.thresholds import Outcome, Thresholds

EVALUATION_SCHEMA_VERSION = 1
AUPRO_FPR_LIMIT = 0.3


# --- Scoring ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoredImage:
    path: Path
    defect_type: str
    score: float
    anomaly_map: np.ndarray  # (h, w) float32 at the model's resolution
    image_size: tuple[int, int]  # (height, width) of the file
    mask: np.ndarray | None = None  # (h, w) bool at the model's resolution; None without ground truth
    mask_path: Path | None = None

    @property
    def is_defective(self) -> bool:
        return self.defect_type != GOOD


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that could not be used, and why."""

    path: Path
    reason: str


@dataclass(frozen=True, slots=True)
class ScoredDataset:
    root: Path
    spec: InputSpec
    images: list[ScoredImage]
    skipped: list[Skipped]

    @property
    def scores(self) -> np.ndarray:
        return np.array([image.score for image in self.images], np.float64)

    @property
    def is_defective(self) -> np.ndarray:
        return np.array([image.is_defective for image in self.images], bool)

    @property
    def defect_types(self) -> list[str]:
        return sorted({image.defect_type for image in self.images if image.is_defective})

    def scores_of(self, defect_type: str) -> np.ndarray:
        return np.array([image.score for image in self.images if image.defect_type == defect_type], np.float64)

    def relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def mask_at_model_resolution(mask: np.ndarray, spec: InputSpec) -> np.ndarray:
    """An image-size bool mask brought to the model's (h, w) with the image's crop and resize; a
    model pixel is defective when at least half of the image pixels it covers are."""
    top, left, bottom, right = crop_box(mask.shape[0], mask.shape[1], spec)
    coverage = resize_to(mask[top:bottom, left:right].astype(np.float32), spec.height, spec.width)
    return coverage >= 0.5


def _batch_size(model: OnnxModel, requested: int) -> int:
    first_dim = model.session.get_inputs()[0].shape[0]
    return requested if not isinstance(first_dim, int) else 1


def score_dataset(
    model: OnnxModel,
    samples: Sequence[Sample],
    *,
    root: Path,
    batch_size: int = 8,
    progress: bool = True,
) -> ScoredDataset:
    """Score every sample with `model.score_images`. A file that cannot be read (or a score that
    is not finite) is listed in `skipped` with the reason, and everything else is still scored; a
    mask that cannot be used is listed too, and its image is scored without ground truth."""
    spec = model.manifest.input
    size = _batch_size(model, max(1, batch_size))
    images: list[ScoredImage] = []
    skipped: list[Skipped] = []
    pending: list[tuple[Sample, np.ndarray, np.ndarray | None]] = []

    def flush() -> None:
        if not pending:
            return
        result = model.score_images([image for _, image, _ in pending])
        for (sample, image, mask), score, anomaly_map in zip(pending, result.scores, result.maps, strict=True):
            if not (math.isfinite(float(score)) and np.all(np.isfinite(anomaly_map))):
                skipped.append(Skipped(sample.path, "the model gave a non-finite score or anomaly map"))
                continue
            images.append(
                ScoredImage(
                    path=sample.path,
                    defect_type=sample.defect_type,
                    score=float(score),
                    anomaly_map=np.asarray(anomaly_map, np.float32),
                    image_size=(image.shape[0], image.shape[1]),
                    mask=mask,
                    mask_path=sample.mask_path if mask is not None else None,
                )
            )
        pending.clear()

    for sample in tqdm(samples, desc="scoring", unit="image", disable=not progress):
        try:
            image = read_image(sample.path)
        except (ValueError, OSError) as error:
            skipped.append(Skipped(sample.path, str(error)))
            continue
        mask = None
        if sample.mask_path is not None:
            try:
                mask = mask_at_model_resolution(read_mask(sample.mask_path, image.shape[:2]), spec)
            except DatasetError as error:
                skipped.append(Skipped(sample.mask_path, f"{error}; its image is scored without ground truth"))
        pending.append((sample, image, mask))
        if len(pending) >= size:
            flush()
    flush()
    return ScoredDataset(root=Path(root), spec=spec, images=images, skipped=skipped)


# --- The evaluation (its JSON form is a public, documented interface) -------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DefectTypeSummary(_Frozen):
    defect_type: str
    count: int
    masks: int
    lowest: float
    median: float
    highest: float
    auroc: float | None  # this type against all good images
    escape_order: int  # 1 = the first type to escape as the threshold rises (lowest `lowest`)
    escapes_at_package_threshold: int
    review_rate_at_zero_escapes: float | None  # goods flagged at this type's own zero-escape threshold


class PixelMetrics(_Frozen):
    auroc: float | None
    aupro: float | None
    aupro_fpr_limit: float
    height: int  # the model's resolution, where pixel metrics are computed
    width: int
    good_images: int
    defective_images_with_mask: int
    defective_images_without_mask: int  # left out of pixel metrics


class PackageSummary(_Frozen):
    name: str
    version: str
    architecture: str
    reject: float
    review: float | None
    calibrated: bool = False  # the manifest's flag: thresholds set with defective images


class DataSummary(_Frozen):
    root: str
    images: int
    good: int
    defective: int
    defect_types: dict[str, int]
    masks: int
    skipped: int


class ImageResult(_Frozen):
    path: str  # relative to the data root
    defect_type: str
    score: float
    decision: Outcome  # at the package's thresholds
    has_mask: bool


class SkippedFile(_Frozen):
    path: str
    reason: str


class Evaluation(_Frozen):
    schema_version: Literal[1] = EVALUATION_SCHEMA_VERSION
    package: PackageSummary
    data: DataSummary
    image_auroc: float | None
    zero_escape_threshold: float | None
    review_rate_at_zero_escapes: float | None
    at_package_threshold: metrics.Confusion
    at_zero_escape: metrics.Confusion | None
    good_scores: ScoreStats | None
    defective_scores: ScoreStats | None
    defect_types: list[DefectTypeSummary]  # in escape order
    pixel: PixelMetrics | None
    images: list[ImageResult]
    skipped: list[SkippedFile]
    warnings: list[str]


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _defect_types(scored: ScoredDataset, thresholds: Thresholds) -> list[DefectTypeSummary]:
    good = scored.scores[~scored.is_defective]
    rows = []
    for defect_type in scored.defect_types:
        scores = scored.scores_of(defect_type)
        lowest = float(scores.min())
        labels = np.r_[np.zeros(len(good), bool), np.ones(len(scores), bool)]
        rows.append(
            dict(
                defect_type=defect_type,
                count=len(scores),
                masks=sum(1 for i in scored.images if i.defect_type == defect_type and i.mask is not None),
                lowest=lowest,
                median=float(np.median(scores)),
                highest=float(scores.max()),
                auroc=_finite_or_none(metrics.auroc(np.r_[good, scores], labels)),
                escapes_at_package_threshold=int((~thresholds.flagged(scores)).sum()),
                review_rate_at_zero_escapes=float(Thresholds(reject=lowest).flagged(good).mean()) if len(good) else None,
            )
        )
    rows.sort(key=lambda row: (row["lowest"], row["defect_type"]))
    return [DefectTypeSummary(escape_order=rank, **row) for rank, row in enumerate(rows, start=1)]


def _pixel_metrics(scored: ScoredDataset) -> PixelMetrics | None:
    with_mask = [i for i in scored.images if i.is_defective and i.mask is not None]
    if not with_mask:
        return None
    goods = [i for i in scored.images if not i.is_defective]
    used = goods + with_mask
    maps = [i.anomaly_map for i in used]
    masks = [i.mask if i.mask is not None else np.zeros(i.anomaly_map.shape, bool) for i in used]
    return PixelMetrics(
        auroc=_finite_or_none(metrics.pixel_auroc(maps, masks)),
        aupro=_finite_or_none(metrics.aupro(maps, masks, AUPRO_FPR_LIMIT)),
        aupro_fpr_limit=AUPRO_FPR_LIMIT,
        height=scored.spec.height,
        width=scored.spec.width,
        good_images=len(goods),
        defective_images_with_mask=len(with_mask),
        defective_images_without_mask=sum(1 for i in scored.images if i.is_defective and i.mask is None),
    )


UNCALIBRATED_WARNING = (
    "The package's thresholds are not calibrated with defective images (safe defaults from good images "
    "only): the figures at the package threshold say what they would let through; run `gaikan calibrate` "
    "with defective images before relying on them."
)


def _warnings(
    scored: ScoredDataset, review_rate: float | None, pixel: PixelMetrics | None, *, calibrated: bool
) -> list[str]:
    scores, labels = scored.scores, scored.is_defective
    notes = [] if calibrated else [UNCALIBRATED_WARNING]
    if not scored.images:
        notes.append("No image could be scored: there is nothing to measure.")
    elif not labels.any():
        notes.append(
            "No defective images: escapes, the zero-escape threshold and AUROC cannot be measured; "
            "only how many good parts are flagged."
        )
    elif labels.all():
        notes.append("No good test images (test/good): overkill and the review rate cannot be measured.")
    elif scores[labels].max() < scores[~labels].min():
        notes.append(
            "Every defective image scores below every good image: this model does not detect these defects "
            "(image AUROC 0). At zero escapes every part must be inspected."
        )
    elif review_rate == 1.0:
        notes.append(
            "At the zero-escape threshold every good part is flagged: the lowest-scoring defect scores "
            "below every good part, so zero escapes means inspecting every part."
        )
    if pixel is not None and pixel.defective_images_without_mask:
        notes.append(
            f"{pixel.defective_images_without_mask} defective image(s) have no mask and are left out of "
            "the pixel metrics."
        )
    if scored.skipped:
        notes.append(f"{len(scored.skipped)} file(s) could not be used (see skipped): {scored.skipped[0].reason}")
    return notes


def evaluate(scored: ScoredDataset, manifest: Manifest) -> Evaluation:
    """Measure scored images at the package's thresholds and at the zero-escape threshold."""
    thresholds = manifest.thresholds
    scores, labels = scored.scores, scored.is_defective
    zero_escape = metrics.zero_escape_threshold(scores, labels)
    review_rate = metrics.review_rate_at_zero_escapes(scores, labels)
    pixel = _pixel_metrics(scored)
    counts = {t: int(len(scored.scores_of(t))) for t in scored.defect_types}
    return Evaluation(
        package=PackageSummary(
            name=manifest.name,
            version=manifest.version,
            architecture=manifest.architecture,
            reject=thresholds.reject,
            review=thresholds.review,
            calibrated=manifest.calibrated,
        ),
        data=DataSummary(
            root=str(scored.root),
            images=len(scored.images),
            good=int((~labels).sum()),
            defective=int(labels.sum()),
            defect_types=counts,
            masks=sum(1 for i in scored.images if i.mask is not None),
            skipped=len(scored.skipped),
        ),
        image_auroc=_finite_or_none(metrics.auroc(scores, labels)),
        zero_escape_threshold=zero_escape,
        review_rate_at_zero_escapes=review_rate,
        at_package_threshold=metrics.confusion(scores, labels, thresholds.reject, thresholds.review),
        at_zero_escape=None if zero_escape is None else metrics.confusion(scores, labels, zero_escape),
        good_scores=metrics.score_stats(scores[~labels]) if (~labels).any() else None,
        defective_scores=metrics.score_stats(scores[labels]) if labels.any() else None,
        defect_types=_defect_types(scored, thresholds),
        pixel=pixel,
        images=[
            ImageResult(
                path=scored.relative(i.path),
                defect_type=i.defect_type,
                score=i.score,
                decision=thresholds.classify(i.score),
                has_mask=i.mask is not None,
            )
            for i in scored.images
        ],
        skipped=[SkippedFile(path=scored.relative(s.path), reason=s.reason) for s in scored.skipped],
        warnings=_warnings(scored, review_rate, pixel, calibrated=manifest.calibrated),
    )
