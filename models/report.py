"""The evaluation report: one self-contained HTML file (charts as embedded SVG, heatmaps as
embedded PNG; no external files, scripts or fonts). Needs the `report` extra (matplotlib, jinja2)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import numpy as np

from gaikan.models.dataset import DatasetError, read_mask
from gaikan.models.eval_text import number, percent, threshold, threshold_label
from gaikan.models.evaluate import Evaluation, ScoredDataset, ScoredImage
from gaikan.models.overlay import heatmap_overlay, png_bytes
from gaikan.models.preprocess import read_image

TILE_SIDE = 320
WORST_COUNT = 6
CLOSEST_COUNT = 3


class ReportUnavailable(RuntimeError):
    """The report's optional dependencies are not installed."""


@dataclass(frozen=True, slots=True)
class Tile:
    title: str
    caption: str
    image_uri: str | None  # None when the image could not be read again
    problem: str = ""


@dataclass(frozen=True, slots=True)
class TileSection:
    title: str
    explanation: str
    tiles: list[Tile]


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def colour_range(scored: ScoredDataset) -> tuple[float, float]:
    """One heatmap colour scale for the whole report: transparent up to the level that 90 % of
    good-image pixels stay under, fully coloured from the 95th percentile of the per-image map
    maxima."""
    if not scored.images:
        return 0.0, 1.0
    goods = [i.anomaly_map for i in scored.images if not i.is_defective] or [i.anomaly_map for i in scored.images]
    stride = max(1, sum(m.size for m in goods) // 2_000_000)  # a sample is enough for a percentile
    low = float(np.percentile(np.concatenate([m.ravel()[::stride] for m in goods]), 90))
    high = float(np.percentile([float(i.anomaly_map.max()) for i in scored.images], 95))
    if high <= low:
        high = max(float(max(i.anomaly_map.max() for i in scored.images)), low + 1e-6)
    return low, high


def _tile(scored: ScoredDataset, image: ScoredImage, decision: str, scale: tuple[float, float]) -> Tile:
    title = f"{image.defect_type} · score {image.score:.5g} · {decision}"
    caption = scored.relative(image.path)
    try:
        pixels = read_image(image.path)
        mask = read_mask(image.mask_path, pixels.shape[:2]) if image.mask_path is not None else None
        overlay = heatmap_overlay(
            pixels, image.anomaly_map, scored.spec, vmin=scale[0], vmax=scale[1], mask=mask, max_side=TILE_SIDE
        )
    except (ValueError, OSError, DatasetError) as error:
        return Tile(title=title, caption=caption, image_uri=None, problem=str(error))
    return Tile(title=title, caption=caption, image_uri=_data_uri(png_bytes(overlay), "image/png"))


def _worst_or_closest(
    title: str, worst: tuple[str, list[Tile]], closest: tuple[str, list[Tile]]
) -> TileSection:
    """The worst cases when there are any, else the cases closest to becoming one."""
    explanation, tiles = worst if worst[1] else closest
    return TileSection(title, explanation, tiles)


def _sections(evaluation: Evaluation, scored: ScoredDataset) -> list[TileSection]:
    scale = colour_range(scored)
    decisions = [result.decision for result in evaluation.images]
    indexed = list(enumerate(scored.images))
    defects = sorted((p for p in indexed if p[1].is_defective), key=lambda p: p[1].score)
    goods = sorted((p for p in indexed if not p[1].is_defective), key=lambda p: -p[1].score)

    def tiles(pairs: list[tuple[int, ScoredImage]]) -> list[Tile]:
        return [_tile(scored, image, decisions[index], scale) for index, image in pairs]

    sections = []
    if defects:
        escapes = [p for p in defects if decisions[p[0]] == "pass"]
        sections.append(
            _worst_or_closest(
                "Worst escapes",
                ("Defective parts that pass at the package threshold, lowest score first.", tiles(escapes[:WORST_COUNT])),
                (
                    "No escapes at the package threshold. Closest to escaping: the lowest-scoring defective parts.",
                    tiles(defects[:CLOSEST_COUNT]) if not escapes else [],
                ),
            )
        )
    if goods:
        overkills = [p for p in goods if decisions[p[0]] != "pass"]
        sections.append(
            _worst_or_closest(
                "Worst overkills",
                ("Good parts flagged at the package threshold, highest score first.", tiles(overkills[:WORST_COUNT])),
                (
                    "No overkill at the package threshold. Closest to overkill: the highest-scoring good parts.",
                    tiles(goods[:CLOSEST_COUNT]) if not overkills else [],
                ),
            )
        )
    samples = []
    for defect_type in ["good", *scored.defect_types]:
        members = sorted((p for p in indexed if p[1].defect_type == defect_type), key=lambda p: p[1].score)
        if members:
            samples.append(members[len(members) // 2])
    sections.append(
        TileSection("A sample per type", "The median-scoring image of each type (good first).", tiles(samples))
    )
    return sections


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gaikan evaluation · {{ e.package.name }} {{ e.package.version }}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1280px; padding: 16px 28px; color: #212529; }
h1 { font-size: 22px; margin: 8px 0 2px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #dee2e6; padding-bottom: 4px; }
.sub { color: #6c757d; }
.warnings { background: #fff3bf; border: 1px solid #fab005; border-radius: 6px; padding: 8px 16px; margin: 14px 0; }
.warnings li { margin: 4px 0; font-weight: 600; }
.figures { display: flex; flex-wrap: wrap; gap: 12px; margin: 14px 0; }
.figure { border: 1px solid #dee2e6; border-radius: 6px; padding: 8px 14px; min-width: 150px; }
.figure .v { font-size: 22px; font-weight: 650; } .figure .k { color: #6c757d; font-size: 12px; }
.figure.bad .v { color: #c92a2a; } .figure.ok .v { color: #2b8a3e; }
.matrices { display: flex; flex-wrap: wrap; gap: 28px; }
table { border-collapse: collapse; margin: 8px 0; }
td, th { border: 1px solid #dee2e6; padding: 4px 10px; text-align: right; }
th { background: #f1f3f5; } td.l, th.l { text-align: left; }
td.escape { background: #ffe3e3; font-weight: 700; } td.overkill { background: #fff4e6; } td.right { background: #ebfbee; }
.charts img { max-width: 100%; margin: 6px 12px 6px 0; vertical-align: top; }
.tiles { display: flex; flex-wrap: wrap; gap: 12px; }
.tile { width: {{ tile_side }}px; font-size: 12px; } .tile img { width: 100%; border-radius: 4px; display: block; }
.tile .t { font-weight: 600; } .tile .c { color: #6c757d; word-break: break-all; }
.note { color: #495057; } details summary { cursor: pointer; margin: 8px 0; }
</style></head><body>
<h1>Evaluation of {{ e.package.name }} {{ e.package.version }} <span class="sub">({{ e.package.architecture }})</span></h1>
<div class="sub">Data {{ e.data.root }} · {{ e.data.images }} images scored ({{ e.data.good }} good, {{ e.data.defective }} defective{% for t, n in e.data.defect_types.items() %}{{ ', ' if loop.first else ', ' }}{{ t }} {{ n }}{% endfor %}) · {{ e.data.masks }} masks · {{ e.data.skipped }} skipped · generated {{ generated }}</div>
{% if e.warnings %}<div class="warnings"><ul>{% for w in e.warnings %}<li>{{ w }}</li>{% endfor %}</ul></div>{% endif %}

<div class="figures">
{% set p = e.at_package_threshold %}
<div class="figure {{ 'bad' if p.escapes else 'ok' }}"><div class="v">{{ p.escapes }}</div><div class="k">escapes at the package threshold ({{ percent(p.escape_rate) }})</div></div>
<div class="figure"><div class="v">{{ percent(p.overkill_rate) }}</div><div class="k">overkill at the package threshold</div></div>
<div class="figure"><div class="v">{{ percent(e.review_rate_at_zero_escapes) }}</div><div class="k">review rate at zero escapes</div></div>
<div class="figure"><div class="v">{{ threshold(e.zero_escape_threshold) }}</div><div class="k">zero-escape threshold (package: {{ threshold(e.package.reject) }})</div></div>
<div class="figure"><div class="v">{{ number(e.image_auroc) }}</div><div class="k">image AUROC</div></div>
{% if e.pixel %}<div class="figure"><div class="v">{{ number(e.pixel.auroc) }}</div><div class="k">pixel AUROC</div></div>
<div class="figure"><div class="v">{{ number(e.pixel.aupro) }}</div><div class="k">AUPRO to {{ '%d' % (100 * e.pixel.aupro_fpr_limit) }} % FPR</div></div>{% endif %}
</div>

<h2>Confusion matrices</h2>
<div class="matrices">
{% for title, point in matrices %}
<div><b>{{ title }}</b><br><span class="sub">{{ threshold_label(point) }}</span>
<table><tr><th class="l">actual \\ decision</th><th>pass</th>{% if point.review is not none %}<th>review</th>{% endif %}<th>reject</th></tr>
<tr><th class="l">good</th><td class="right">{{ point.good_pass }}</td>{% if point.review is not none %}<td class="{{ 'overkill' if point.good_review }}">{{ point.good_review }}</td><td class="{{ 'overkill' if point.good_reject }}">{{ point.good_reject }}</td>{% else %}<td class="{{ 'overkill' if point.good_reject }}">{{ point.good_reject }}</td>{% endif %}</tr>
<tr><th class="l">defective</th><td class="{{ 'escape' if point.defective_pass }}">{{ point.defective_pass }}</td>{% if point.review is not none %}<td class="right">{{ point.defective_review }}</td>{% endif %}<td class="right">{{ point.defective_reject }}</td></tr>
</table>
accuracy {{ percent(point.accuracy) }} · escape rate {{ percent(point.escape_rate) }} · overkill rate {{ percent(point.overkill_rate) }} · flagged {{ point.flagged }} of {{ point.total }} ({{ percent(point.flagged_share) }})
</div>
{% endfor %}
</div>
{% if not e.at_zero_escape %}<p class="note">No zero-escape threshold: there are no defective images.</p>{% endif %}

<h2>Scores</h2>
<div class="charts">
{% for uri, alt in charts %}<img src="{{ uri }}" alt="{{ alt }}">{% endfor %}
</div>
<p class="note">Lines: package reject threshold (black, solid){% if e.package.review is not none %}, package review threshold (orange, dashed){% endif %}{% if e.zero_escape_threshold is not none %}, zero-escape threshold (blue, dotted){% endif %}. Scores are the model's raw scores; a part is flagged at score &ge; threshold.</p>

{% if e.defect_types %}
<h2>Defect types</h2>
<p class="note">In the order they start escaping as the threshold rises (the type with the lowest score escapes first).</p>
<table><tr><th>#</th><th class="l">type</th><th>images</th><th>masks</th><th>lowest</th><th>median</th><th>highest</th><th>AUROC vs good</th><th>escapes at package threshold</th><th>good flagged at this type's zero escape</th></tr>
{% for t in e.defect_types %}<tr><td>{{ t.escape_order }}</td><td class="l">{{ t.defect_type }}</td><td>{{ t.count }}</td><td>{{ t.masks }}</td><td>{{ number(t.lowest) }}</td><td>{{ number(t.median) }}</td><td>{{ number(t.highest) }}</td><td>{{ number(t.auroc) }}</td><td class="{{ 'escape' if t.escapes_at_package_threshold }}">{{ t.escapes_at_package_threshold }}</td><td>{{ percent(t.review_rate_at_zero_escapes) }}</td></tr>
{% endfor %}</table>
{% endif %}
{% if e.pixel %}<p class="note">Pixel metrics at the model's resolution ({{ e.pixel.width }}×{{ e.pixel.height }}): masks are cropped and resized like the images; {{ e.pixel.good_images }} good and {{ e.pixel.defective_images_with_mask }} masked defective images{% if e.pixel.defective_images_without_mask %}; {{ e.pixel.defective_images_without_mask }} defective images without a mask left out{% endif %}.</p>{% endif %}

<h2>Heatmaps</h2>
<p class="note">Anomaly map over the image, one colour scale for all images: {{ '%.4g' % scale[0] }} (transparent) to {{ '%.4g' % scale[1] }} (red, opaque). White outline: ground-truth mask.</p>
{% for section in sections %}
<h3>{{ section.title }}</h3><p class="note">{{ section.explanation }}</p>
<div class="tiles">{% for tile in section.tiles %}<div class="tile">{% if tile.image_uri %}<img src="{{ tile.image_uri }}" alt="{{ tile.caption }}">{% else %}<div class="warnings">cannot show: {{ tile.problem }}</div>{% endif %}<div class="t">{{ tile.title }}</div><div class="c">{{ tile.caption }}</div></div>{% endfor %}</div>
{% endfor %}

{% if e.skipped %}<h2>Skipped files</h2><table><tr><th class="l">file</th><th class="l">reason</th></tr>
{% for s in e.skipped %}<tr><td class="l">{{ s.path }}</td><td class="l">{{ s.reason }}</td></tr>{% endfor %}</table>{% endif %}

<h2>All images</h2>
<details><summary>{{ e.images | length }} images, highest score first</summary>
<table><tr><th class="l">image</th><th class="l">type</th><th>score</th><th class="l">decision (package)</th><th>mask</th></tr>
{% for i in e.images | sort(attribute='score', reverse=True) %}<tr><td class="l">{{ i.path }}</td><td class="l">{{ i.defect_type }}</td><td>{{ '%.6g' % i.score }}</td><td class="l {{ 'escape' if i.defect_type != 'good' and i.decision == 'pass' else ('overkill' if i.defect_type == 'good' and i.decision != 'pass' else '') }}">{{ i.decision }}</td><td>{{ 'yes' if i.has_mask else '' }}</td></tr>{% endfor %}
</table></details>

<h2>How to read this report</h2>
<p class="note">An <b>escape</b> is a defective part that passes: it ships. An <b>overkill</b> is a good part that is flagged: it costs a re-check. The <b>zero-escape threshold</b> is the highest threshold at which no known defect passes (the lowest defect score); run there, every flagged part is checked by a person, and the <b>review rate at zero escapes</b> (share of good parts flagged) is how much checking that costs. The histograms show where good parts and each defect type score; the escape chart shows which defect types start escaping first as the threshold rises.</p>
</body></html>
"""


def require_report_dependencies() -> tuple[ModuleType, ModuleType]:
    """(jinja2, the chart module); ReportUnavailable naming the extra when they are not installed."""
    try:
        import jinja2

        from gaikan.models import report_charts
    except ImportError as error:
        raise ReportUnavailable(
            f"the HTML report needs the report extra ({error.name} is missing): pip install 'gaikan[report]'"
        ) from error
    return jinja2, report_charts


def render_report(evaluation: Evaluation, scored: ScoredDataset) -> str:
    """The report as one HTML document."""
    jinja2, report_charts = require_report_dependencies()
    charts = []
    if scored.images:
        if evaluation.image_auroc is not None:
            charts.append((_data_uri(report_charts.roc_chart(evaluation, scored), "image/svg+xml"), "ROC curve"))
        charts.append((_data_uri(report_charts.histogram_chart(evaluation, scored), "image/svg+xml"), "score histograms"))
        charts.append((_data_uri(report_charts.escape_chart(evaluation, scored), "image/svg+xml"), "escapes by threshold"))
    matrices = [("At the package threshold", evaluation.at_package_threshold)]
    if evaluation.at_zero_escape is not None:
        matrices.append(("At the zero-escape threshold", evaluation.at_zero_escape))
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(_TEMPLATE)
    return template.render(
        e=evaluation,
        matrices=matrices,
        charts=charts,
        sections=_sections(evaluation, scored) if scored.images else [],
        scale=colour_range(scored),
        tile_side=TILE_SIDE,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        percent=percent,
        number=number,
        threshold=threshold,
        threshold_label=threshold_label,
    )


def write_report(path: Path, evaluation: Evaluation, scored: ScoredDataset) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(evaluation, scored), encoding="utf-8")
    return path
