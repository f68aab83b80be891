"""Prometheus metrics, one registry per service instance (no process-global state)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

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
        self.camera_queue_depth = Gauge(
            "gaikan_camera_queue_depth", "Frames of this camera waiting for inference", ["camera"], registry=self.registry
        )
        self.camera_decisions = Counter(
            "gaikan_camera_decisions_total",
            "Decisions on each camera's frames (a station's views before fusion), by outcome and reason",
            ["camera", "decision", "reason"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "gaikan_inference_batch_size",
            "Frames scored in one model call (micro-batched across the cameras that share the model)",
            ["model"],
            buckets=(1, 2, 3, 4, 6, 8, 12, 16, 32),
            registry=self.registry,
        )
        self.station_parts = Counter(
            "gaikan_station_parts_total", "Parts a station decided from its views, by outcome and reason", ["station", "decision", "reason"], registry=self.registry
        )
        self.station_late_views = Counter(
            "gaikan_station_late_views_total",
            "View decisions that came after their part was decided without them (the part was rejected)",
            ["station", "view"],
            registry=self.registry,
        )
        self.persist_backlog = Gauge("gaikan_persist_backlog", "Decisions waiting to be stored", registry=self.registry)
        self.persist_failures = Counter(
            "gaikan_persist_failures_total", "Failed attempts to store decisions (each is retried)", registry=self.registry
        )
        self.persist_late = Counter(
            "gaikan_persist_late_total",
            "Decisions stored after the persist deadline, as storage rejects instead of pass/review",
            registry=self.registry,
        )
        self.persist_overflow = Counter(
            "gaikan_persist_overflow_total", "Decisions not stored because the persist backlog was full", registry=self.registry
        )
        self.storage_healthy = Gauge("gaikan_storage_healthy", "1 while decisions are stored in time, 0 while storage fails", registry=self.registry)
        self.storage_recoveries = Counter(
            "gaikan_storage_recoveries_total", "Times storage worked again after failing", registry=self.registry
        )
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
        self.active_model_calibrated = Gauge(
            "gaikan_active_model_calibrated",
            "1 when the active model's thresholds were calibrated with defective images, 0 when they are "
            "good-only defaults or no model is active",
            registry=self.registry,
        )
        self.evidence_skipped = Counter(
            "gaikan_evidence_skipped_total", "Images not saved because the writer was behind", registry=self.registry
        )
        self.last_decision_time = Gauge(
            "gaikan_last_decision_timestamp_seconds", "When the newest stored decision was made (Unix time)", registry=self.registry
        )
        self.evidence_no_space = Counter(
            "gaikan_evidence_no_space_total",
            "Images not saved to keep the free-disk reserve for the database",
            registry=self.registry,
        )
        self.shadow_restarts = Counter(
            "gaikan_shadow_restarts_total",
            "Shadow scoring processes ended and started again, by reason (crashed, hung)",
            ["reason"],
            registry=self.registry,
        )

    def set_active_model(self, version: str | None, *, calibrated: bool = False) -> None:
        self.active_model.clear()
        if version is not None:
            self.active_model.labels(version=version).set(1)
        self.active_model_calibrated.set(1 if version is not None and calibrated else 0)


class _Labelled(Collector):
    """Another registry's metrics with constant labels added to every sample."""

    def __init__(self, source: CollectorRegistry, labels: dict[str, str]) -> None:
        self._source = source
        self._labels = labels

    def collect(self) -> Iterator[Metric]:
        for family in self._source.collect():
            labelled = Metric(family.name, family.documentation, family.type, family.unit)
            labelled.samples = [sample._replace(labels={**sample.labels, **self._labels}) for sample in family.samples]
            yield labelled


def exposition(registry: CollectorRegistry, **labels: str) -> bytes:
    """The Prometheus text of `registry` with `labels` (e.g. `line`) on every sample."""
    if not labels:
        return generate_latest(registry)
    out = CollectorRegistry(auto_describe=False)
    out.register(_Labelled(registry, labels))
    return generate_latest(out)
