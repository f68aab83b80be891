"""A camera that drops out: the line rejects with reason camera_fault, says so, and recovers.
Runs against the simulated GenICam camera (viky.cti from the genicam wheel) through Harvesters."""

from __future__ import annotations

import queue
from pathlib import Path

import pytest

from gaikan.camera.config import GenICamConfig
from gaikan.service.line import Stores
from gaikan.service.line_process import LineHost
from gaikan.service.line_protocol import DecisionStored
from gaikan.service.settings import Settings
from tests.live_server import LiveServer, wait_for

pytest.importorskip("harvesters.core")


def test_camera_fault_rejects_with_reason_then_recovers(tmp_path: Path, template_model_file: Path) -> None:
    # The line side of the boundary, in this process, so the test can pull the device away.
    camera = GenICamConfig(cti=["viky"], camera_id="viky", index=0, reconnect_initial_s=0.2, reconnect_max_s=1.0)
    settings = Settings(data_dir=tmp_path / "data", camera=camera, initial_model=template_model_file, deadline_ms=5000)
    events: queue.Queue[object] = queue.Queue()
    host = LineHost(settings, events)
    decisions = host.line.stores.decisions
    host.start()
    try:
        wait_for(lambda: decisions.last_seq() >= 5)
        assert host.snapshot().fail_safe == ()

        host.line.pipeline.source._connection._acquirer.destroy()  # the device goes away underneath

        fault = wait_for(lambda: next((d for d in decisions.page(limit=50) if d.record.reason.value == "camera_fault"), None))
        assert fault.record.decision.value == "reject" and fault.record.detail
        recovered = wait_for(lambda: (s := host.snapshot()).fail_safe == () and decisions.last_seq() > fault.seq + 3 and s, timeout=30)
        after = decisions.after(fault.seq, 3)
    finally:
        host.stop()
    assert recovered.camera.reconnects >= 1
    assert recovered.camera.state == "running"
    assert all(d.record.reason.value == "score" for d in after), "inspection resumes after the reconnect"
    streamed = [e.decision for e in list(events.queue) if isinstance(e, DecisionStored)]
    assert [d.seq for d in streamed] == list(range(1, len(streamed) + 1)), "every stored decision is streamed, in order"
    stores = Stores.open(settings.database)
    faults = [d for d in stores.decisions.page(limit=10_000) if d.record.reason.value == "camera_fault"]
    stores.engine.dispose()
    assert len(faults) == 1, "one camera_fault reject per outage"


def test_a_lost_frame_is_rejected_without_faulting_the_line(tmp_path: Path, template_model_file: Path) -> None:
    from gaikan.camera.config import ReplayConfig
    from tests.conftest import write_test_line

    line_dir = write_test_line(tmp_path / "line", 5)
    (line_dir / "0002_scratch.png").write_bytes(b"not a png")  # the camera cannot deliver this part
    settings = Settings(
        data_dir=tmp_path / "data", camera=ReplayConfig(path=line_dir, fps=None, loop=False), initial_model=template_model_file
    )
    with LiveServer(settings) as server, server.client() as client:
        # The camera's counters follow the line's 5 Hz snapshot, a moment behind the decisions.
        wait_for(lambda: (status := client.get("/api/v1/status").json())["last_seq"] >= 5 and status["camera"]["lost"] >= 1)
        decisions = client.get("/api/v1/reject", params={"after": 0}).json()["items"]
        camera = client.get("/api/v1/status").json()["camera"]
        trigger = client.post("/api/v1/camera/trigger")
    reasons = [d["reason"] for d in decisions]
    assert sorted(reasons) == ["camera_fault", "score", "score", "score", "score"]
    lost = decisions[reasons.index("camera_fault")]
    assert lost["decision"] == "reject" and "lost" in lost["detail"]
    assert camera["lost"] == 1 and camera["faults"] == 0
    assert trigger.status_code == 409 and "no software trigger" in trigger.json()["detail"]


def test_software_trigger_is_refused_on_a_free_running_genicam_camera(tmp_path: Path, template_model_file: Path) -> None:
    camera = GenICamConfig(cti=["viky"], camera_id="viky", index=0)
    settings = Settings(data_dir=tmp_path / "data", camera=camera, initial_model=template_model_file)
    with LiveServer(settings) as server, server.client() as client:
        wait_for(lambda: client.get("/api/v1/status").json()["last_seq"] >= 1)
        response = client.post("/api/v1/camera/trigger")
    assert response.status_code == 409 and "software" in response.json()["detail"]
