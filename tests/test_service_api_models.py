"""Model upload, validation, activation and rollback over the real HTTP API."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from gaikan.models.package import ModelPackage, build_manifest, package_bytes, with_changes
from gaikan.models.synthetic import render_part
from gaikan.service.settings import Settings
from tests.live_server import LiveServer
from tests.onnx_graphs import template_graph, template_package

GOOD = [render_part(0, i, None, 64).image for i in range(8)]


def _package(version: str, **options: object) -> bytes:
    return package_bytes(template_package(GOOD, version=version, reject=2.9, **options))


@pytest.fixture
def server(tmp_path: Path, template_model_file: Path):
    with LiveServer(Settings(data_dir=tmp_path / "data", initial_model=template_model_file)) as live:
        yield live


def _upload(client, data: bytes):
    return client.post("/api/v1/models", content=data, headers={"Content-Type": "application/zip"})


def test_upload_activate_and_rollback(server: LiveServer) -> None:
    with server.client() as client:
        created = _upload(client, _package("t2"))
        assert created.status_code == 201, created.text
        assert created.json()["active"] is False
        assert client.post("/api/v1/models/t2/activate").json()["active"] is True
        assert client.get("/api/v1/status").json()["active_model"] == "t2"
        back = client.post("/api/v1/models/rollback")
        assert back.status_code == 200 and back.json()["version"] == "t1"
        assert client.get("/api/v1/status").json()["active_model"] == "t1"
        listed = {m["version"]: m for m in client.get("/api/v1/models").json()}
        assert listed["t1"]["active"] and not listed["t2"]["active"]
        assert listed["t2"]["uploaded_by"] == "local"
        actions = [e["action"] for e in client.get("/api/v1/audit").json()]
        assert actions[:3] == ["model.rollback", "model.activate", "model.upload"]


def _calibrated_gauge(metrics_text: str) -> float:
    lines = [line for line in metrics_text.splitlines() if line.startswith("gaikan_active_model_calibrated{")]
    assert len(lines) == 1, metrics_text
    return float(lines[0].split()[1])


def test_an_uncalibrated_model_shows_in_status_heartbeat_and_metrics(server: LiveServer) -> None:
    with server.client() as client:
        # t1 ships the thresholds it was built with: not calibrated with defective images.
        assert client.get("/api/v1/status").json()["active_model_calibrated"] is False
        assert client.get("/api/v1/reject/heartbeat").json()["active_model_calibrated"] is False
        assert _calibrated_gauge(client.get("/metrics").text) == 0
        calibrated = with_changes(template_package(GOOD, version="t2-cal", reject=2.9), calibrated=True)
        assert _upload(client, package_bytes(calibrated)).status_code == 201
        assert client.post("/api/v1/models/t2-cal/activate").status_code == 200
        assert client.get("/api/v1/status").json()["active_model_calibrated"] is True
        assert client.get("/api/v1/reject").json()["heartbeat"]["active_model_calibrated"] is True
        assert _calibrated_gauge(client.get("/metrics").text) == 1
        assert client.post("/api/v1/models/rollback").status_code == 200
        assert client.get("/api/v1/status").json()["active_model_calibrated"] is False
        assert _calibrated_gauge(client.get("/metrics").text) == 0


def _corrupt_packages() -> dict[str, bytes]:
    good = _package("bad")
    truncated = good[: len(good) // 2]
    reference = GOOD[0].astype("float32")
    wrong_shape_graph = template_graph(reference[:32, :32], reference[:32, :32] * 0 + 4)
    spec_manifest = template_package(GOOD, version="bad").manifest
    wrong_shape = package_bytes(
        ModelPackage(
            manifest=build_manifest(wrong_shape_graph, **spec_manifest.model_dump(exclude={"graph_sha256", "created_at"})),
            onnx_bytes=wrong_shape_graph,
        )
    )
    not_onnx = package_bytes(
        ModelPackage(
            manifest=build_manifest(b"not a graph", **spec_manifest.model_dump(exclude={"graph_sha256", "created_at"})),
            onnx_bytes=b"not a graph",
        )
    )
    tampered = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(tampered, "w") as target:
        target.writestr("manifest.json", source.read("manifest.json"))
        target.writestr("model.onnx", source.read("model.onnx")[:-10])
    return {
        "garbage": b"this is not a zip",
        "truncated": truncated,
        "sha256 mismatch": tampered.getvalue(),
        "wrong input shape": wrong_shape,
        "not an ONNX graph": not_onnx,
        "NaN output": _package("bad", nan_output=True),
        "flat anomaly map": _package("bad", flat_map=True),
    }


@pytest.mark.parametrize("kind", list(_corrupt_packages()))
def test_bad_uploads_are_refused_with_a_reason_and_the_running_model_is_untouched(server: LiveServer, kind: str) -> None:
    data = _corrupt_packages()[kind]
    with server.client() as client:
        response = _upload(client, data)
        assert 400 <= response.status_code < 500, response.text
        assert response.json()["detail"], "the refusal must say why"
        assert client.get("/api/v1/status").json()["active_model"] == "t1"
        assert [m["version"] for m in client.get("/api/v1/models").json()] == ["t1"]
        assert client.post("/api/v1/models/bad/activate").status_code == 404


def test_duplicate_version_is_a_conflict(server: LiveServer) -> None:
    with server.client() as client:
        assert _upload(client, _package("t2")).status_code == 201
        response = _upload(client, _package("t2"))
        assert response.status_code == 409
        assert "already exists" in response.json()["detail"]


def test_oversized_upload_is_refused(tmp_path: Path) -> None:
    with LiveServer(Settings(data_dir=tmp_path / "d", max_upload_mb=0.001)) as live, live.client() as client:
        response = _upload(client, _package("big"))
        assert response.status_code == 413


def test_rollback_without_history_is_refused(tmp_path: Path) -> None:
    with LiveServer(Settings(data_dir=tmp_path / "d")) as live, live.client() as client:
        response = client.post("/api/v1/models/rollback")
        assert response.status_code == 409
        assert client.get("/api/v1/thresholds").status_code == 409
