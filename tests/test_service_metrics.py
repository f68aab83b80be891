"""/metrics on a running service: the gauges the alert rules need (deploy/prometheus/alerts.yml)."""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from gaikan.camera.config import ReplayConfig
from gaikan.service.settings import ApiKey, Settings
from tests.conftest import write_test_line
from tests.live_server import LiveServer, wait_for

PLC_KEY = "plc-key-0123456789"


def _samples(server: LiveServer) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample by name and labels; every sample carries the line's id as `line` (left out here)."""
    text = server.client().get("/metrics").text
    samples = [sample for family in text_string_to_metric_families(text) for sample in family.samples]
    assert samples and all(sample.labels.get("line") == server.settings.line_id for sample in samples)
    return {
        (sample.name, frozenset((k, v) for k, v in sample.labels.items() if k != "line")): sample.value for sample in samples
    }


def test_fail_safe_camera_disk_last_decision_and_plc_ack_gauges(tmp_path: Path) -> None:
    line = write_test_line(tmp_path / "line", 3)
    settings = Settings(
        data_dir=tmp_path / "data",
        camera=ReplayConfig(path=line, fps=20, loop=False, camera_id="cam1"),
        api_keys=[ApiKey(name="line1-plc", key=PLC_KEY, role="plc")],
    )
    started = time.time()
    with LiveServer(settings) as server:
        plc = server.client(PLC_KEY)
        wait_for(lambda: plc.get("/api/v1/reject/heartbeat").json()["last_seq"] == 3)
        samples = wait_for(lambda: (s := _samples(server)) and s.get(("gaikan_camera_state", frozenset({("camera", "cam1"), ("state", "ended")}))) and s)

        # No model: every part was a fail-safe reject, and the gauge says why.
        assert samples[("gaikan_fail_safe", frozenset({("reason", "no_model")}))] == 1
        assert samples[("gaikan_last_decision_timestamp_seconds", frozenset())] >= started
        free, size = samples[("gaikan_data_disk_free_bytes", frozenset())], samples[("gaikan_data_disk_size_bytes", frozenset())]
        assert 0 < free <= size
        # The PLC key has never acknowledged: 3 decisions wait, counted from the service's start.
        client = frozenset({("client", "line1-plc")})
        assert samples[("gaikan_plc_unacked_decisions", client)] == 3
        assert samples[("gaikan_plc_ack_age_seconds", client)] >= 0
        # It polled: its liveness is reported by the same collector.
        assert (samples[("gaikan_plc_acked_seq", client)], samples[("gaikan_plc_silent", client)]) == (0, 0)

        acked_at = time.time()
        assert plc.post("/api/v1/reject/ack", json={"seq": 3}).status_code == 200
        after = _samples(server)
        assert after[("gaikan_plc_unacked_decisions", client)] == 0
        assert after[("gaikan_plc_acked_seq", client)] == 3
        assert after[("gaikan_plc_ack_age_seconds", client)] <= time.time() - acked_at  # counted from the ack now
