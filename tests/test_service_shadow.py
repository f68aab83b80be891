"""Shadow mode: a candidate scores live frames without touching decisions, and reports agreement."""

from __future__ import annotations

import os
import queue
import signal
from pathlib import Path

from gaikan.camera.config import ReplayConfig
from gaikan.models.package import package_bytes
from gaikan.models.synthetic import render_part
from gaikan.service.line_process import LineHost
from gaikan.service.line_protocol import SetShadow
from gaikan.service.settings import Settings
from tests.conftest import write_test_line
from tests.live_server import LiveServer, wait_for
from tests.onnx_graphs import template_package


def test_shadow_candidate_reports_agreement_without_changing_decisions(tmp_path: Path, template_model_file: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        camera=ReplayConfig(path=write_test_line(tmp_path / "line", 10), fps=40, loop=True),
        initial_model=template_model_file,
    )
    good = [render_part(0, i, None, 64).image for i in range(16)]
    # Same model, threshold 0: the candidate rejects everything.
    candidate = package_bytes(template_package(good, version="strict", reject=0.0))
    with LiveServer(settings) as server, server.client() as client:
        client.post("/api/v1/models", content=candidate)
        assert client.get("/api/v1/models/strict/shadow").status_code == 404
        started = client.post("/api/v1/models/strict/shadow")
        assert started.status_code == 200 and started.json()["shadowing"] is True
        first_seq = client.get("/api/v1/status").json()["last_seq"]
        report = wait_for(lambda: (r := client.get("/api/v1/models/strict/shadow").json())["frames"] >= 20 and r)
        assert client.get("/api/v1/status").json()["shadow_model"] == "strict"
        decisions = client.get("/api/v1/reject", params={"after": first_seq, "limit": 20}).json()["items"]
        assert client.delete("/api/v1/models/shadow").status_code == 204
        assert client.get("/api/v1/models/strict/shadow").json()["shadowing"] is False

    assert {d["model_version"] for d in decisions} == {"t1"}
    assert any(d["decision"] == "pass" for d in decisions), "the shadow must not change live decisions"
    confusion = report["confusion"]
    assert confusion["pass"]["pass"] == 0 and confusion["pass"]["reject"] > 0
    assert confusion["reject"]["reject"] > 0
    assert report["agreement"] < 1.0
    assert report["score_correlation"] > 0.999  # same graph, same scores


def test_a_shadow_candidate_that_hangs_or_crashes_leaves_the_line_deciding(tmp_path: Path, template_model_file: Path) -> None:
    """The candidate scores in its own process: stopped (a hang) the line decides on, skipping the
    shadow's frames; killed (a crash) it is started again and scores again."""
    settings = Settings(
        data_dir=tmp_path / "data",
        camera=ReplayConfig(path=write_test_line(tmp_path / "line", 10), fps=40, loop=True),
        initial_model=template_model_file,
    )
    good = [render_part(0, i, None, 64).image for i in range(16)]
    host = LineHost(settings, queue.Queue())
    host.start()
    try:
        decisions, shadow = host.line.stores.decisions, host.line.shadow
        host.line.registry.upload(package_bytes(template_package(good, version="strict", reject=0.0)), actor="test")
        assert host.execute(SetShadow("strict", "test")).error is None
        report = lambda: host.snapshot().shadow_reports["strict"]  # noqa: E731
        wait_for(lambda: report().frames > 0)
        hung = shadow.pid
        assert hung is not None and hung != os.getpid()
        os.kill(hung, signal.SIGSTOP)
        try:
            first = decisions.last_seq()
            wait_for(lambda: decisions.last_seq() >= first + 60)
            during = host.snapshot()
            assert during.shadow_reports["strict"].skipped > 0, "frames the hung shadow cannot take are counted"
            assert during.fail_safe == ()
        finally:
            os.kill(hung, signal.SIGKILL)
        scored = report().frames
        wait_for(lambda: shadow.pid not in (None, hung) and report().frames > scored)
        last = decisions.last_seq()
    finally:
        host.stop()
    stored = [decisions.get(seq) for seq in range(first + 1, last + 1)]
    assert all(d is not None and d.record.reason.value == "score" and d.record.model_version == "t1" for d in stored)
