"""Inspection metrics on raw (unnormalised) scores; higher score = more anomalous.

A part is predicted defective when its score is >= the threshold.
"""

from __future__ import annotations

import numpy as np


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
    return float((good_scores >= threshold).mean())
