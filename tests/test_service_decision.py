from __future__ import annotations

import math

import pytest

from gaikan.models.thresholds import Thresholds
from gaikan.service.decision import Outcome, Reason, decide, fail_safe


@pytest.mark.parametrize(
    ("score", "expected"),
    [(0.5, Outcome.PASS), (0.99, Outcome.PASS), (1.0, Outcome.REJECT), (7.0, Outcome.REJECT)],
)
def test_score_against_reject_threshold(score: float, expected: Outcome) -> None:
    assert decide(score, Thresholds(reject=1.0)).outcome is expected


def test_review_band_sits_between_review_and_reject() -> None:
    thresholds = Thresholds(reject=1.0, review=0.6)
    assert decide(0.59, thresholds).outcome is Outcome.PASS
    assert decide(0.6, thresholds).outcome is Outcome.REVIEW
    assert decide(1.0, thresholds).outcome is Outcome.REJECT


@pytest.mark.parametrize("score", [math.nan, math.inf, -math.inf])
def test_non_finite_score_is_an_error_reject_never_a_pass(score: float) -> None:
    verdict = decide(score, Thresholds(reject=1.0))
    assert (verdict.outcome, verdict.reason) == (Outcome.REJECT, Reason.ERROR)


def test_fail_safe_verdicts_reject_with_their_reason() -> None:
    for reason in (Reason.TIMEOUT, Reason.NO_MODEL, Reason.CAMERA_FAULT, Reason.ERROR):
        verdict = fail_safe(reason)
        assert (verdict.outcome, verdict.reason) == (Outcome.REJECT, reason)
    with pytest.raises(ValueError):
        fail_safe(Reason.SCORE)


def test_thresholds_refuse_a_review_band_above_reject_and_non_finite_values() -> None:
    with pytest.raises(ValueError, match="below the reject"):
        Thresholds(reject=1.0, review=1.0)
    with pytest.raises(ValueError, match="finite"):
        Thresholds(reject=math.nan)
