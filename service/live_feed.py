"""The API process's view of the decision stream: fans stored decisions and model swaps out to
SSE subscribers, remembers the last decision and keeps the all-time counts by outcome.

Each event is published already encoded as Server-Sent Events text, once, whatever the number of
subscribers."""

from __future__ import annotations

import json
import threading

from gaikan.service.api.schemas import DecisionOut
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


def sse_text(kind: str, data: str) -> str:
    """One Server-Sent Event."""
    return f"event: {kind}\ndata: {data}\n\n"


class LiveFeed:
    def __init__(self, counts: dict[str, int]) -> None:
        self.events = EventHub()  # carries SSE text
        self.tally = OutcomeTally(counts)
        self.last_decision: StoredDecision | None = None

    def reset(self, counts: dict[str, int], last: StoredDecision | None) -> None:
        """Start again from the store (a new line process: what a crashed one stored unstreamed counts too)."""
        self.tally.reset(counts)
        if last is not None and (self.last_decision is None or last.seq > self.last_decision.seq):
            self.last_decision = last

    @property
    def last_seq(self) -> int:
        """The newest decision streamed (or found in the store at the line's start); 0 before any."""
        last = self.last_decision
        return last.seq if last is not None else 0

    def on_decision(self, event: DecisionStored) -> None:
        self.last_decision = event.decision
        self.tally.add(event.decision.record.decision.value)
        if self.events.has_subscribers:  # encoded on the thread that forwards the line's decisions: only when read
            self.events.publish(sse_text("decision", DecisionOut.of(event.decision).model_dump_json()))

    def on_model(self, event: ModelSwapped) -> None:
        self.events.publish(sse_text("model", json.dumps({"version": event.version})))
