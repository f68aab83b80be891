"""Prometheus gauges for PLC liveness, computed from the reject stream at each scrape (the
decisions each client has not acknowledged are `gaikan_plc_unacked_decisions`, see
service/services/metrics.py)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gaikan.service.reject_stream import RejectStream


class PlcLivenessCollector(Collector):
    def __init__(self, stream: RejectStream) -> None:
        self._stream = stream

    def collect(self) -> Iterator[GaugeMetricFamily]:
        silent = GaugeMetricFamily(
            "gaikan_plc_silent", "1 while a PLC client has not polled or acknowledged for longer than [plc] silence_s", labels=["client"]
        )
        acked = GaugeMetricFamily("gaikan_plc_acked_seq", "The client's acknowledged seq", labels=["client"])
        for client in self._stream.liveness():
            silent.add_metric([client.client], 1.0 if client.silent_for_s is not None else 0.0)
            acked.add_metric([client.client], float(client.acked_seq))
        yield from (silent, acked)

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # computed at scrape time; nothing to check at registration


def register_plc_metrics(registry: CollectorRegistry, stream: RejectStream) -> None:
    registry.register(PlcLivenessCollector(stream))
