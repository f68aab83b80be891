"""The line in its own process, behind the typed interface, against the real server: kill -9 of
the line process is reported fail-safe and recovered; commands cross the boundary; readers
cannot change the line's decisions."""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from gaikan.service.errors import LineUnavailable, UnknownVersion
from gaikan.service.line_process import LineHost
from gaikan.service.line_protocol import Activate, SetThresholds
from gaikan.service.pipeline import Overflow
from gaikan.service.settings import Settings
from gaikan.models.thresholds import Thresholds
from tests.conftest import LINE_PATTERN, replay_settings
from tests.live_server import LiveServer, wait_decided, wait_for


def _stream(client: httpx.Client, after: int = 0) -> list[dict]:
    items: list[dict] = []
    while page := client.get("/api/v1/reject", params={"after": after, "limit": 500}).json()["items"]:
        items += page
        after = page[-1]["seq"]
    return items


def test_a_killed_line_process_is_reported_fail_safe_restarted_and_decides_on(tmp_path: Path, template_model_file: Path) -> None:
    settings = replay_settings(tmp_path, 10, template_model_file, fps=20, loop=True, camera_id="cam")
    with LiveServer(settings) as server, server.client() as client:
        wait_decided(client, 5)
        assert client.get("/api/v1/reject/heartbeat").json()["fail_safe"] == []
        pid = server.context.line.snapshot.pid
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        beat = wait_for(lambda: (b := client.get("/api/v1/reject/heartbeat").json())["fail_safe"] and b, timeout=10, interval=0.02)
        noticed_s = time.monotonic() - killed_at
        assert set(beat["fail_safe"]) & {"line_down", "line_starting", "line_unresponsive"}, beat
        assert noticed_s < 2.0, f"the heartbeat reported the dead line after {noticed_s:.2f} s"
        seq_at_kill = client.get("/api/v1/status").json()["last_seq"]

        recovered = wait_for(
            lambda: (s := client.get("/api/v1/status").json())["fail_safe"] == [] and s["last_seq"] >= seq_at_kill + 10 and s,
            timeout=60,
        )
        assert server.context.line.snapshot.pid != pid
        assert server.context.line.restarts == 1
        assert recovered["active_model"] == "t1", "the restarted line restores the active model"
        assert 'gaikan_line_restarts{line="line-1"} 1.0' in client.get("/metrics").text
        decisions = _stream(client)
    seqs = [d["seq"] for d in decisions]
    assert seqs == list(range(1, len(seqs) + 1)), "no seq missing or repeated across the crash"
    assert all(d["reason"] == "score" for d in decisions)


def test_commands_cross_the_boundary_and_refusals_keep_their_kind(tmp_path: Path, template_model_file: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", initial_model=template_model_file)
    with LiveServer(settings) as server, server.client() as client:
        line = server.context.line
        with pytest.raises(UnknownVersion, match="no model version 'nope'"):
            line.execute(Activate("nope", "test"))
        assert client.post("/api/v1/models/nope/activate").status_code == 404
        assert client.post("/api/v1/models/rollback").status_code == 409
        assert client.post("/api/v1/camera/trigger").json()["detail"] == "this camera (none) has no software trigger"

        line.execute(SetThresholds(Thresholds(reject=5.0, review=4.0), "test"))
        # The reply carries the line's state right after the command: read-your-writes.
        assert client.get("/api/v1/thresholds").json()["reject"] == 5.0
        assert client.get("/api/v1/status").json()["fail_safe"] == ["no_camera"]
    with pytest.raises(LineUnavailable):
        line.execute(Activate("t1", "test"))


def test_readers_hammering_status_do_not_change_the_decisions(tmp_path: Path, template_model_file: Path) -> None:
    count = 40
    # Paced like a real line; a reader slowing inspection down would show as timeout rejects.
    settings = replay_settings(
        tmp_path, count, template_model_file, fps=10, loop=False, camera_id="cam", overflow=Overflow.BLOCK, deadline_ms=3000
    )
    stop = threading.Event()
    answered = [0]

    def reader(url: str) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            while not stop.is_set():
                http.get("/api/v1/status").raise_for_status()
                http.get("/api/v1/reject/heartbeat").raise_for_status()
                answered[0] += 1

    with LiveServer(settings) as server, server.client() as client:
        readers = [threading.Thread(target=reader, args=(server.url,)) for _ in range(4)]
        for thread in readers:
            thread.start()
        try:
            wait_for(lambda: client.get("/api/v1/status").json()["last_seq"] >= count, timeout=120)
        finally:
            stop.set()
            for thread in readers:
                thread.join()
        decisions = _stream(client)
    assert answered[0] > 0
    assert [int(d["frame_id"].split(":")[1]) for d in decisions] == list(range(count))
    expected = ["pass" if LINE_PATTERN[i % len(LINE_PATTERN)] is None else "reject" for i in range(count)]
    assert [d["decision"] for d in decisions] == expected
    assert {d["reason"] for d in decisions} == {"score"}


@pytest.mark.slow
def test_a_hung_model_call_is_reported_as_inference_stalled(tmp_path: Path) -> None:
    # A real graph with ~50 GFLOP of busy work in one call: far longer than the 0.2 s stall limit.
    from gaikan.models.package import write_package
    from gaikan.models.synthetic import render_part
    from tests.onnx_graphs import template_package

    good = [render_part(0, i, None, 64).image for i in range(4)]
    model = write_package(template_package(good, version="stall", reject=2.9, stall_gflop=50), tmp_path / "stall.zip")
    settings = replay_settings(tmp_path, 2, model, fps=2, loop=True, deadline_ms=60_000, inference_stall_ms=200)
    host = LineHost(settings, queue.Queue())
    host.start()
    try:
        stalled = wait_for(lambda: "inference_stalled" in (s := host.snapshot()).fail_safe and s, timeout=120, interval=0.02)
        assert stalled.inference_busy_s > 0.2
        assert wait_for(lambda: host.line.stores.decisions.last_seq() >= 1, timeout=120)
        assert wait_for(lambda: "inference_stalled" not in host.snapshot().fail_safe, timeout=120, interval=0.01), "it clears between calls"
    finally:
        host.stop()
