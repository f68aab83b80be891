"""Results over HTTP: paging and filters, images and heatmaps, CSV export, the PLC stream and acks."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import replay_settings
from tests.live_server import LiveServer, wait_decided, wait_for

COUNT = 15


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, template_model_file: Path):
    root = tmp_path_factory.mktemp("results")
    settings = replay_settings(root, COUNT, template_model_file, fps=60, loop=False, camera_id="cam", keep_pass_fraction=0.0)
    with LiveServer(settings) as live, live.client() as client:
        wait_decided(client, COUNT)
        yield live


def test_pages_walk_back_through_every_result(server: LiveServer) -> None:
    seen, before = [], None
    with server.client() as client:
        while True:
            page = client.get("/api/v1/results", params={"limit": 4, **({"before_seq": before} if before else {})}).json()
            seen += [item["seq"] for item in page["items"]]
            if page["next_before_seq"] is None:
                break
            before = page["next_before_seq"]
        rejects = client.get("/api/v1/results", params={"decision": "reject", "limit": 100}).json()["items"]
        assert client.get("/api/v1/results", params={"decision": "maybe"}).status_code == 422
        assert client.get("/api/v1/results/99999").status_code == 404
    assert seen == list(range(COUNT, 0, -1))
    assert rejects and all(item["decision"] == "reject" for item in rejects)
    assert len(rejects) == 6  # every scratch and crack in the 15-part line


def test_rejected_parts_keep_their_image_and_heatmap(server: LiveServer) -> None:
    with server.client() as client:
        reject = client.get("/api/v1/results", params={"decision": "reject", "limit": 1}).json()["items"][0]
        wait_for(lambda: client.get(f"/api/v1/results/{reject['seq']}").json()["has_heatmap"])
        image = client.get(f"/api/v1/results/{reject['seq']}/image")
        heatmap = client.get(f"/api/v1/results/{reject['seq']}/heatmap")
        passed = client.get("/api/v1/results", params={"decision": "pass", "limit": 1}).json()["items"][0]
        missing = client.get(f"/api/v1/results/{passed['seq']}/image")
    assert image.headers["content-type"] == "image/png" and heatmap.headers["content-type"] == "image/jpeg"
    picture = cv2.imdecode(np.frombuffer(image.content, np.uint8), cv2.IMREAD_COLOR)
    overlay = cv2.imdecode(np.frombuffer(heatmap.content, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == overlay.shape == (64, 64, 3)
    assert not np.array_equal(picture, overlay), "the heatmap is drawn over the part"
    assert missing.status_code == 404 and "only rejects" in missing.json()["detail"]


def test_csv_export_for_a_time_range(server: LiveServer) -> None:
    now = datetime.now(UTC)
    with server.client() as client:
        full = client.get("/api/v1/results/export.csv")
        empty = client.get("/api/v1/results/export.csv", params={"since": (now + timedelta(hours=1)).isoformat()})
        bad = client.get("/api/v1/results/export.csv", params={"since": now.isoformat(), "until": (now - timedelta(hours=1)).isoformat()})
    rows = list(csv.DictReader(io.StringIO(full.text)))
    assert [int(r["seq"]) for r in rows] == list(range(1, COUNT + 1))
    assert {r["decision"] for r in rows} == {"pass", "reject"}
    assert list(csv.reader(io.StringIO(empty.text))) == [list(rows[0].keys())]
    assert bad.status_code == 422


def test_plc_stream_resumes_from_its_acknowledgement(server: LiveServer) -> None:
    with server.client() as plc:
        first = plc.get("/api/v1/reject", params={"limit": 5}).json()
        assert [d["seq"] for d in first["items"]] == [1, 2, 3, 4, 5]
        assert plc.post("/api/v1/reject/ack", json={"seq": 5}).json()["acked_seq"] == 5
        resumed = plc.get("/api/v1/reject", params={"limit": 5}).json()
        assert [d["seq"] for d in resumed["items"]] == [6, 7, 8, 9, 10]
        assert resumed["heartbeat"]["acked_seq"] == 5
        assert plc.post("/api/v1/reject/ack", json={"seq": 3}).json()["acked_seq"] == 5, "acks never move backwards"
        assert plc.post("/api/v1/reject/ack", json={"seq": 10_000}).status_code == 422
        beat = plc.get("/api/v1/reject/heartbeat").json()
    assert beat["last_seq"] == COUNT and beat["active_model"] == "t1"
    assert beat["camera_state"] == "ended"


def test_metrics_expose_decisions_latency_and_model(server: LiveServer) -> None:
    with server.client() as client:
        text = client.get("/metrics").text
    assert 'gaikan_decisions_total{decision="reject",line="line-1",reason="score"} 6.0' in text
    assert 'gaikan_active_model_info{line="line-1",version="t1"} 1.0' in text
    assert 'gaikan_stage_latency_seconds_count{line="line-1",stage="inference"}' in text
    assert 'gaikan_frames_total{camera="cam",line="line-1"} 15.0' in text


def test_status_readers_cost_the_store_nothing_per_request(server: LiveServer) -> None:
    """Many status pages polling at once are answered from the line's snapshot and the decision
    stream: the store is asked at most when the answer changes, not once per request."""
    from sqlalchemy import event

    statements: list[str] = []
    engine = server.context.stores.engine

    def count(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001 - SQLAlchemy's event signature
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with server.client() as client:
            answers = [client.get("/api/v1/status") for _ in range(60)]
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert all(answer.status_code == 200 for answer in answers)
    last = answers[-1].json()
    assert last["last_seq"] == COUNT and sum(last["counts"].values()) == COUNT == sum(last["counts_last_hour"].values())
    assert len(statements) < 20, f"{len(statements)} store queries for 60 status requests"
