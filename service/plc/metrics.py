"""Every PLC gauge of /metrics, computed from the reject stream at each scrape, in one collector:
liveness (`gaikan_plc_silent`, `gaikan_plc_acked_seq`) for the clients the stream watches or has
seen, and acknowledgement lag (`gaikan_plc_unacked_decisions`, `gaikan_plc_ack_age_seconds`) for
every PLC key and every client that ever acknowledged."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gaikan.service.reject_stream import RejectStream

# name, help, labels
PLC_GAUGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("gaikan_plc_silent", "1 while a PLC client has not polled or acknowledged for longer than [plc] silence_s", ("client",)),
    ("gaikan_plc_acked_seq", "The client's acknowledged seq", ("client",)),
    ("gaikan_plc_unacked_decisions", "Decisions a PLC client has not acknowledged yet", ("client",)),
    (
        "gaikan_plc_ack_age_seconds",
        "Seconds since the PLC client last acknowledged (since the service started, if it never has)",
        ("client",),
    ),
)


def gauge_families(gauges: tuple[tuple[str, str, tuple[str, ...]], ...]) -> dict[str, GaugeMetricFamily]:
    """Empty gauge families from a (name, help, labels) table: describe them, or fill them when scraped."""
    return {name: GaugeMetricFamily(name, text, labels=list(labels)) for name, text, labels in gauges}


def plc_metric_families() -> dict[str, GaugeMetricFamily]:
    return gauge_families(PLC_GAUGES)


class PlcCollector(Collector):
    def __init__(self, stream: RejectStream, plc_keys: tuple[str, ...] = ()) -> None:
        """`plc_keys`: the names of the PLC role's API keys, reported before they first acknowledge."""
        self._stream = stream
        self._plc_keys = plc_keys
        self._started_at = time.time()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = plc_metric_families()
        last_seq = self._stream.last_seq()
        for client in self._stream.liveness(last_seq):
            families["gaikan_plc_silent"].add_metric([client.client], 1.0 if client.silent_for_s is not None else 0.0)
            families["gaikan_plc_acked_seq"].add_metric([client.client], float(client.acked_seq))
        now = time.time()
        acks = {key: (0, self._started_at) for key in self._plc_keys}
        acks.update(self._stream.acknowledgements())
        for client, (seq, at) in acks.items():
            families["gaikan_plc_unacked_decisions"].add_metric([client], max(last_seq - seq, 0))
            families["gaikan_plc_ack_age_seconds"].add_metric([client], max(now - at, 0.0))
        yield from families.values()

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(plc_metric_families().values())


def register_plc_metrics(registry: CollectorRegistry, stream: RejectStream, plc_keys: tuple[str, ...] = ()) -> None:
    registry.register(PlcCollector(stream, plc_keys))
