"""Shadow mode: a candidate scores live frames without touching decisions, and reports agreement."""

from __future__ import annotations

import gc
import os
import queue
import signal
from pathlib import Path

from gaikan.models.package import ModelPackage, package_bytes, read_package, sha256_hex, write_package
from gaikan.models.runtime import OnnxModel
from gaikan.models.synthetic import render_part
from gaikan.service.line_process import LineHost
from gaikan.service.line_protocol import SetShadow
from tests.conftest import replay_settings
from tests.live_server import LiveServer, wait_for
from tests.onnx_graphs import template_package


def test_shadow_candidate_reports_agreement_without_changing_decisions(tmp_path: Path, template_model_file: Path) -> None:
    settings = replay_settings(tmp_path, 10, template_model_file, fps=40, loop=True)
    good = [render_part(0, i, None, 64).image for i in range(16)]
    # Same model, threshold 0: the candidate rejects everything.
    candidate = package_bytes(template_package(good, version="strict", reject=0.0))
    with LiveServer(settings) as server, server.client() as client:
        client.post("/api/v1/models", content=candidate)
        for version in ("damaged", "unloadable"):
            client.post("/api/v1/models", content=package_bytes(template_package(good, version=version)))
        stored = tmp_path / "data" / "models"
        (stored / "damaged.zip").write_bytes(b"not a zip")  # the stored file, damaged on disk
        _replace_graph(stored / "unloadable.zip", b"not an onnx graph")  # intact package, a graph ONNX Runtime refuses
        assert client.get("/api/v1/models/strict/shadow").status_code == 404
        started = client.post("/api/v1/models/strict/shadow")
        assert started.status_code == 200 and started.json()["shadowing"] is True and started.json()["load_error"] is None
        first_seq = client.get("/api/v1/status").json()["last_seq"]
        report = wait_for(lambda: (r := client.get("/api/v1/models/strict/shadow").json())["frames"] >= 20 and r, timeout=90)
        assert report["loaded"] is True
        refused = client.post("/api/v1/models/damaged/shadow")
        assert refused.status_code == 422 and "stored package for damaged is damaged" in refused.json()["detail"][0]["msg"]
        assert client.get("/api/v1/models/strict/shadow").json()["shadowing"] is True, "a refused candidate changes nothing"
        assert client.get("/api/v1/status").json()["shadow_model"] == "strict"
        decisions = client.get("/api/v1/reject", params={"after": first_seq, "limit": 20}).json()["items"]
        # Loaded in the shadow process only: what ONNX Runtime refuses there shows in the report.
        assert client.post("/api/v1/models/unloadable/shadow").status_code == 200
        failed = wait_for(lambda: (r := client.get("/api/v1/models/unloadable/shadow").json())["errors"] > 0 and r, timeout=60)
        assert failed["loaded"] is False and "ONNX Runtime cannot load the graph" in failed["load_error"] and failed["frames"] == 0
        assert client.delete("/api/v1/models/shadow").status_code == 204
        assert client.get("/api/v1/models/strict/shadow").json()["shadowing"] is False

    assert {d["model_version"] for d in decisions} == {"t1"}
    assert any(d["decision"] == "pass" for d in decisions), "the shadow must not change live decisions"
    confusion = report["confusion"]
    assert confusion["pass"]["pass"] == 0 and confusion["pass"]["reject"] > 0
    assert confusion["reject"]["reject"] > 0
    assert report["agreement"] < 1.0
    assert report["score_correlation"] > 0.999  # same graph, same scores


def test_a_shadow_candidate_that_hangs_or_crashes_is_restarted_and_the_line_decides_on(tmp_path: Path, template_model_file: Path) -> None:
    """The candidate is loaded only in its own process (the line process holds no session of it).
    Stopped (a hang) or killed (a crash), that process is restarted by the watchdog, counted in the
    report and the metrics, and scores again; the line decides every part on time meanwhile."""
    settings = replay_settings(tmp_path, 10, template_model_file, fps=40, loop=True, shadow_hang_s=1.0)
    good = [render_part(0, i, None, 64).image for i in range(16)]
    host = LineHost(settings, queue.Queue())
    host.start()
    try:
        decisions, shadow = host.line.stores.decisions, host.line.shadow
        host.line.registry.upload(package_bytes(template_package(good, version="strict", reject=0.0)), actor="test")
        assert host.execute(SetShadow("strict", "test")).error is None
        gc.collect()
        assert not [o for o in gc.get_objects() if isinstance(o, OnnxModel) and o.version == "strict"], "no session here"
        report = lambda: host.snapshot().shadow_reports["strict"]  # noqa: E731
        start_s = 90  # a shadow process is spawned and imports ONNX Runtime: slow on a busy 2-core host
        restarts = lambda reason: host.line.metrics.registry.get_sample_value("gaikan_shadow_restarts_total", {"reason": reason})  # noqa: E731
        wait_for(lambda: report().frames > 0, timeout=start_s)
        first = decisions.last_seq()
        for signum, reason, count in ((signal.SIGSTOP, "hung", 1), (signal.SIGKILL, "crashed", 2)):
            before = shadow.pid
            assert before is not None and before != os.getpid()
            os.kill(before, signum)
            wait_for(lambda: shadow.pid not in (None, before) and report().restarts == count)  # noqa: B023
            assert restarts(reason) == 1.0
            scored = report().frames
            wait_for(lambda: report().frames > scored, timeout=start_s)  # noqa: B023
            assert host.snapshot().fail_safe == ()
        assert report().skipped > 0, "frames the shadow could not take meanwhile are counted"
        last = decisions.last_seq()
    finally:
        host.stop()
    stored = [decisions.get(seq) for seq in range(first + 1, last + 1)]
    assert len(stored) > 20
    assert all(d is not None and d.record.reason.value == "score" and d.record.model_version == "t1" for d in stored)


def _replace_graph(path: Path, graph: bytes) -> None:
    """Rewrite the package at `path` with `graph` as its model (the manifest's sha256 to match)."""
    package = read_package(path)
    manifest = package.manifest.model_copy(update={"graph_sha256": sha256_hex(graph)})
    write_package(ModelPackage(manifest=manifest, onnx_bytes=graph), path)
