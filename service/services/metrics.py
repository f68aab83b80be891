"""`GET /metrics`: the line process's own metrics (carried by its snapshot) plus what the API
process knows about the line: is it up, how often it was restarted, why it is fail-safe, the
camera's state, the data disk, and the PLC clients' gauges (service/plc/metrics.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gaikan.service.metrics import exposition
from gaikan.service.plc.metrics import gauge_families, plc_metric_families, register_plc_metrics
from gaikan.service.services.context import ApiContext, line_state
from gaikan.service.settings import Role


# name, help, labels: the gauges the API process computes when scraped.
API_GAUGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("gaikan_line_up", "1 while the line process runs and reports", ()),
    ("gaikan_line_restarts", "Line process restarts by the watchdog", ()),
    ("gaikan_fail_safe", "1 for each reason every part is rejected now", ("reason",)),
    ("gaikan_camera_state", "1 for the camera's current state", ("camera", "state")),
    ("gaikan_data_disk_free_bytes", "Free space on the data directory's file system", ()),
    ("gaikan_data_disk_size_bytes", "Size of the data directory's file system", ()),
    ("gaikan_mqtt_connected", "1 while connected to the MQTT broker ([mqtt] enabled only)", ()),
    ("gaikan_mqtt_unpublished_decisions", "Decisions stored and not yet confirmed by the MQTT broker", ()),
    ("gaikan_mqtt_published_seq", "Every decision up to this seq is confirmed by the MQTT broker", ()),
)


def line_health_families() -> dict[str, GaugeMetricFamily]:
    """The API process's gauges about the line, empty (describe them, or fill them when scraped)."""
    return gauge_families(API_GAUGES)


def api_metric_families() -> dict[str, GaugeMetricFamily]:
    """Every gauge the API process computes when scraped (the line's, the PLC clients'), empty."""
    return {**line_health_families(), **plc_metric_families()}


class _LineHealth(Collector):
    """Gauges computed when scraped (the alert rules in deploy/prometheus/alerts.yml read them)."""

    def __init__(self, context: ApiContext) -> None:
        self._context = context

    def describe(self) -> Iterator[Metric]:
        return iter(line_health_families().values())

    def collect(self) -> Iterator[Metric]:
        families, context = line_health_families(), self._context
        line = context.line
        families["gaikan_line_up"].add_metric([], float(line.alive))
        families["gaikan_line_restarts"].add_metric([], float(line.restarts))
        for reason in line_state(line, context.mqtt).fail_safe:
            families["gaikan_fail_safe"].add_metric([reason], 1.0)
        snapshot = line.snapshot
        for camera in (snapshot.cameras or ((snapshot.camera,) if snapshot.camera else ())) if snapshot is not None else ():
            families["gaikan_camera_state"].add_metric([camera.camera_id, camera.state if line.alive else "unknown"], 1.0)
        disk = shutil.disk_usage(context.settings.data_dir)
        families["gaikan_data_disk_free_bytes"].add_metric([], disk.free)
        families["gaikan_data_disk_size_bytes"].add_metric([], disk.total)
        if context.mqtt is not None:
            mqtt = context.mqtt.status()
            families["gaikan_mqtt_connected"].add_metric([], float(mqtt.connected))
            families["gaikan_mqtt_unpublished_decisions"].add_metric([], float(mqtt.pending))
            families["gaikan_mqtt_published_seq"].add_metric([], float(mqtt.published_seq))
        return iter(families.values())


class MetricsService:
    def __init__(self, context: ApiContext) -> None:
        self._line = context.line
        self._line_id = context.settings.line_id
        self._registry = CollectorRegistry(auto_describe=True)
        self._registry.register(_LineHealth(context))
        plc_keys = tuple(key.name for key in context.settings.api_keys if key.role == Role.PLC)
        register_plc_metrics(self._registry, context.reject, plc_keys)

    def exposition(self) -> bytes:
        snapshot = self._line.snapshot
        return (snapshot.metrics if snapshot else b"") + exposition(self._registry, line=self._line_id)
