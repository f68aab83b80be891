"""`GET /metrics`: the line process's own metrics (carried by its snapshot) plus what the API
process knows about the line: is it up, how often it was restarted, why it is fail-safe."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gaikan.service.services.context import ApiContext


class _LineHealth(Collector):
    def __init__(self, context: ApiContext) -> None:
        self._line = context.line

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("gaikan_line_up", "1 while the line process runs and reports", value=float(self._line.alive))
        yield GaugeMetricFamily("gaikan_line_restarts", "Line process restarts by the watchdog", value=float(self._line.restarts))
        reasons = GaugeMetricFamily("gaikan_fail_safe", "1 for each reason every part is rejected now", labels=["reason"])
        for reason in self._line.fail_safe_reasons():
            reasons.add_metric([reason], 1.0)
        yield reasons


class MetricsService:
    def __init__(self, context: ApiContext) -> None:
        self._line = context.line
        self._registry = CollectorRegistry(auto_describe=True)
        self._registry.register(_LineHealth(context))

    def exposition(self) -> bytes:
        snapshot = self._line.snapshot
        return (snapshot.metrics if snapshot else b"") + generate_latest(self._registry)
