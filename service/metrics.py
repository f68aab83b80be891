"""Prometheus metrics, one registry per service instance (no process-global state)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.frames = Counter("gaikan_frames_total", "Frames received from the camera", ["camera"], registry=self.registry)
        self.decisions = Counter(
            "gaikan_decisions_total", "Decisions made, by outcome and reason", ["decision", "reason"], registry=self.registry
        )
        self.drops = Counter(
            "gaikan_frames_dropped_total", "Frames dropped because the pipeline lagged", ["camera"], registry=self.registry
        )
        self.stage_latency = Histogram(
            "gaikan_stage_latency_seconds",
            "Per-stage latency: queue (capture to inference start), inference, decision (capture to decision), persist",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge("gaikan_queue_depth", "Frames waiting for inference", registry=self.registry)
        self.persist_backlog = Gauge("gaikan_persist_backlog", "Decisions waiting to be stored", registry=self.registry)
        self.camera_reconnects = Gauge("gaikan_camera_reconnects", "Camera reconnects since start", ["camera"], registry=self.registry)
        self.camera_timeouts = Gauge("gaikan_camera_timeouts", "Camera fetch timeouts since start", ["camera"], registry=self.registry)
        self.camera_dropped = Gauge(
            "gaikan_camera_dropped", "Frames the camera source dropped because the reader lagged", ["camera"], registry=self.registry
        )
        self.camera_lost = Gauge(
            "gaikan_camera_lost", "Frames the camera captured but could not deliver", ["camera"], registry=self.registry
        )
        self.camera_faults = Gauge("gaikan_camera_faults", "Camera faults detected since start", ["camera"], registry=self.registry)
        self.active_model = Gauge(
            "gaikan_active_model_info", "1 for the active model version", ["version"], registry=self.registry
        )
        self.evidence_skipped = Counter(
            "gaikan_evidence_skipped_total", "Images not saved because the writer was behind", registry=self.registry
        )
        self.last_decision_time = Gauge(
            "gaikan_last_decision_timestamp_seconds", "When the newest stored decision was made (Unix time)", registry=self.registry
        )
        # Set when scraped (see set_line_state): what the line is doing right now.
        self.fail_safe = Gauge(
            "gaikan_fail_safe", "1 for each reason the line is rejecting every part right now", ["reason"], registry=self.registry
        )
        self.camera_state = Gauge("gaikan_camera_state", "1 for the camera's current state", ["camera", "state"], registry=self.registry)
        self.disk_free = Gauge("gaikan_data_disk_free_bytes", "Free space on the data directory's file system", registry=self.registry)
        self.disk_size = Gauge("gaikan_data_disk_size_bytes", "Size of the data directory's file system", registry=self.registry)
        self.plc_unacked = Gauge(
            "gaikan_plc_unacked_decisions", "Decisions a PLC client has not acknowledged yet", ["client"], registry=self.registry
        )
        self.plc_ack_age = Gauge(
            "gaikan_plc_ack_age_seconds",
            "Seconds since the PLC client last acknowledged (since the service started, if it never has)",
            ["client"],
            registry=self.registry,
        )

    def set_line_state(
        self,
        *,
        fail_safe: list[str],
        camera: tuple[str, str] | None,
        disk_free: int,
        disk_size: int,
        last_seq: int,
        acks: Mapping[str, tuple[int, float]],
        now: float,
    ) -> None:
        """The gauges read at scrape time. `camera` is (camera id, state); `acks` maps each PLC
        client to (acknowledged seq, when)."""
        self.fail_safe.clear()
        for reason in fail_safe:
            self.fail_safe.labels(reason=reason).set(1)
        self.camera_state.clear()
        if camera is not None:
            self.camera_state.labels(camera=camera[0], state=camera[1]).set(1)
        self.disk_free.set(disk_free)
        self.disk_size.set(disk_size)
        self.plc_unacked.clear()
        self.plc_ack_age.clear()
        for client, (seq, at) in acks.items():
            self.plc_unacked.labels(client=client).set(max(last_seq - seq, 0))
            self.plc_ack_age.labels(client=client).set(max(now - at, 0.0))

    def set_active_model(self, version: str | None) -> None:
        self.active_model.clear()
        if version is not None:
            self.active_model.labels(version=version).set(1)
