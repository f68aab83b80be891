"""Metrics against answers computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gaikan.models.metrics import (
    aupro,
    auroc,
    confusion,
    pixel_auroc,
    review_rate_at_zero_escapes,
    roc_curve,
    score_stats,
    zero_escape_threshold,
)

# Five good parts and three defective ones. By hand:
#   zero-escape threshold = lowest defect = 3.5; good parts >= 3.5: {4, 5} -> review rate 2/5.
#   AUROC: 3.5 beats {1, 2, 3}, 6 and 7 beat all five -> (3 + 5 + 5) / 15 = 13/15.
GOOD = [1.0, 2.0, 3.0, 4.0, 5.0]
DEFECTS = [3.5, 6.0, 7.0]
SCORES = np.array(GOOD + DEFECTS)
LABELS = np.array([False] * 5 + [True] * 3)


def test_zero_escape_threshold_and_review_rate_by_hand() -> None:
    assert zero_escape_threshold(SCORES, LABELS) == 3.5
    assert review_rate_at_zero_escapes(SCORES, LABELS) == pytest.approx(2 / 5)


def test_auroc_by_hand_and_on_raw_unclipped_scores() -> None:
    assert auroc(SCORES, LABELS) == pytest.approx(13 / 15)
    # Scores far outside [0, 1] and negative ones: same ranking, same AUROC.
    assert auroc(SCORES * 1000 - 4000, LABELS) == pytest.approx(13 / 15)
    # Ties count half: one defect tied with one good part out of 1 x 1 pairs.
    assert auroc(np.array([2.0, 2.0]), np.array([False, True])) == 0.5


def test_confusion_single_threshold_by_hand() -> None:
    # reject >= 4.5: good 1..4 pass, 5 rejected; defect 3.5 escapes, 6 and 7 rejected.
    matrix = confusion(SCORES, LABELS, 4.5)
    assert (matrix.good_pass, matrix.good_review, matrix.good_reject) == (4, 0, 1)
    assert (matrix.defective_pass, matrix.defective_review, matrix.defective_reject) == (1, 0, 2)
    assert matrix.escapes == 1 and matrix.overkills == 1 and matrix.flagged == 3
    assert matrix.accuracy == pytest.approx(6 / 8)
    assert matrix.escape_rate == pytest.approx(1 / 3)
    assert matrix.overkill_rate == pytest.approx(1 / 5)
    assert matrix.flagged_share == pytest.approx(3 / 8)


def test_confusion_threshold_is_inclusive() -> None:
    # A score equal to the threshold is rejected: at the zero-escape threshold nothing escapes.
    matrix = confusion(SCORES, LABELS, 3.5)
    assert matrix.escapes == 0 and matrix.defective_reject == 3
    assert matrix.overkills == 2  # good 4 and 5
    assert matrix.flagged_share == pytest.approx(5 / 8)


def test_confusion_with_review_band_by_hand() -> None:
    # review 3 <= score < reject 6: good {3, 4, 5} reviewed, defect 3.5 reviewed; 6 and 7 rejected.
    matrix = confusion(SCORES, LABELS, reject=6.0, review=3.0)
    assert (matrix.good_pass, matrix.good_review, matrix.good_reject) == (2, 3, 0)
    assert (matrix.defective_pass, matrix.defective_review, matrix.defective_reject) == (0, 1, 2)
    assert matrix.escapes == 0 and matrix.overkills == 3
    assert matrix.accuracy == pytest.approx(5 / 8)
    with pytest.raises(ValueError, match="review threshold"):
        confusion(SCORES, LABELS, reject=3.0, review=3.0)


def test_rates_undefined_without_a_class() -> None:
    goods_only = confusion(np.array(GOOD), np.zeros(5, bool), 4.5)
    assert goods_only.escape_rate is None and goods_only.overkill_rate == pytest.approx(1 / 5)
    assert zero_escape_threshold(np.array(GOOD), np.zeros(5, bool)) is None
    assert review_rate_at_zero_escapes(np.array(GOOD), np.zeros(5, bool)) is None
    assert math.isnan(auroc(np.array(GOOD), np.zeros(5, bool)))


def test_roc_curve_by_hand() -> None:
    fpr, tpr, thresholds = roc_curve(SCORES, LABELS)
    # Thresholds from the top: inf, 7, 6, 5, 4, 3.5, 3, 2, 1.
    assert thresholds.tolist() == [np.inf, 7, 6, 5, 4, 3.5, 3, 2, 1]
    assert fpr.tolist() == pytest.approx([0, 0, 0, 0.2, 0.4, 0.4, 0.6, 0.8, 1.0])
    assert tpr.tolist() == pytest.approx([0, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 1, 1, 1, 1])
    # Its area is the AUROC.
    assert np.trapezoid(tpr, fpr) == pytest.approx(13 / 15)


def test_roc_curve_collapses_ties() -> None:
    fpr, tpr, thresholds = roc_curve(np.array([1.0, 2.0, 2.0]), np.array([False, False, True]))
    assert thresholds.tolist() == [np.inf, 2.0, 1.0]
    assert fpr.tolist() == [0, 0.5, 1.0] and tpr.tolist() == [0, 1.0, 1.0]


# One 2x4 image: region A = the single pixel (0,0); region B = (1,2) and (1,3) (not touching A).
#   map:  0.9  0.85 0.5  0.3      mask:  A  .  .  .
#         0.2  0.05 0.8  0.1             .  .  B  B
# Descending: 0.9 (A: PRO 1/2) | 0.85 (normal: FPR 1/5) | 0.8 (B1: PRO 1/2 + 1/2*1/2 = 3/4) | 0.5 ...
# Curve to FPR 0.3: PRO 1/2 on [0, 0.2], 3/4 on [0.2, 0.3] -> area 0.1 + 0.075 = 0.175 -> /0.3 = 7/12.
# Pixel-weighted it would differ (B1 is 1/3 of the defect pixels): per-region weighting matters.
TINY_MAP = np.array([[0.9, 0.85, 0.5, 0.3], [0.2, 0.05, 0.8, 0.1]], np.float32)
TINY_MASK = np.array([[1, 0, 0, 0], [0, 0, 1, 1]], bool)


def test_aupro_tiny_case_by_hand() -> None:
    assert aupro([TINY_MAP], [TINY_MASK]) == pytest.approx(7 / 12)


def test_aupro_perfect_and_pooled_over_images() -> None:
    perfect = np.where(TINY_MASK, 1.0, 0.0).astype(np.float32)
    assert aupro([perfect], [TINY_MASK]) == pytest.approx(1.0)
    # A second, defect-free image whose pixels all score 0.95 pushes the false-positive rate
    # past 0.3 before any region is found: AUPRO 0.
    good_map = np.full((2, 4), 0.95, np.float32)
    assert aupro([TINY_MAP, good_map], [TINY_MASK, np.zeros((2, 4), bool)]) == pytest.approx(0.0)


def test_aupro_undefined_without_regions() -> None:
    assert math.isnan(aupro([TINY_MAP], [np.zeros((2, 4), bool)]))
    with pytest.raises(ValueError, match="differ in shape"):
        aupro([TINY_MAP], [np.zeros((4, 2), bool)])


def test_pixel_auroc_by_hand() -> None:
    # Defect pixels 0.9, 0.8, 0.1 against normal 0.85, 0.5, 0.3, 0.2, 0.05: (5 + 4 + 1) / 15.
    assert pixel_auroc([TINY_MAP], [TINY_MASK]) == pytest.approx(10 / 15)


def test_score_stats() -> None:
    stats = score_stats(np.array(GOOD))
    assert (stats.count, stats.min, stats.max, stats.p50, stats.mean) == (5, 1.0, 5.0, 3.0, 3.0)
    assert stats.std == pytest.approx(math.sqrt(2.0))
    with pytest.raises(ValueError):
        score_stats(np.array([]))
