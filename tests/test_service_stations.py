"""Stations: the station settings, the fusion rule and matching views to parts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from gaikan.models.thresholds import Outcome
from gaikan.service.decision import Reason
from gaikan.service.fusion import fuse, missing_view
from gaikan.service.metrics import Metrics
from gaikan.service.records import DecisionRecord, ViewResult
from gaikan.service.settings import Settings, load_settings
from gaikan.service.station import Station, ViewMatcher
from gaikan.service.stations import StationConfig


def _view(name: str, decision: Outcome, reason: Reason = Reason.SCORE, score: float | None = 1.0) -> ViewResult:
    return ViewResult(view=name, camera_id=f"cam-{name}", frame_id=f"cam-{name}:1", decision=decision, reason=reason, score=score)


def test_any_reject_rejects_any_review_reviews_a_missing_view_rejects_with_its_reason() -> None:
    assert fuse([_view("top", Outcome.PASS), _view("side", Outcome.PASS)]).outcome is Outcome.PASS
    review = fuse([_view("top", Outcome.PASS), _view("side", Outcome.REVIEW)])
    assert (review.outcome, review.reason) == (Outcome.REVIEW, Reason.SCORE)
    reject = fuse([_view("top", Outcome.REVIEW), _view("side", Outcome.REJECT, score=4.0)])
    assert (reject.outcome, reject.reason) == (Outcome.REJECT, Reason.SCORE)
    assert "side: score (score 4)" in (reject.detail or "")
    missing = fuse([_view("top", Outcome.REJECT), missing_view("side", "cam-side", "no decision in time")])
    assert (missing.outcome, missing.reason) == (Outcome.REJECT, Reason.VIEW_MISSING)
    assert "side: view_missing" in (missing.detail or "")
    with pytest.raises(ValueError):
        fuse([])


def _record(camera: str, number: int, captured_at: float, decision: Outcome = Outcome.PASS) -> DecisionRecord:
    return DecisionRecord(
        frame_id=f"{camera}:{number}", camera_id=camera, captured_at=captured_at, decided_at=captured_at + 0.01, decision=decision, reason=Reason.SCORE, score=0.5
    )


def test_views_with_one_part_id_make_one_part_and_a_late_view_is_recognised() -> None:
    matcher = ViewMatcher(["top", "side"], match="part_id", window_s=0.1, deadline_s=1.0)
    now, t = time.monotonic(), time.time()
    assert matcher.add("top", "7", _record("a", 7, t), None, now) is None
    assert matcher.add("top", "8", _record("a", 8, t + 0.05), None, now) is None  # the next part, out of order
    part = matcher.add("side", "7", _record("b", 7, t + 0.001), None, now)
    assert part and part.key == "7" and set(part.views) == {"top", "side"}
    assert matcher.add("side", "7", _record("b", 7, t), None, now) is False  # part 7 was already decided
    assert len(matcher) == 1
    expired = matcher.expired(now + 5.0)
    assert [p.key for p in expired] == ["8"] and list(expired[0].views) == ["top"]


def test_arrival_order_within_the_window_matches_views() -> None:
    matcher = ViewMatcher(["top", "side"], match="arrival", window_s=0.05, deadline_s=1.0)
    now, t = time.monotonic(), time.time()
    assert matcher.add("top", None, _record("a", 1, t), None, now) is None
    assert matcher.add("top", None, _record("a", 2, t + 0.2), None, now) is None  # outside the window: a new part
    first = matcher.add("side", None, _record("b", 1, t + 0.02), None, now)
    second = matcher.add("side", None, _record("b", 2, t + 0.21), None, now)
    assert first and second and first.key != second.key
    assert first.views["top"][0].frame_id == "a:1" and second.views["top"][0].frame_id == "a:2"


def test_a_station_rejects_a_part_whose_view_does_not_come_in_time() -> None:
    submitted: list[DecisionRecord] = []
    config = StationConfig(station_id="st", views=[{"name": "top", "camera": "a"}, {"name": "side", "camera": "b"}], deadline_ms=100)
    station = Station(config, lambda record, _evidence: submitted.append(record), Metrics(), deadline_ms=1000, run_id="r1", camera_error=lambda c: "cable" if c == "b" else None)
    station.start()
    try:
        t = time.time()
        station.sink("a")(_record("a", 1, t, Outcome.PASS), None, "1")
        station.sink("b")(_record("b", 2, t), None, "2")  # a different part: both wait for their other view
        station.sink("a")(_record("a", 3, t, Outcome.REVIEW), None, "3")
        station.sink("b")(_record("b", 3, t), None, "3")
        deadline = time.monotonic() + 5
        while len(submitted) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        station.stop()
    by_id = {record.frame_id: record for record in submitted}
    assert set(by_id) == {"st:1:r1", "st:2:r1", "st:3:r1"}
    assert (by_id["st:3:r1"].decision, by_id["st:3:r1"].reason) == (Outcome.REVIEW, Reason.SCORE)
    assert [v.view for v in by_id["st:3:r1"].views] == ["top", "side"]
    one = by_id["st:1:r1"]
    assert (one.decision, one.reason) == (Outcome.REJECT, Reason.VIEW_MISSING)
    side = one.views[1]
    assert side.view == "side" and side.frame_id is None and "camera fault: cable" in (side.detail or "")
    assert by_id["st:2:r1"].views[0].reason is Reason.VIEW_MISSING
    assert station.counters.missing == 2


def test_a_part_keeps_every_views_pictures_shown_by_the_deciding_view() -> None:
    import numpy as np

    from gaikan.service.evidence import Evidence

    def evidence(value: int) -> Evidence:
        return Evidence(pixels=np.full((4, 4, 3), value, np.uint8), anomaly_map=None, input_spec=None, vmax=None)

    submitted: list[tuple[DecisionRecord, object]] = []
    views = [{"name": name, "camera": name} for name in ("top", "side", "back")]
    station = Station(StationConfig(station_id="st", views=views), lambda record, pictures: submitted.append((record, pictures)), Metrics(), deadline_ms=1000)
    t = time.time()
    station.sink("back")(_record("back", 1, t, Outcome.REVIEW), None, "1")  # decided without pictures (not scored)
    station.sink("side")(_record("side", 1, t, Outcome.REJECT), evidence(2), "1")
    station.sink("top")(_record("top", 1, t, Outcome.PASS), evidence(1), "1")
    [(record, pictures)] = submitted
    assert record.decision is Outcome.REJECT
    assert pictures.decisive == "side", "the part is shown by the view that rejected it"  # type: ignore[attr-defined]
    assert [(name, int(e.pixels[0, 0, 0])) for name, e in pictures.views] == [("top", 1), ("side", 2)], "in the station's order"  # type: ignore[attr-defined]


def test_station_settings_are_checked_and_a_single_camera_still_works(tmp_path: Path) -> None:
    replay = {"kind": "replay", "path": str(tmp_path)}
    single = Settings(camera={**replay, "camera_id": "solo"})
    assert [entry.camera_id for entry in single.camera_entries] == ["solo"]
    two = [{"camera": {**replay, "camera_id": "a"}}, {"camera": {**replay, "camera_id": "b"}, "thresholds": {"reject": 2.0}}]
    with pytest.raises(ValidationError, match="either `camera`"):
        Settings(camera={**replay, "camera_id": "solo"}, cameras=two)
    with pytest.raises(ValidationError, match="names camera 'c'"):
        Settings(cameras=two, stations=[{"station_id": "st", "views": [{"name": "top", "camera": "c"}]}])
    with pytest.raises(ValidationError, match="in stations"):
        Settings(cameras=two, stations=[{"station_id": s, "views": [{"name": "top", "camera": "a"}]} for s in ("s1", "s2")])
    with pytest.raises(ValidationError, match="distinct"):
        Settings(cameras=[two[0], two[0]])
    with pytest.raises(ValidationError, match="line_id"):
        Settings(line_id="line one")
    config = tmp_path / "gaikan.toml"
    config.write_text(
        f"""line_id = "press-3"
[[cameras]]
camera = {{ kind = "replay", camera_id = "top", path = "{tmp_path}" }}
[[cameras]]
model_version = "side-2"
thresholds = {{ reject = 3.5, review = 2.0 }}
[cameras.camera]
kind = "replay"
camera_id = "side"
path = "{tmp_path}"

[[stations]]
station_id = "st1"
match = "arrival"
window_ms = 40
views = [{{ name = "top", camera = "top" }}, {{ name = "side", camera = "side" }}]
"""
    )
    settings = load_settings(config)
    assert settings.line_id == "press-3"
    assert [(e.camera_id, e.model_version) for e in settings.camera_entries] == [("top", None), ("side", "side-2")]
    assert settings.stations[0].match == "arrival" and settings.stations[0].views[1].camera == "side"


def test_the_demo_station_has_one_view_per_camera_on_one_trigger(tmp_path: Path) -> None:
    from gaikan.service.demo import demo_station

    settings = Settings(**demo_station(4, tmp_path, fps=15))
    assert [entry.camera_id for entry in settings.camera_entries] == ["demo-top", "demo-side", "demo-front", "demo-back"]
    station = settings.stations[0]
    assert station.match == "part_id" and [v.name for v in station.views] == ["top", "side", "front", "back"]
    assert settings.overflow.value == "reject" and all(entry.model_version is None for entry in settings.camera_entries)
    viky = Settings(**demo_station(3, tmp_path, fps=15, kind="genicam"))
    assert viky.stations[0].match == "arrival" and [e.camera.index for e in viky.camera_entries] == [0, 1, 2]
    with pytest.raises(ValueError, match="3 devices"):
        demo_station(4, tmp_path, fps=15, kind="genicam")


def test_each_camera_is_scored_by_its_own_model_version_and_a_missing_one_rejects_only_its_parts(tmp_path: Path, template_model_file: Path) -> None:
    from gaikan.models.package import write_package
    from gaikan.models.synthetic import render_part
    from gaikan.service.line import Line
    from gaikan.service.pipeline import Overflow
    from tests.conftest import write_test_line
    from tests.live_server import wait_for
    from tests.onnx_graphs import template_package

    second = write_package(template_package([render_part(1, i, None, 64).image for i in range(8)], version="t2", reject=2.9), tmp_path / "t2.zip")
    line_dir = write_test_line(tmp_path / "line", 4)
    cameras = [
        {"camera": {"kind": "replay", "camera_id": camera, "path": str(line_dir), "fps": None, "loop": False}, "model_version": version}
        for camera, version in (("shared", None), ("pinned", "t2"), ("broken", "t9"))
    ]
    line = Line(Settings(data_dir=tmp_path / "data", cameras=cameras, initial_model=template_model_file, overflow=Overflow.BLOCK))
    line.registry.upload(second, actor="test")  # uploaded, not active: only the pinned camera uses it
    line.start()
    try:
        wait_for(lambda: line.stores.decisions.last_seq() >= 12, timeout=60)
        decisions = line.stores.decisions.page(limit=100)
        assert line.camera_fail_safe("broken")[:1] == ["no_model"] and "no_model" not in line.camera_fail_safe("pinned")
    finally:
        line.stop()
    by_camera: dict[str, set[tuple[str | None, str]]] = {}
    for d in decisions:
        by_camera.setdefault(d.record.camera_id, set()).add((d.record.model_version, d.record.reason.value))
    assert by_camera == {"shared": {("t1", "score")}, "pinned": {("t2", "score")}, "broken": {(None, "no_model")}}
    assert line.registry.active is not None and line.registry.active.version == "t1"
    assert set(line.inferences) == {"active", "t2", "t9"}  # one session per model
