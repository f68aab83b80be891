"""`GET /metrics`: the line process's own metrics (carried by its snapshot) plus what the API
process knows about the line: is it up, how often it was restarted, why it is fail-safe, the
camera's state, the data disk and how far each PLC client has acknowledged."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gaikan.service.services.context import ApiContext
from gaikan.service.settings import Role


class _LineHealth(Collector):
    """Gauges computed when scraped (the alert rules in deploy/prometheus/alerts.yml read them)."""

    def __init__(self, context: ApiContext) -> None:
        self._context = context
        self._started_at = time.time()

    def collect(self) -> Iterator[Metric]:
        line = self._context.line
        yield GaugeMetricFamily("gaikan_line_up", "1 while the line process runs and reports", value=float(line.alive))
        yield GaugeMetricFamily("gaikan_line_restarts", "Line process restarts by the watchdog", value=float(line.restarts))
        reasons = GaugeMetricFamily("gaikan_fail_safe", "1 for each reason every part is rejected now", labels=["reason"])
        for reason in line.fail_safe_reasons():
            reasons.add_metric([reason], 1.0)
        yield reasons
        yield self._camera_state()
        yield from self._disk()
        yield from self._plc_acks()

    def _camera_state(self) -> Metric:
        family = GaugeMetricFamily("gaikan_camera_state", "1 for the camera's current state", labels=["camera", "state"])
        snapshot = self._context.line.snapshot
        if snapshot is not None and snapshot.camera is not None:
            state = snapshot.camera.state if self._context.line.alive else "unknown"
            family.add_metric([snapshot.camera.camera_id, state], 1.0)
        return family

    def _disk(self) -> Iterator[Metric]:
        disk = shutil.disk_usage(self._context.settings.data_dir)
        yield GaugeMetricFamily("gaikan_data_disk_free_bytes", "Free space on the data directory's file system", value=disk.free)
        yield GaugeMetricFamily("gaikan_data_disk_size_bytes", "Size of the data directory's file system", value=disk.total)

    def _plc_acks(self) -> Iterator[Metric]:
        """Every PLC key appears, with the service's start as its last ack until it acknowledges."""
        stores, now = self._context.stores, time.time()
        acks = {key.name: (0, self._started_at) for key in self._context.settings.api_keys if key.role == Role.PLC}
        acks.update(stores.acks.all())
        last_seq = stores.decisions.last_seq()
        unacked = GaugeMetricFamily("gaikan_plc_unacked_decisions", "Decisions a PLC client has not acknowledged yet", labels=["client"])
        age = GaugeMetricFamily(
            "gaikan_plc_ack_age_seconds",
            "Seconds since the PLC client last acknowledged (since the service started, if it never has)",
            labels=["client"],
        )
        for client, (seq, at) in acks.items():
            unacked.add_metric([client], max(last_seq - seq, 0))
            age.add_metric([client], max(now - at, 0.0))
        yield unacked
        yield age


class MetricsService:
    def __init__(self, context: ApiContext) -> None:
        self._line = context.line
        self._registry = CollectorRegistry(auto_describe=True)
        self._registry.register(_LineHealth(context))

    def exposition(self) -> bytes:
        snapshot = self._line.snapshot
        return (snapshot.metrics if snapshot else b"") + generate_latest(self._registry)
