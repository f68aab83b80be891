"""The self-contained HTML report, made by `gaikan eval --report` on generated data."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gaikan.models.dataset import test_samples as dataset_test_samples
from gaikan.models.evaluate import evaluate, score_dataset
from gaikan.models.package import read_package, with_changes, write_package
from gaikan.models.report import ReportUnavailable, render_report
from gaikan.models.runtime import OnnxModel
from gaikan.service.cli import app

INVERTED = "Every defective image scores below every good image"


def _eval(package: Path, data: Path, out: Path) -> tuple[object, str, dict]:
    result = CliRunner().invoke(
        app, ["eval", str(package), "--data", str(data), "--report", str(out / "r.html"), "--json", str(out / "r.json")]
    )
    assert result.exit_code == 0, result.output
    return result, (out / "r.html").read_text(encoding="utf-8"), json.loads((out / "r.json").read_text())


def _assert_self_contained(html: str) -> None:
    sources = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert sources and all(s.startswith("data:") for s in sources)
    assert "<script" not in html and "<link" not in html and "@import" not in html


def test_report_shows_everything_in_one_file(template_package_file: Path, synthetic_dataset: Path, tmp_path: Path) -> None:
    _, html, data = _eval(template_package_file, synthetic_dataset, tmp_path)
    _assert_self_contained(html)
    for heading in (
        "At the package threshold",
        "At the zero-escape threshold",
        "Worst escapes",
        "Worst overkills",
        "A sample per type",
        "Defect types",
        "How to read this report",
    ):
        assert heading in html
    charts = re.findall(r'src="data:image/svg\+xml;base64,[^"]+" alt="([^"]+)"', html)
    assert charts == ["ROC curve", "score histograms", "escapes by threshold"]
    # Heatmaps: at reject 3 one crack escapes and no good part is flagged, so: that escape, the
    # three good parts closest to overkill, and the median image of each type (good + 4 defects).
    point = data["at_package_threshold"]
    assert (point["escapes"], point["overkills"]) == (1, 0)
    assert "Defective parts that pass at the package threshold" in html
    assert "No overkill at the package threshold. Closest to overkill" in html
    assert html.count('src="data:image/png;base64,') == 1 + 3 + 5
    for defect_type in ("scratch", "spot", "crack", "missing_print"):
        assert f">{defect_type}<" in html  # the defect type table


def test_report_says_plainly_when_every_defect_scores_below_every_good_part(
    template_package_file: Path, synthetic_dataset: Path, tmp_path: Path
) -> None:
    # Relabel: cracks and scratches (which this model scores high) as "good", the good parts as
    # a defect type. Every "defect" now scores below every "good" part.
    data = tmp_path / "inverted"
    for source in ("crack", "scratch"):
        shutil.copytree(synthetic_dataset / "test" / source, data / "test" / "good", dirs_exist_ok=True)
        for image in (data / "test" / "good").glob("00?.png"):
            image.rename(image.with_name(f"{source}-{image.name}"))
    shutil.copytree(synthetic_dataset / "test" / "good", data / "test" / "looks_fine")
    result, html, evaluation = _eval(template_package_file, data, tmp_path)
    assert evaluation["image_auroc"] == 0.0
    assert evaluation["review_rate_at_zero_escapes"] == 1.0
    assert any(INVERTED in w for w in evaluation["warnings"])
    assert INVERTED in result.stdout and INVERTED in html
    _assert_self_contained(html)


def test_report_without_defects_and_with_a_review_band(
    template_package_file: Path, synthetic_dataset: Path, tmp_path: Path
) -> None:
    data = tmp_path / "goods"
    shutil.copytree(synthetic_dataset / "test" / "good", data / "test" / "good")
    package = read_package(template_package_file)
    banded = write_package(with_changes(package, version="2", thresholds={"reject": 40.0, "review": 30.0}), tmp_path / "p.zip")
    _, html, evaluation = _eval(banded, data, tmp_path)
    assert evaluation["at_zero_escape"] is None and evaluation["at_package_threshold"]["review"] == 30.0
    assert "No zero-escape threshold: there are no defective images." in html
    assert "<th>review</th>" in html and "review &gt;= 30, reject &gt;= 40" in html
    _assert_self_contained(html)


def test_report_names_the_missing_extra(
    template_package_file: Path, synthetic_dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = OnnxModel(read_package(template_package_file))
    scored = score_dataset(model, dataset_test_samples(synthetic_dataset)[:2], root=synthetic_dataset, progress=False)
    import gaikan.models

    monkeypatch.delitem(sys.modules, "gaikan.models.report_charts", raising=False)
    monkeypatch.delattr(gaikan.models, "report_charts", raising=False)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # as if matplotlib were not installed
    with pytest.raises(ReportUnavailable, match=r"gaikan\[report\]"):
        render_report(evaluate(scored, model.manifest), scored)
