"""The outcome and the threshold rule, defined once in `gaikan.models.thresholds` and used by the
line's decision, the metrics and the evaluation alike."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gaikan.models import metrics
from gaikan.models.thresholds import OUTCOMES, Outcome, Thresholds
from gaikan.service.decision import Reason, decide

BANDED = Thresholds(reject=2.0, review=1.0)
SINGLE = Thresholds(reject=2.0)


@pytest.mark.parametrize(
    ("thresholds", "score", "expected"),
    [
        (BANDED, 0.5, Outcome.PASS), (BANDED, 1.0, Outcome.REVIEW), (BANDED, 1.999, Outcome.REVIEW),
        (BANDED, 2.0, Outcome.REJECT), (BANDED, 1e9, Outcome.REJECT),
        (SINGLE, 1.999, Outcome.PASS), (SINGLE, 2.0, Outcome.REJECT),
    ],
)  # fmt: skip
def test_a_score_at_a_threshold_takes_the_stricter_outcome(thresholds: Thresholds, score: float, expected: Outcome) -> None:
    assert thresholds.classify(score) is expected
    assert decide(score, thresholds).outcome is expected


def test_nan_is_never_a_pass() -> None:
    assert BANDED.classify(math.nan) is Outcome.REJECT and SINGLE.classify(math.nan) is Outcome.REJECT
    verdict = decide(math.nan, BANDED)
    assert verdict.outcome is Outcome.REJECT and verdict.reason is Reason.ERROR


def test_many_scores_at_once_match_one_at_a_time() -> None:
    scores = np.random.default_rng(0).normal(1.5, 1.0, (7, 9))
    levels = BANDED.levels(scores)
    assert levels.shape == scores.shape
    assert [OUTCOMES[level] for level in levels.ravel()] == [BANDED.classify(s) for s in scores.ravel()]
    assert (BANDED.flagged(scores) == (levels > 0)).all()


@pytest.mark.parametrize("thresholds", [BANDED, SINGLE])
def test_the_confusion_matrix_counts_what_the_line_would_decide(thresholds: Thresholds) -> None:
    rng = np.random.default_rng(1)
    scores = np.r_[rng.normal(1.0, 0.6, 200), rng.normal(2.2, 0.6, 50), [1.0, 2.0]]
    defective = np.r_[np.zeros(200, bool), np.ones(50, bool), [False, True]]
    matrix = metrics.confusion(scores, defective, thresholds.reject, thresholds.review)
    for actual, mask in (("good", ~defective), ("defective", defective)):
        for outcome in Outcome:
            expected = sum(1 for s in scores[mask] if thresholds.classify(s) is outcome)
            assert getattr(matrix, f"{actual}_{outcome}") == expected


def test_an_inverted_band_is_refused_everywhere() -> None:
    with pytest.raises(ValueError, match="must be below the reject"):
        Thresholds(reject=1.0, review=1.0)
    with pytest.raises(ValueError, match="must be below the reject"):
        metrics.confusion(np.zeros(3), np.zeros(3, bool), reject=1.0, review=2.0)
