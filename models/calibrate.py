"""Setting a package's thresholds from validation data (held-out good and defective images).

A part is flagged when its score is >= the threshold. σ is the standard deviation of the good
scores and the margin M >= 0 is in units of σ (raw scores have no common unit across models;
"how much good parts wiggle" does). The rules:

Single level (default):
- defective images present: **zero escapes**, reject = lowest defect score − M·σ. The lowest
  defect is still rejected (score >= threshold); M > 0 moves the threshold further down, for
  unseen defects a little weaker than the known ones and for run-to-run score jitter.
- good images only: reject = just above (highest good score + M·σ), so every known good part
  passes; on new good parts expect an overkill of about 1 / (n + 1) for n good images. Nothing
  is known about defects: the warnings say so.

Two levels (`review=True`): parts in `review <= score < reject` go to a person.
- defects present: review = lowest defect − M·σ (no known defect passes unseen), reject = just
  above (highest good + M·σ) (no known good part is rejected outright, only reviewed). When
  every defect already scores above every good part the band is empty: a single level remains.
- good images only: review = just above the `review_quantile` quantile of the good scores (about
  1 − quantile of good parts go to review), reject as in the single-level rule.

"Just above" is the next float32 above the value, so a float32 score equal to it passes.
`score_stats` are refreshed from the good images.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from gaikan.models import metrics
from gaikan.models.package import ModelPackage, ScoreStats, with_changes
from gaikan.models.thresholds import Thresholds

FEW_GOOD_IMAGES = 20
_CALIBRATION_SUFFIX = re.compile(r"-cal\d{14}$")


class CalibrationError(ValueError):
    """Thresholds cannot be set from this data; the message says why."""


@dataclass(frozen=True, slots=True)
class Calibration:
    thresholds: Thresholds
    rule: str  # the rule applied, in words and numbers
    good: int
    defective: int
    confusion: metrics.Confusion  # the new thresholds on the calibration data
    score_stats: ScoreStats | None  # of the good scores; None without good images
    warnings: list[str] = field(default_factory=list)


def just_above(value: float) -> float:
    """The smallest float32 strictly greater than `value`: a float32 score >= it is > `value`."""
    candidate = np.float32(value)
    if float(candidate) <= value:
        candidate = np.nextafter(candidate, np.float32(np.inf))
    return float(candidate)


def _clean(scores: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(scores, np.float64).ravel()
    if not np.all(np.isfinite(values)):
        raise CalibrationError(f"{name} scores contain non-finite values")
    return values


def calibrate(
    good_scores: np.ndarray,
    defect_scores: np.ndarray,
    *,
    margin: float = 0.0,
    review: bool = False,
    review_quantile: float = 0.95,
) -> Calibration:
    """Thresholds from validation scores by the rules in this module's docstring."""
    if not (math.isfinite(margin) and margin >= 0):
        raise CalibrationError(f"margin must be a finite number >= 0 (in standard deviations of the good scores), got {margin}")
    if not 0 < review_quantile < 1:
        raise CalibrationError(f"review quantile must be between 0 and 1, got {review_quantile}")
    good = _clean(good_scores, "good")
    defects = _clean(defect_scores, "defective")
    if good.size == 0 and defects.size == 0:
        raise CalibrationError("no scored images: thresholds need good or defective validation images (test/<type>/)")
    notes: list[str] = []
    sigma = float(good.std()) if good.size else 0.0
    shift = margin * sigma
    if margin > 0 and sigma == 0:
        notes.append("the margin has no effect: " + ("there are no good images to measure the spread" if good.size == 0 else "all good images score the same"))
    above_goods = just_above(float(good.max()) + shift) if good.size else None
    margin_words = f" − {margin:g}σ ({shift:.6g})" if margin else ""

    if defects.size:
        lowest = float(defects.min())
        zero_escape = lowest - shift
        if review and above_goods is not None and above_goods > zero_escape:
            thresholds = Thresholds(reject=above_goods, review=zero_escape)
            rule = (
                f"two levels: review = lowest defect score {lowest:.6g}{margin_words} = {zero_escape:.6g}; "
                f"reject = just above the highest good score {float(good.max()):.6g}"
                f"{f' + {margin:g}σ' if margin else ''} = {above_goods:.6g}"
            )
        else:
            thresholds = Thresholds(reject=zero_escape)
            rule = f"zero escapes: reject = lowest defect score {lowest:.6g}{margin_words} = {zero_escape:.6g}"
            if review:
                notes.append("no review band needed: every defect scores above every good part (after the margin)")
    else:
        assert above_goods is not None
        notes.append(
            "no defective images: the threshold comes from good parts only and says nothing about which "
            "defects will be caught; evaluate with defective images before trusting it"
        )
        rule = (
            f"good parts only: reject = just above the highest of {good.size} good scores {float(good.max()):.6g}"
            f"{f' + {margin:g}σ ({shift:.6g})' if margin else ''} = {above_goods:.6g}"
            f"; expected overkill on new good parts about {1 / (good.size + 1):.1%}"
        )
        review_at = just_above(float(np.quantile(good, review_quantile))) if review else None
        if review_at is not None and review_at < above_goods:
            thresholds = Thresholds(reject=above_goods, review=review_at)
            rule += f"; review = just above the {review_quantile:g} quantile of the good scores = {review_at:.6g}"
        else:
            thresholds = Thresholds(reject=above_goods)
            if review:
                notes.append("no review band: the good scores are too few or too alike to place one below the reject threshold")
    if good.size == 0:
        notes.append("no good images: overkill cannot be measured and score_stats are kept from the package")
    elif good.size < FEW_GOOD_IMAGES:
        notes.append(f"only {good.size} good images: the good-score spread is poorly known; use at least {FEW_GOOD_IMAGES}")
    scores = np.r_[good, defects]
    labels = np.r_[np.zeros(good.size, bool), np.ones(defects.size, bool)]
    matrix = metrics.confusion(scores, labels, thresholds.reject, thresholds.review)
    if good.size and matrix.overkills == good.size:
        notes.append(
            "useless threshold: every good part is flagged, because the lowest defect scores below every good part; "
            "this model cannot separate these defects"
        )
    return Calibration(
        thresholds=thresholds,
        rule=rule,
        good=int(good.size),
        defective=int(defects.size),
        confusion=matrix,
        score_stats=metrics.score_stats(good) if good.size else None,
        warnings=notes,
    )


def next_version(version: str, now: datetime | None = None) -> str:
    """`<version>-cal<UTC timestamp>`, replacing an earlier calibration suffix."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    base = _CALIBRATION_SUFFIX.sub("", version)[: 64 - len("-cal") - len(stamp)]
    return f"{base}-cal{stamp}"


def calibrated_package(package: ModelPackage, calibration: Calibration, version: str) -> ModelPackage:
    """A new package version with the calibrated thresholds and refreshed score_stats; the manifest's
    `calibrated` flag says whether defective images set them (good images only: still uncalibrated)."""
    if version == package.version:
        raise CalibrationError(f"the calibrated package needs a new version (not {version!r})")
    stats = calibration.score_stats or package.manifest.score_stats
    return with_changes(
        package,
        version=version,
        created_at=datetime.now(UTC),
        thresholds=calibration.thresholds.model_dump(),
        calibrated=calibration.defective > 0,
        score_stats=None if stats is None else stats.model_dump(),
    )
