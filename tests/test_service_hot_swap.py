"""Hot swap during a running line: no lost or repeated seq, no dropped frame, and every decision
made by one whole model (its version and its thresholds together)."""

from __future__ import annotations

import time
from pathlib import Path

from gaikan.camera.config import ReplayConfig
from gaikan.models.package import package_bytes
from gaikan.models.synthetic import render_part
from gaikan.service.settings import Settings
from tests.conftest import write_test_line
from tests.live_server import LiveServer, wait_for
from tests.onnx_graphs import template_package

SWAPS = 20


def test_twenty_swaps_while_the_line_runs(tmp_path: Path, template_model_file: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        camera=ReplayConfig(path=write_test_line(tmp_path / "line", 10), fps=40, loop=True, camera_id="cam"),
        initial_model=template_model_file,
        queue_size=64,
        deadline_ms=10_000,
    )
    good = [render_part(0, i, None, 64).image for i in range(16)]
    manifest_reject = {"t1": 2.9, "t2": 3.5}
    with LiveServer(settings) as server, server.client() as client:
        assert client.post("/api/v1/models", content=package_bytes(template_package(good, version="t2", reject=3.5))).status_code == 201
        wait_for(lambda: client.get("/api/v1/status").json()["last_seq"] >= 5)
        for i in range(SWAPS):
            version = "t2" if i % 2 == 0 else "t1"
            assert client.post(f"/api/v1/models/{version}/activate").status_code == 200
            time.sleep(0.1)
        final_seq = client.get("/api/v1/status").json()["last_seq"]
        upto = wait_for(lambda: (seq := client.get("/api/v1/status").json()["last_seq"]) >= final_seq + 5 and seq)
        # The line keeps running: judge every decision up to `upto` (stored in frame order).
        decisions, after = [], 0
        while after < upto and (page := client.get("/api/v1/reject", params={"after": after, "limit": 500}).json()["items"]):
            decisions += [d for d in page if d["seq"] <= upto]
            after = page[-1]["seq"]
        status = client.get("/api/v1/status").json()

    seqs = [d["seq"] for d in decisions]
    assert seqs == list(range(1, len(seqs) + 1)), "seq must have no gaps and no repeats"
    frames = [int(d["frame_id"].split(":")[1]) for d in decisions]
    assert sorted(frames) == list(range(len(frames))), "every captured frame is decided exactly once"
    assert status["camera"]["dropped"] == 0
    assert all(d["reason"] == "score" for d in decisions)
    for decision in decisions:
        assert decision["thresholds"]["reject"] == manifest_reject[decision["model_version"]]
    versions_in_frame_order = [d["model_version"] for d in sorted(decisions, key=lambda d: int(d["frame_id"].split(":")[1]))]
    switches = sum(1 for a, b in zip(versions_in_frame_order, versions_in_frame_order[1:], strict=False) if a != b)
    assert 1 <= switches <= SWAPS
    assert versions_in_frame_order[-1] == "t1"
