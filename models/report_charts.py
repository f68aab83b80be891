"""The evaluation report's charts, drawn with matplotlib (the `report` extra) as SVG documents.

Only matplotlib's object API is used (no pyplot, no global figure state)."""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.figure import Figure

from gaikan.models import metrics
from gaikan.models.evaluate import Evaluation, ScoredDataset
from gaikan.models.thresholds import Thresholds

GOOD_COLOUR = "#2b8a3e"
DEFECT_COLOUR = "#c92a2a"
REJECT_STYLE = {"color": "#212529", "linestyle": "-", "linewidth": 1.4}
REVIEW_STYLE = {"color": "#e8590c", "linestyle": "--", "linewidth": 1.4}
ZERO_ESCAPE_STYLE = {"color": "#1971c2", "linestyle": ":", "linewidth": 1.8}


def _svg(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


def _threshold_lines(axes, evaluation: Evaluation) -> None:  # noqa: ANN001 - matplotlib Axes
    package = evaluation.package
    axes.axvline(package.reject, label=f"package reject {package.reject:.4g}", **REJECT_STYLE)
    if package.review is not None:
        axes.axvline(package.review, label=f"package review {package.review:.4g}", **REVIEW_STYLE)
    if evaluation.zero_escape_threshold is not None:
        axes.axvline(
            evaluation.zero_escape_threshold, label=f"zero escape {evaluation.zero_escape_threshold:.4g}", **ZERO_ESCAPE_STYLE
        )


def _auroc_label(value: float | None) -> str:
    return "AUROC n/a" if value is None else f"AUROC {value:.3f}"


def roc_chart(evaluation: Evaluation, scored: ScoredDataset) -> bytes:
    """Image-level ROC curve with the package and zero-escape operating points."""
    figure = Figure(figsize=(4.6, 4.2))
    axes = figure.add_subplot()
    fpr, tpr, _ = metrics.roc_curve(scored.scores, scored.is_defective)
    axes.plot([0, 1], [0, 1], color="#adb5bd", linewidth=0.8, linestyle="--")
    axes.plot(fpr, tpr, color="#343a40", linewidth=1.8, label=_auroc_label(evaluation.image_auroc))
    for point, name, style in (
        (evaluation.at_package_threshold, "package threshold", REJECT_STYLE),
        (evaluation.at_zero_escape, "zero escape", ZERO_ESCAPE_STYLE),
    ):
        if point is not None and point.overkill_rate is not None and point.escape_rate is not None:
            axes.plot(point.overkill_rate, 1 - point.escape_rate, "o", color=style["color"], markersize=7, label=name)
    axes.set_xlim(-0.02, 1.02)
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel("good parts flagged (overkill rate)")
    axes.set_ylabel("defective parts caught (1 − escape rate)")
    axes.set_title("ROC, image level")
    axes.legend(loc="lower right", fontsize=8)
    axes.grid(alpha=0.3)
    return _svg(figure)


def histogram_chart(evaluation: Evaluation, scored: ScoredDataset) -> bytes:
    """Score histograms: good against each defect type, one panel per type, thresholds drawn."""
    good = scored.scores[~scored.is_defective]
    types = scored.defect_types or [None]
    columns = min(3, len(types))
    rows = math.ceil(len(types) / columns)
    figure = Figure(figsize=(4.2 * columns, 3.0 * rows))
    edges = np.histogram_bin_edges(scored.scores, bins=30) if len(scored.scores) else np.linspace(0, 1, 31)
    for index, defect_type in enumerate(types):
        axes = figure.add_subplot(rows, columns, index + 1)
        if len(good):
            axes.hist(good, bins=edges, color=GOOD_COLOUR, alpha=0.55, label=f"good ({len(good)})")
        if defect_type is not None:
            scores = scored.scores_of(defect_type)
            axes.hist(scores, bins=edges, color=DEFECT_COLOUR, alpha=0.55, label=f"{defect_type} ({len(scores)})")
        _threshold_lines(axes, evaluation)
        axes.set_title("good only" if defect_type is None else f"good vs {defect_type}", fontsize=10)
        axes.set_xlabel("score")
        axes.set_ylabel("images")
        axes.legend(fontsize=7)
    figure.tight_layout()
    return _svg(figure)


def escape_chart(evaluation: Evaluation, scored: ScoredDataset) -> bytes:
    """As the threshold rises: the share of each defect type that passes (escapes) and the share
    of good parts flagged. The first curve to leave 0 is the first type to escape."""
    figure = Figure(figsize=(7.0, 3.8))
    axes = figure.add_subplot()
    scores = scored.scores
    grid = np.linspace(scores.min(), scores.max(), 400) if len(scores) else np.linspace(0, 1, 2)
    grid = np.unique(np.r_[grid, scores])
    good = scores[~scored.is_defective]
    if len(good):
        axes.plot(grid, [Thresholds(reject=t).flagged(good).mean() for t in grid], color=GOOD_COLOUR, linewidth=2.2, label="good parts flagged")
    palette = ["#c92a2a", "#862e9c", "#0c8599", "#a0522d", "#d6336c", "#5c940d", "#495057", "#f08c00"]
    for index, defect_type in enumerate(scored.defect_types):
        type_scores = scored.scores_of(defect_type)
        axes.plot(
            grid,
            [(~Thresholds(reject=t).flagged(type_scores)).mean() for t in grid],
            color=palette[index % len(palette)],
            linewidth=1.5,
            label=f"{defect_type} escaping",
        )
    _threshold_lines(axes, evaluation)
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel("threshold (score)")
    axes.set_ylabel("share of parts")
    axes.set_title("As the threshold rises: defects escaping, good parts flagged")
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    axes.grid(alpha=0.3)
    return _svg(figure)
