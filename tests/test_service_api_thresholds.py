"""Live thresholds: validated, effective from the next frame, audited, per model version."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gaikan.camera.config import ReplayConfig
from gaikan.models.package import package_bytes
from gaikan.models.synthetic import render_part
from gaikan.service.settings import Settings
from tests.conftest import write_test_line
from tests.live_server import LiveServer, wait_for
from tests.onnx_graphs import template_package


def _line_settings(tmp_path: Path, model: Path) -> Settings:
    """A replay line of 10 parts at 50 fps with `model` active."""
    return Settings(
        data_dir=tmp_path / "data",
        camera=ReplayConfig(path=write_test_line(tmp_path / "line", 10), fps=50, loop=True),
        initial_model=model,
    )


def test_threshold_change_applies_to_following_frames_and_is_audited(tmp_path: Path, template_model_file: Path) -> None:
    settings = _line_settings(tmp_path, template_model_file)
    with LiveServer(settings) as server, server.client() as client:
        assert client.get("/api/v1/thresholds").json() | {"manifest": None} == {
            "model_version": "t1", "reject": 2.9, "review": None, "source": "manifest", "manifest": None
        }
        wait_for(lambda: client.get("/api/v1/status").json()["counts"]["reject"] > 0)
        # Threshold 0: every later part scores at or above it, so everything is rejected. That is
        # below any plausible score of this model: refused unless forced, and the audit says so.
        refused = client.put("/api/v1/thresholds", json={"reject": 0.0, "review": None})
        assert refused.status_code == 422 and "force=true" in refused.json()["detail"][0]["msg"]
        changed = client.put("/api/v1/thresholds", json={"reject": 0.0, "review": None, "force": True})
        assert changed.status_code == 200 and changed.json()["source"] == "override"
        applied_at = datetime.now(UTC)
        last_before = client.get("/api/v1/status").json()["last_seq"]
        wait_for(lambda: client.get("/api/v1/status").json()["last_seq"] >= last_before + 12)
        items = client.get("/api/v1/reject", params={"after": last_before, "limit": 100}).json()["items"]
        # Every part captured after the change was judged with the new thresholds.
        later = [d for d in items if datetime.fromisoformat(d["captured_at"]) > applied_at]
        assert later and all(d["decision"] == "reject" and d["thresholds"]["reject"] == 0.0 for d in later)
        audit = client.get("/api/v1/audit", params={"action": "thresholds.update"}).json()
        assert audit[0]["old"]["reject"] == 2.9 and audit[0]["new"]["reject"] == 0.0 and audit[0]["target"] == "t1"
        assert audit[0]["new"]["forced"] is True


def test_invalid_thresholds_are_refused_with_the_reason(tmp_path: Path, template_model_file: Path) -> None:
    with LiveServer(Settings(data_dir=tmp_path, initial_model=template_model_file)) as server, server.client() as client:
        response = client.put("/api/v1/thresholds", json={"reject": 1.0, "review": 2.0})
        assert response.status_code == 422
        assert "below the reject" in response.text
        assert client.put("/api/v1/thresholds", json={"reject": "high"}).status_code == 422
        # Strict types: numbers only, finite ones; the 422 always serialises.
        for body in ({"reject": "5"}, {"reject": True}, {"reject": 3.0, "force": "yes"}, {"reject": 3.0, "extra": 1}):
            assert client.put("/api/v1/thresholds", json=body).status_code == 422, body
        for literal in ("NaN", "Infinity", "-Infinity", "1e309"):
            response = client.put("/api/v1/thresholds", content=f'{{"reject": {literal}}}', headers={"Content-Type": "application/json"})
            assert response.status_code == 422, literal
            assert response.json()["detail"][0]["loc"] == ["body", "reject"], literal
        # Plausibility: 1e308 would pass everything, -1 reject everything (2.9 is the manifest's
        # threshold; without score statistics the range is 0.29 … 29).
        for reject in (1e308, -1.0, 30.0):
            response = client.put("/api/v1/thresholds", json={"reject": reject})
            assert response.status_code == 422 and "plausible range" in response.text, reject
        assert client.put("/api/v1/thresholds", json={"reject": 3.5, "review": 0.1}).status_code == 422
        assert client.get("/api/v1/thresholds").json()["reject"] == 2.9
        assert client.put("/api/v1/thresholds", json={"reject": 3.5, "review": 3.0}).status_code == 200


def test_thresholds_belong_to_a_model_version(tmp_path: Path, template_model_file: Path) -> None:
    good = [render_part(0, i, None, 64).image for i in range(8)]
    with LiveServer(Settings(data_dir=tmp_path, initial_model=template_model_file)) as server, server.client() as client:
        client.put("/api/v1/thresholds", json={"reject": 5.0})
        client.post("/api/v1/models", content=package_bytes(template_package(good, version="t2", reject=4.0)))
        client.post("/api/v1/models/t2/activate")
        assert client.get("/api/v1/thresholds").json()["reject"] == 4.0
        client.post("/api/v1/models/t1/activate")
        assert client.get("/api/v1/thresholds").json()["reject"] == 5.0


def test_classify_gives_what_the_line_decided_and_refuses_bad_input(tmp_path: Path, template_model_file: Path) -> None:
    settings = _line_settings(tmp_path, template_model_file)
    with LiveServer(settings) as server, server.client() as client:
        wait_for(lambda: (c := client.get("/api/v1/status").json()["counts"])["reject"] > 0 and c["pass"] > 0)
        scored = [d for d in client.get("/api/v1/results", params={"limit": 50}).json()["items"] if d["score"] is not None]
        thresholds = scored[0]["thresholds"]
        same = [d for d in scored if d["thresholds"] == thresholds]
        judged = client.post("/api/v1/thresholds/classify", json={"thresholds": thresholds, "scores": [d["score"] for d in same]})
        assert judged.status_code == 200
        assert judged.json()["outcomes"] == [d["decision"] for d in same]

        # The rule at its edges: a score equal to a threshold is on the stricter side.
        edges = client.post(
            "/api/v1/thresholds/classify",
            json={"thresholds": {"reject": 2.0, "review": 1.0}, "scores": [0.5, 1.0, 1.5, 2.0, 3.0]},
        ).json()
        assert edges["outcomes"] == ["pass", "review", "review", "reject", "reject"]
        assert edges["counts"] == {"pass": 1, "review": 2, "reject": 2}
        none = client.post("/api/v1/thresholds/classify", json={"thresholds": {"reject": 2.0}, "scores": []}).json()
        assert none == {"outcomes": [], "counts": {"pass": 0, "review": 0, "reject": 0}}

        inverted = client.post("/api/v1/thresholds/classify", json={"thresholds": {"reject": 1.0, "review": 2.0}, "scores": [1.5]})
        assert inverted.status_code == 422 and "below the reject" in inverted.text
        not_finite = client.post(
            "/api/v1/thresholds/classify",
            content=b'{"thresholds": {"reject": 1.0}, "scores": [NaN]}',
            headers={"Content-Type": "application/json"},
        )
        assert not_finite.status_code == 422 and "finite" in not_finite.text
        too_many = client.post("/api/v1/thresholds/classify", json={"thresholds": {"reject": 1.0}, "scores": [0.0] * 10_001})
        assert too_many.status_code == 422 and "10000" in too_many.text


def test_the_plausible_range_comes_from_the_good_score_statistics() -> None:
    from gaikan.models.package import ScoreStats, with_changes
    from gaikan.service.threshold_sanity import implausible, plausible_range
    from gaikan.models.thresholds import Thresholds

    package = template_package([render_part(0, i, None, 64).image for i in range(4)], version="s", reject=2.0)
    stats = ScoreStats(count=50, mean=1.0, std=0.1, min=0.8, p50=1.0, p95=1.2, p99=1.3, max=1.4)
    manifest = with_changes(package, score_stats=stats).manifest
    low, high = plausible_range(manifest)
    assert (low, high) == (0.8, pytest.approx(1.4 + 10 * 0.6))
    assert implausible(Thresholds(reject=1.5, review=1.2), manifest) is None
    assert "review threshold 0.5" in implausible(Thresholds(reject=1.5, review=0.5), manifest)
    assert "reject threshold 100" in implausible(Thresholds(reject=100.0), manifest)
