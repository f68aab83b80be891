"""The API process's view of the decision stream: fans stored decisions and model swaps out to
SSE subscribers, remembers the last decision and keeps the all-time counts by outcome."""

from __future__ import annotations

import threading

from gaikan.service.events import EventHub
from gaikan.service.line_protocol import DecisionStored, ModelSwapped
from gaikan.service.records import StoredDecision


class OutcomeTally:
    """All-time decision counts by outcome: counted once from the store, then kept up to date as
    decisions arrive (a status request must not count millions of rows)."""

    def __init__(self, initial: dict[str, int]) -> None:
        self._lock = threading.Lock()
        self._counts = dict(initial)

    def reset(self, counts: dict[str, int]) -> None:
        with self._lock:
            self._counts = dict(counts)

    def add(self, outcome: str) -> None:
        with self._lock:
            self._counts[outcome] = self._counts.get(outcome, 0) + 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class LiveFeed:
    def __init__(self, counts: dict[str, int]) -> None:
        self.events = EventHub()
        self.tally = OutcomeTally(counts)
        self.last_decision: StoredDecision | None = None

    def on_decision(self, event: DecisionStored) -> None:
        self.last_decision = event.decision
        self.tally.add(event.decision.record.decision.value)
        self.events.publish({"type": "decision", "decision": event.decision})

    def on_model(self, event: ModelSwapped) -> None:
        self.events.publish({"type": "model", "version": event.version})
