"""Inspection metrics on raw (unnormalised) scores; higher score = more anomalous.

A part is predicted defective when the threshold rule (`Thresholds`, the one the line uses)
flags it: score >= the threshold. Nothing here clips or rescales scores: a metric computed on
clipped scores reads 0.5 on unnormalised ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, computed_field

from gaikan.models.package import ScoreStats
from gaikan.models.thresholds import OUTCOMES, Thresholds


def auroc(scores: np.ndarray, is_defective: np.ndarray) -> float:
    """Area under the ROC curve (probability a random defect outscores a random good part; ties
    count half). NaN when either class is missing."""
    scores = np.asarray(scores, np.float64).ravel()
    labels = np.asarray(is_defective, bool).ravel()
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), np.float64)
    # Average ranks over ties (1-based).
    unique, first_index, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average_rank = first_index + (counts + 1) / 2.0
    ranks[order] = np.repeat(average_rank, counts)
    rank_sum = ranks[labels].sum()
    return float((rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives))


def zero_escape_threshold(scores: np.ndarray, is_defective: np.ndarray) -> float | None:
    """The highest threshold at which no known defect is predicted good: the lowest defect
    score. None when there are no defects."""
    labels = np.asarray(is_defective, bool).ravel()
    if not labels.any():
        return None
    return float(np.asarray(scores, np.float64).ravel()[labels].min())


def review_rate_at_zero_escapes(scores: np.ndarray, is_defective: np.ndarray) -> float | None:
    """Share of good parts flagged (score >= the zero-escape threshold). None without defects or goods."""
    threshold = zero_escape_threshold(scores, is_defective)
    labels = np.asarray(is_defective, bool).ravel()
    if threshold is None or labels.all():
        return None
    good_scores = np.asarray(scores, np.float64).ravel()[~labels]
    return float(Thresholds(reject=threshold).flagged(good_scores).mean())


# --- Operating points -------------------------------------------------------------------------


class Confusion(BaseModel):
    """Counts at one operating point. Rows: actual good / defective. Columns: the decision
    (pass, review, reject). Without a review band the review column is 0.

    A part is *flagged* when it goes to review or is rejected: either way it leaves the line
    for a person or the bin. An **escape** is a defective part that passes; an **overkill** is
    a good part that is flagged. Rates are None where their denominator is 0."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    reject: float
    review: float | None
    good_pass: int
    good_review: int
    good_reject: int
    defective_pass: int
    defective_review: int
    defective_reject: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def good(self) -> int:
        return self.good_pass + self.good_review + self.good_reject

    @computed_field  # type: ignore[prop-decorator]
    @property
    def defective(self) -> int:
        return self.defective_pass + self.defective_review + self.defective_reject

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> int:
        return self.good + self.defective

    @computed_field  # type: ignore[prop-decorator]
    @property
    def escapes(self) -> int:
        return self.defective_pass

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overkills(self) -> int:
        return self.good_review + self.good_reject

    @computed_field  # type: ignore[prop-decorator]
    @property
    def flagged(self) -> int:
        return self.total - self.good_pass - self.defective_pass

    @computed_field  # type: ignore[prop-decorator]
    @property
    def accuracy(self) -> float | None:
        """Share of parts handled right: good parts passed and defective parts flagged."""
        return _ratio(self.good_pass + self.defective - self.defective_pass, self.total)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def escape_rate(self) -> float | None:
        """Share of defective parts that pass."""
        return _ratio(self.escapes, self.defective)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overkill_rate(self) -> float | None:
        """Share of good parts flagged."""
        return _ratio(self.overkills, self.good)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def flagged_share(self) -> float | None:
        """Share of all parts flagged: the people's workload at this operating point."""
        return _ratio(self.flagged, self.total)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def confusion(scores: np.ndarray, is_defective: np.ndarray, reject: float, review: float | None = None) -> Confusion:
    """The confusion matrix at `reject` (score >= reject is rejected) with an optional review band
    `review <= score < reject`."""
    labels = np.asarray(is_defective, bool).ravel()
    levels = Thresholds(reject=reject, review=review).levels(np.asarray(scores, np.float64).ravel())
    counts = {
        f"{actual}_{outcome}": int(((levels == level) & mask).sum())
        for actual, mask in (("good", ~labels), ("defective", labels))
        for level, outcome in enumerate(OUTCOMES)
    }
    return Confusion(reject=float(reject), review=None if review is None else float(review), **counts)


def roc_curve(scores: np.ndarray, is_defective: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false-positive rate, true-positive rate, threshold) at every distinct score, from the
    highest threshold down; starts at (0, 0) with threshold +inf. Empty arrays when a class is missing."""
    scores = np.asarray(scores, np.float64).ravel()
    labels = np.asarray(is_defective, bool).ravel()
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        empty = np.empty(0, np.float64)
        return empty, empty, empty
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_labels = scores[order], labels[order]
    last_of_tie = np.r_[np.diff(sorted_scores) != 0, True]
    tp = np.cumsum(sorted_labels)[last_of_tie]
    fp = np.cumsum(~sorted_labels)[last_of_tie]
    fpr = np.r_[0.0, fp / negatives]
    tpr = np.r_[0.0, tp / positives]
    return fpr, tpr, np.r_[np.inf, sorted_scores[last_of_tie]]


def score_stats(scores: np.ndarray) -> ScoreStats:
    """Summary statistics of image scores (for a manifest's `score_stats`); ValueError when empty."""
    values = np.asarray(scores, np.float64).ravel()
    if values.size == 0:
        raise ValueError("no scores to summarise")
    p50, p85, p95, p99 = np.percentile(values, [50, 85, 95, 99])
    return ScoreStats(
        count=int(values.size),
        mean=float(values.mean()),
        std=float(values.std()),
        min=float(values.min()),
        p50=float(p50),
        p85=float(p85),
        p95=float(p95),
        p99=float(p99),
        max=float(values.max()),
    )


# --- Pixel level ------------------------------------------------------------------------------


def pixel_auroc(maps: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> float:
    """AUROC over every pixel of `maps` (anomaly maps) against `masks` (True = defect), all
    images pooled. NaN when the pixels hold only one class."""
    _check_pairs(maps, masks)
    return auroc(
        np.concatenate([np.asarray(m, np.float32).ravel() for m in maps]),
        np.concatenate([np.asarray(m, bool).ravel() for m in masks]),
    )


def aupro(maps: Sequence[np.ndarray], masks: Sequence[np.ndarray], fpr_limit: float = 0.3) -> float:
    """Area under the per-region-overlap curve up to `fpr_limit` false-positive rate, divided by
    `fpr_limit` (1.0 = perfect).

    Each defect region is a connected component (8-neighbourhood) of a mask; its overlap at a
    threshold is the share of its pixels at or above the threshold, and PRO is the mean overlap
    over all regions of all images, so a small defect counts as much as a large one. The
    false-positive rate is over all defect-free pixels. The curve is exact (one point per distinct
    map value), integrated with the trapezoid rule and cut at `fpr_limit` by linear interpolation.
    NaN when there is no defect region or no defect-free pixel."""
    if not 0 < fpr_limit <= 1:
        raise ValueError("fpr_limit must be in (0, 1]")
    _check_pairs(maps, masks)
    values: list[np.ndarray] = []
    region_ids: list[np.ndarray] = []  # 0 = defect-free, otherwise a dataset-wide region number
    region_sizes: list[np.ndarray] = [np.zeros(1, np.int64)]
    next_id = 1
    for anomaly_map, mask in zip(maps, masks, strict=True):
        count, labels = cv2.connectedComponents(np.asarray(mask, np.uint8), connectivity=8)
        values.append(np.asarray(anomaly_map, np.float32).ravel())
        labels = labels.ravel().astype(np.int64)
        region_ids.append(np.where(labels > 0, labels + next_id - 1, 0))
        region_sizes.append(np.bincount(labels, minlength=count)[1:])
        next_id += count - 1
    ids = np.concatenate(region_ids)
    sizes = np.concatenate(region_sizes)
    regions, normal = next_id - 1, int((ids == 0).sum())
    if regions == 0 or normal == 0:
        return float("nan")
    fpr_step = np.where(ids == 0, 1.0 / normal, 0.0)
    pro_step = np.where(ids > 0, 1.0 / (regions * np.maximum(sizes[ids], 1)), 0.0)
    scores = np.concatenate(values)
    order = np.argsort(-scores, kind="mergesort")
    last_of_tie = np.r_[np.diff(scores[order]) != 0, True]
    fpr = np.r_[0.0, np.cumsum(fpr_step[order])[last_of_tie]]
    pro = np.r_[0.0, np.cumsum(pro_step[order])[last_of_tie]]
    inside = fpr <= fpr_limit
    cut_fpr, cut_pro = fpr[inside], pro[inside]
    if cut_fpr[-1] < fpr_limit:
        after = int(np.argmax(~inside))  # first point past the limit (exists: fpr ends at 1.0)
        share = (fpr_limit - fpr[after - 1]) / (fpr[after] - fpr[after - 1])
        cut_fpr = np.r_[cut_fpr, fpr_limit]
        cut_pro = np.r_[cut_pro, pro[after - 1] + share * (pro[after] - pro[after - 1])]
    area = float(np.sum((cut_fpr[1:] - cut_fpr[:-1]) * (cut_pro[1:] + cut_pro[:-1]) / 2.0))
    return area / fpr_limit


def _check_pairs(maps: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> None:
    if len(maps) != len(masks):
        raise ValueError(f"{len(maps)} anomaly maps but {len(masks)} masks")
    for index, (anomaly_map, mask) in enumerate(zip(maps, masks, strict=True)):
        if np.shape(anomaly_map) != np.shape(mask):
            raise ValueError(f"image {index}: anomaly map {np.shape(anomaly_map)} and mask {np.shape(mask)} differ in shape")
