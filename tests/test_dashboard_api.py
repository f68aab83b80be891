"""The small API the dashboard needs beside the service core: who am I, and counts since a time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import httpx

from gaikan.service.decision import Outcome, Reason
from gaikan.service.records import DecisionRecord
from gaikan.service.settings import ApiKey, Role, Settings
from tests.live_server import LiveServer

OPERATOR = ApiKey(name="olga", key="operator-key-for-tests-0001", role=Role.OPERATOR)
PLC = ApiKey(name="plc-1", key="plc-key-for-tests-000000001", role=Role.PLC)


def record(outcome: Outcome, decided_at: float) -> DecisionRecord:
    return DecisionRecord(
        frame_id=f"f{decided_at}", camera_id="cam1", captured_at=decided_at - 0.01, decided_at=decided_at,
        decision=outcome, reason=Reason.SCORE, score=1.0,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with LiveServer(Settings(data_dir=tmp_path / "data", api_keys=[OPERATOR, PLC])) as server:
        yield server


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def test_whoami_names_the_key_holder_and_role(client: httpx.Client) -> None:
    answer = client.get("/api/v1/whoami", headers={"X-API-Key": OPERATOR.key.get_secret_value()})
    assert answer.json() == {"name": "olga", "role": "operator", "keys_required": True}
    by_query = client.get("/api/v1/whoami", params={"api_key": PLC.key.get_secret_value()})
    assert by_query.status_code == 401, "a key in the query is only for images, SSE and CSV downloads"
    assert client.get("/api/v1/whoami").status_code == 401
    assert client.get("/api/v1/whoami", headers={"X-API-Key": "not-a-key-of-this-service"}).status_code == 401


def test_without_keys_everyone_is_the_local_engineer(tmp_path: Path) -> None:
    with LiveServer(Settings(data_dir=tmp_path / "data")) as server, server.client() as client:
        assert client.get("/api/v1/whoami").json() == {"name": "local", "role": "engineer", "keys_required": False}


def test_counts_start_at_the_given_time(server: LiveServer, client: httpx.Client) -> None:
    now = time.time()
    store = server.context.stores.decisions
    store.append([record(Outcome.PASS, now - 7200), record(Outcome.REJECT, now - 7100), record(Outcome.PASS, now - 60)])
    store.append([record(Outcome.REVIEW, now - 30)])
    headers = {"X-API-Key": OPERATOR.key.get_secret_value()}

    since = datetime.fromtimestamp(now - 3600, UTC).isoformat()
    answer = client.get("/api/v1/counts", params={"since": since}, headers=headers).json()
    assert answer["counts"] == {"pass": 1, "review": 1, "reject": 0}
    assert datetime.fromisoformat(answer["since"]).timestamp() == pytest.approx(now - 3600, abs=1e-3)

    everything = client.get("/api/v1/counts", headers=headers).json()
    assert (everything["since"], everything["counts"]) == (None, {"pass": 2, "review": 1, "reject": 1})

    naive = client.get("/api/v1/counts", params={"since": "2026-01-01T06:00:00"}, headers=headers)
    assert naive.status_code == 422, "a time without a zone is ambiguous"
    assert client.get("/api/v1/counts", headers={"X-API-Key": PLC.key.get_secret_value()}).status_code == 403


def test_the_dashboard_is_served_for_revalidation(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<script type="module" src="js/main.js">' in page.text
    module = client.get("/js/main.js")
    assert module.headers["cache-control"] == "no-cache"
    assert client.get("/js/main.js", headers={"If-None-Match": module.headers["etag"]}).status_code == 304
