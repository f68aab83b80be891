"""Strict inputs and well-formed refusals, against the real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gaikan.service.settings import Settings
from tests.live_server import LiveServer

KEYS = {"operator": "operator-key-0123456789", "plc": "plc-key-0123456789abc", "engineer": "engineer-key-0123456789"}
TOO_BIG = str(2**63)  # one past int64


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, template_model_file: Path) -> Iterator[LiveServer]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("errors"),
        initial_model=template_model_file,
        api_keys=[{"name": role, "key": key, "role": role} for role, key in KEYS.items()],
    )
    with LiveServer(settings) as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client(KEYS["engineer"]) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "params", "body"),
    [
        ("GET", "/api/v1/reject", {"after": TOO_BIG}, None),
        ("GET", "/api/v1/results", {"before_seq": TOO_BIG}, None),
        ("GET", f"/api/v1/results/{TOO_BIG}", {}, None),
        ("GET", f"/api/v1/results/{TOO_BIG}/image", {}, None),
        ("GET", "/api/v1/audit", {"before_id": TOO_BIG}, None),
        ("POST", "/api/v1/reject/ack", {}, {"seq": 2**63}),
        ("POST", "/api/v1/reject/ack", {}, {"seq": "5"}),
    ],
)
def test_integers_beyond_int64_or_of_the_wrong_type_are_422(client: httpx.Client, method: str, path: str, params: dict, body: object) -> None:
    response = client.request(method, path, params=params, json=body)
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)


def test_dates_must_be_iso_8601_with_a_zone(client: httpx.Client) -> None:
    for path in ("/api/v1/counts", "/api/v1/results/export.csv"):
        for since in ("0.5", "1764000000", "2026-01-01T06:00:00", "yesterday"):
            assert client.get(path, params={"since": since}).status_code == 422, (path, since)
        assert client.get(path, params={"since": "2026-01-01T06:00:00Z"}).status_code == 200


def test_our_own_422s_have_the_declared_list_shape(client: httpx.Client) -> None:
    for response in (
        client.post("/api/v1/reject/ack", json={"seq": 10**12}),
        client.get("/api/v1/results/export.csv", params={"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}),
        client.post("/api/v1/models", content=b"not a zip at all", headers={"Content-Type": "application/zip"}),
    ):
        assert response.status_code == 422
        (item,) = response.json()["detail"]
        assert set(item) >= {"loc", "msg", "type"} and item["msg"]


def test_a_wrong_method_on_an_api_path_is_405_with_the_real_allow(client: httpx.Client) -> None:
    for method, path, allow in (
        ("DELETE", "/api/v1/status", "GET"),
        ("POST", "/api/v1/thresholds", "GET, PUT"),
        ("PATCH", "/api/v1/results/1", "GET"),
        ("GET", "/api/v1/reject/ack", "POST"),
        ("PUT", "/api/v1/models", "GET, POST"),
    ):
        response = client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == allow, (method, path)
        assert method in response.json()["detail"]
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.json()["detail"]
    assert client.get("/").status_code == 200, "the dashboard is still served at /"
    static = client.post("/index.html")
    assert static.status_code == 405 and static.headers["allow"] == "GET, HEAD"


def test_every_status_code_an_operation_answers_is_documented(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    operations = {(m.upper(), p): op for p, ops in spec["paths"].items() for m, op in ops.items()}
    assert {"401", "403", "404", "422"} <= set(operations[("GET", "/api/v1/results/{seq}")]["responses"])
    assert {"401", "403", "409", "413", "422"} <= set(operations[("POST", "/api/v1/models")]["responses"])
    assert {"409", "422"} <= set(operations[("PUT", "/api/v1/thresholds")]["responses"])
    query_key = [op for op in operations.values() if {"APIKeyQuery": []} in op.get("security", [])]
    assert {op["operationId"].split("_api")[0] for op in query_key} == {"export_csv", "summary_csv", "get_image", "get_heatmap", "get_view_image", "get_view_heatmap", "events"}
