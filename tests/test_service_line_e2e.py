"""The whole line against a real server: replay camera → ONNX Runtime → decisions → SQLite → reject gate."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gaikan.camera.config import ReplayConfig
from gaikan.service.settings import Settings
from tests.conftest import write_test_line
from tests.live_server import LiveServer, wait_for


@pytest.fixture
def line_settings(tmp_path: Path, template_model_file: Path) -> Settings:
    line = write_test_line(tmp_path / "line", 16)
    model = template_model_file
    return Settings(
        data_dir=tmp_path / "data",
        camera=ReplayConfig(path=line, fps=40, loop=False, camera_id="cam1"),
        initial_model=model,
        keep_pass_fraction=1.0,
    )


def test_defective_parts_are_rejected_and_good_ones_pass(line_settings: Settings) -> None:
    with LiveServer(line_settings) as server, server.client() as client:
        status = wait_for(lambda: (s := client.get("/api/v1/status").json())["counts"]["pass"] + s["counts"]["reject"] >= 16 and s)
        assert status["active_model"] == "t1"
        page = client.get("/api/v1/reject", params={"after": 0, "limit": 100}).json()
    decisions = page["items"]
    assert len(decisions) == 16
    seqs = [d["seq"] for d in decisions]
    assert seqs == sorted(set(seqs))
    by_source = {d["source"]: d for d in decisions}
    for name, decision in by_source.items():
        expected = "pass" if name.endswith("_good.png") else "reject"
        assert decision["decision"] == expected, (name, decision["score"])
        assert decision["reason"] == "score"
        assert decision["model_version"] == "t1"
    db = sqlite3.connect(line_settings.data_dir / "gaikan.db")
    rows = db.execute("select seq, decision, source from decisions order by seq").fetchall()
    assert [(r[0], r[1]) for r in rows] == [(d["seq"], d["decision"]) for d in decisions]


def test_every_sse_client_gets_each_stored_decision(line_settings: Settings) -> None:
    """Live decisions go to every dashboard (SSE) as stored: each client reads the same events, in
    seq order, matching the reject stream."""
    import asyncio
    import json

    import httpx

    async def read_decisions(url: str, count: int) -> list[dict]:
        found: list[dict] = []
        async with httpx.AsyncClient(base_url=url, timeout=60) as client, client.stream("GET", "/api/v1/events") as response:
            kind = None
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: ") and kind == "decision":
                    found.append(json.loads(line.removeprefix("data: ")))
                    if len(found) == count:
                        return found
        return found

    async def three_clients(url: str) -> list[list[dict]]:
        return await asyncio.wait_for(asyncio.gather(*(read_decisions(url, 6) for _ in range(3))), 60)

    settings = line_settings.model_copy(update={"camera": line_settings.camera.model_copy(update={"fps": 8, "loop": True})})
    with LiveServer(settings) as server, server.client() as client:
        streams = asyncio.run(three_clients(server.url))
        stored = {d["seq"]: d for d in client.get("/api/v1/reject", params={"after": 0, "limit": 1000}).json()["items"]}
    fields = ("decision", "reason", "source", "score")
    for events in streams:
        assert len(events) == 6
        seqs = [event["seq"] for event in events]
        assert seqs == list(range(seqs[0], seqs[0] + 6)), "every decision, in seq order"
        for event in events:
            assert {k: event[k] for k in fields} == {k: stored[event["seq"]][k] for k in fields}
