"""The sanity rule for thresholds set by hand: both must lie in the range of scores the model can
plausibly give good parts, unless the engineer forces them (and the audit trail says so).

With score statistics in the manifest (good images held back from training) the range is
[min, max + FACTOR × (max − min)]: below the lowest good score every good part would be flagged,
far above the highest nothing would ever be. Without statistics it is [t / FACTOR, t × FACTOR]
around the manifest's own reject threshold t (when t > 0); otherwise there is no range check.
"""

from __future__ import annotations

from gaikan.models.package import Manifest
from gaikan.models.thresholds import Thresholds

FACTOR = 10.0


def plausible_range(manifest: Manifest, factor: float = FACTOR) -> tuple[float, float] | None:
    stats = manifest.score_stats
    if stats is not None:
        span = stats.max - stats.min or abs(stats.max) or 1.0
        return stats.min, stats.max + factor * span
    reference = manifest.thresholds.reject
    if reference > 0:
        return reference / factor, reference * factor
    return None


def implausible(thresholds: Thresholds, manifest: Manifest, factor: float = FACTOR) -> str | None:
    """Why these thresholds make no sense for this model, or None when they are plausible."""
    bounds = plausible_range(manifest, factor)
    if bounds is None:
        return None
    low, high = bounds
    basis = "its good-score statistics" if manifest.score_stats is not None else "its own reject threshold"
    for name, value in (("reject", thresholds.reject), ("review", thresholds.review)):
        if value is not None and not low <= value <= high:
            return (
                f"{name} threshold {value:g} is outside the plausible range [{low:.4g}, {high:.4g}] for model "
                f"{manifest.version} (from {basis}); send force=true to set it anyway"
            )
    return None
