"""Roles: each role's allowed and refused calls, and the loopback-only rule without keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gaikan.service.settings import Settings
from tests.live_server import LiveServer

KEYS = {
    "operator": "operator-key-0123456789",
    "plc": "plc-key-0123456789abcdef",
    "engineer": "engineer-key-0123456789",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, template_model_file: Path):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("auth"),
        initial_model=template_model_file,
        api_keys=[{"name": f"{role}-1", "key": key, "role": role} for role, key in KEYS.items()],
    )
    with LiveServer(settings) as live:
        yield live


CALLS = {
    "status": ("GET", "/api/v1/status", None),
    "results": ("GET", "/api/v1/results", None),
    "audit": ("GET", "/api/v1/audit", None),
    "models": ("GET", "/api/v1/models", None),
    "reject": ("GET", "/api/v1/reject?after=0", None),
    "heartbeat": ("GET", "/api/v1/reject/heartbeat", None),
    "ack": ("POST", "/api/v1/reject/ack", {"seq": 0}),
    "thresholds.read": ("GET", "/api/v1/thresholds", None),
    "thresholds.write": ("PUT", "/api/v1/thresholds", {"reject": 2.9}),
    "activate": ("POST", "/api/v1/models/t1/activate", None),
}

ALLOWED = {
    "operator": {"status", "results", "audit", "models", "reject", "heartbeat", "thresholds.read"},
    "plc": {"reject", "heartbeat", "ack"},
    "engineer": set(CALLS),
}


@pytest.mark.parametrize("role", list(KEYS))
def test_each_role_gets_exactly_its_calls(server: LiveServer, role: str) -> None:
    with server.client(KEYS[role]) as client:
        for name, (method, path, body) in CALLS.items():
            response = client.request(method, path, json=body)
            if name in ALLOWED[role]:
                assert response.status_code < 400, (role, name, response.text)
            else:
                assert response.status_code == 403, (role, name, response.status_code)
                assert role in response.json()["detail"]


def test_missing_or_wrong_key_is_unauthorised_but_health_and_metrics_are_open(server: LiveServer) -> None:
    with server.client() as anonymous, server.client("wrong-key-0123456789") as wrong:
        assert anonymous.get("/api/v1/status").status_code == 401
        assert wrong.get("/api/v1/status").status_code == 401
        assert anonymous.get("/healthz").status_code == 200
        assert anonymous.get("/metrics").status_code == 200
    with server.client() as client:
        # ?api_key= only where a browser cannot send headers (images, SSE, CSV downloads): never for
        # JSON reads a script can send headers with, never for writes.
        assert client.get("/api/v1/results/export.csv", params={"api_key": KEYS["operator"]}).status_code == 200
        assert client.get("/api/v1/status", params={"api_key": KEYS["operator"]}).status_code == 401
        assert client.put("/api/v1/thresholds", params={"api_key": KEYS["engineer"]}, json={"reject": 3.1}).status_code == 401
        assert client.post("/api/v1/reject/ack", params={"api_key": KEYS["plc"]}, json={"seq": 0}).status_code == 401


def test_engineer_actions_are_audited_under_the_key_holders_name(server: LiveServer) -> None:
    with server.client(KEYS["engineer"]) as client:
        assert client.put("/api/v1/thresholds", json={"reject": 3.1}).status_code == 200
        entry = client.get("/api/v1/audit", params={"action": "thresholds.update"}).json()[0]
    assert entry["actor"] == "engineer-1"
    assert entry["new"]["reject"] == 3.1


def test_refuses_a_non_loopback_address_without_keys(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="without API keys"):
        Settings(host="0.0.0.0", data_dir=tmp_path)
    Settings(host="0.0.0.0", data_dir=tmp_path, api_keys=[{"name": "e", "key": KEYS["engineer"], "role": "engineer"}])
