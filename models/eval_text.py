"""An `Evaluation` as plain text for the terminal."""

from __future__ import annotations

from gaikan.models.evaluate import Evaluation
from gaikan.models.metrics import Confusion


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def threshold(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6g}"


def threshold_label(point: Confusion) -> str:
    if point.review is None:
        return f"reject >= {point.reject:.6g}"
    return f"review >= {point.review:.6g}, reject >= {point.reject:.6g}"


def _matrix(title: str, point: Confusion) -> list[str]:
    banded = point.review is not None
    header = f"  {'':<12}{'pass':>8}{'review':>8}{'reject':>8}" if banded else f"  {'':<12}{'pass':>8}{'reject':>8}"

    def row(name: str, passed: int, review: int, reject: int) -> str:
        cells = f"{passed:>8}{review:>8}{reject:>8}" if banded else f"{passed:>8}{review + reject:>8}"
        return f"  {name:<12}{cells}"

    return [
        f"{title} ({threshold_label(point)})",
        header,
        row("good", point.good_pass, point.good_review, point.good_reject),
        row("defective", point.defective_pass, point.defective_review, point.defective_reject),
        f"  accuracy {percent(point.accuracy)}   escapes {point.escapes} ({percent(point.escape_rate)})   "
        f"overkill {point.overkills} ({percent(point.overkill_rate)})   "
        f"flagged {point.flagged} of {point.total} "
        f"({percent(point.flagged_share)})",
    ]


def render_text(evaluation: Evaluation) -> str:
    e = evaluation
    types = ", ".join(f"{name} {count}" for name, count in e.data.defect_types.items()) or "none"
    lines = [
        f"Package  {e.package.name} {e.package.version} ({e.package.architecture})",
        f"Data     {e.data.root}: {e.data.images} images scored: {e.data.good} good, "
        f"{e.data.defective} defective ({types}); {e.data.masks} with masks; {e.data.skipped} skipped",
    ]
    if e.good_scores is not None:
        g = e.good_scores
        lines.append(f"Scores   good: min {g.min:.6g}  median {g.p50:.6g}  p99 {g.p99:.6g}  max {g.max:.6g}  (std {g.std:.4g})")
    if e.defective_scores is not None:
        d = e.defective_scores
        lines.append(f"         defective: min {d.min:.6g}  median {d.p50:.6g}  max {d.max:.6g}")
    lines.append("")
    lines += _matrix("At the package threshold", e.at_package_threshold)
    lines.append("")
    if e.at_zero_escape is not None:
        lines += _matrix("At the zero-escape threshold", e.at_zero_escape)
        lines.append("")
    lines.append(f"Image AUROC                  {number(e.image_auroc)}")
    lines.append(f"Zero-escape threshold        {threshold(e.zero_escape_threshold)}")
    review = e.review_rate_at_zero_escapes
    if review is not None and e.at_zero_escape is not None:
        z = e.at_zero_escape
        lines.append(
            f"Review rate at zero escapes  {percent(review)} of good parts flagged "
            f"({z.overkills} of {e.data.good}); {z.flagged} of {z.total} parts to inspect"
        )
    else:
        lines.append("Review rate at zero escapes  n/a")
    if e.pixel is not None:
        p = e.pixel
        lines.append(
            f"Pixel AUROC                  {number(p.auroc)}   AUPRO (to {p.aupro_fpr_limit:.0%} FPR) {number(p.aupro)}"
            f"   [{p.good_images} good + {p.defective_images_with_mask} masked defective images at "
            f"{p.width}x{p.height}]"
        )
    if e.defect_types:
        lines += ["", "Defect types, in the order they start escaping as the threshold rises:"]
        lines.append(
            f"  {'#':>2} {'type':<20}{'n':>5}{'lowest':>11}{'median':>11}{'highest':>11}{'AUROC':>8}"
            f"{'escapes':>9}{'review@0':>10}"
        )
        for t in e.defect_types:
            lines.append(
                f"  {t.escape_order:>2} {t.defect_type:<20}{t.count:>5}{t.lowest:>11.5g}{t.median:>11.5g}"
                f"{t.highest:>11.5g}{number(t.auroc):>8}{t.escapes_at_package_threshold:>9}"
                f"{percent(t.review_rate_at_zero_escapes):>10}"
            )
        lines.append("  (escapes: at the package threshold; review@0: good parts flagged at this type's own zero-escape threshold)")
    for skipped in e.skipped:
        lines.append(f"SKIPPED  {skipped.path}: {skipped.reason}")
    for warning in e.warnings:
        lines.append(f"WARNING  {warning}")
    return "\n".join(lines)
