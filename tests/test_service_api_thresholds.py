"""Live thresholds: validated, effective from the next frame, audited, per model version."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

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
        # Threshold 0: every later part scores at or above it, so everything is rejected.
        changed = client.put("/api/v1/thresholds", json={"reject": 0.0, "review": None})
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


def test_invalid_thresholds_are_refused_with_the_reason(tmp_path: Path, template_model_file: Path) -> None:
    with LiveServer(Settings(data_dir=tmp_path, initial_model=template_model_file)) as server, server.client() as client:
        response = client.put("/api/v1/thresholds", json={"reject": 1.0, "review": 2.0})
        assert response.status_code == 422
        assert "below the reject" in response.text
        assert client.put("/api/v1/thresholds", json={"reject": "high"}).status_code == 422
        assert client.get("/api/v1/thresholds").json()["reject"] == 2.9


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
