"""A station at run time: its cameras' view decisions are matched to parts (`ViewMatcher`), each
part's decision is fused from its views (`service/fusion.py`) and handed on (the recorder) once
every view is in, or, fail-safe, when the part's deadline passes with a view missing."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from gaikan.models.thresholds import OUTCOMES
from gaikan.service.evidence import Evidence, PartEvidence
from gaikan.service.fusion import fuse, missing_view
from gaikan.service.metrics import Metrics
from gaikan.service.pipeline import Sink
from gaikan.service.records import DecisionRecord, ViewResult
from gaikan.service.stations import StationConfig
from gaikan.service.workers import Worker

log = logging.getLogger(__name__)

Submit = Callable[[DecisionRecord, PartEvidence | None], None]

CLOSED_KEYS_KEPT = 4096  # part ids remembered after their decision, to recognise a late view


@dataclass(slots=True)
class OpenPart:
    key: str
    first_captured: float  # wall clock, the earliest view's capture
    deadline: float  # monotonic
    views: dict[str, tuple[DecisionRecord, Evidence | None]] = field(default_factory=dict)


class ViewMatcher:
    """Which part a view's decision belongs to. Not thread-safe (the station holds a lock).

    `part_id`: the view's part key names the part. `arrival`: the view joins the oldest open
    part that lacks it and whose first view was captured within `window_s` of it; else it opens
    a new part."""

    def __init__(self, views: list[str], *, match: str, window_s: float, deadline_s: float) -> None:
        self.views = list(views)
        self.match = match
        self.window_s = window_s
        self.deadline_s = deadline_s
        self._open: OrderedDict[str, OpenPart] = OrderedDict()
        self._closed: OrderedDict[str, None] = OrderedDict()
        self._numbers = itertools.count(1)

    def __len__(self) -> int:
        return len(self._open)

    def add(self, view: str, key: str | None, record: DecisionRecord, evidence: Evidence | None, now_mono: float) -> OpenPart | None | bool:
        """File a view's decision. Returns the part when this view completed it, False when the
        view is late (its part was already decided), None otherwise."""
        part = self._part_for(view, key, record.captured_at, now_mono)
        if part is None:
            return False
        part.views[view] = (record, evidence)
        part.first_captured = min(part.first_captured, record.captured_at)
        if len(part.views) == len(self.views):
            self._close(part)
            return part
        return None

    def _part_for(self, view: str, key: str | None, captured_at: float, now_mono: float) -> OpenPart | None:
        if self.match == "part_id" and key is not None:
            if key in self._closed:
                return None
            part = self._open.get(key)
            if part is not None and view not in part.views:
                return part
            if part is not None:  # the same view twice for one part id: the part restarts
                key = f"{key}.{next(self._numbers)}"
        else:
            for part in self._open.values():
                if view not in part.views and abs(captured_at - part.first_captured) <= self.window_s:
                    return part
            key = str(next(self._numbers))
        deadline = now_mono + max(captured_at + self.deadline_s - time.time(), 0.0)
        part = OpenPart(key=key, first_captured=captured_at, deadline=deadline)
        self._open[key] = part
        return part

    def expired(self, now_mono: float) -> list[OpenPart]:
        """Parts whose deadline passed with a view missing (they are closed)."""
        due = [part for part in self._open.values() if part.deadline <= now_mono]
        for part in due:
            self._close(part)
        return due

    def drain(self) -> list[OpenPart]:
        """Every open part (closed): at stop."""
        parts = list(self._open.values())
        for part in parts:
            self._close(part)
        return parts

    def next_deadline(self) -> float | None:
        return min((part.deadline for part in self._open.values()), default=None)

    def _close(self, part: OpenPart) -> None:
        self._open.pop(part.key, None)
        self._closed[part.key] = None
        while len(self._closed) > CLOSED_KEYS_KEPT:
            self._closed.popitem(last=False)


@dataclass(slots=True)
class StationCounters:
    parts: int = 0
    missing: int = 0  # parts rejected with a view missing
    late_views: int = 0
    recent_latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=512))
    recent_decisions: deque[float] = field(default_factory=lambda: deque(maxlen=512))  # monotonic


class Station:
    """Matches, fuses and hands on the part decisions of one station."""

    def __init__(
        self,
        config: StationConfig,
        submit: Submit,
        metrics: Metrics,
        *,
        deadline_ms: float,
        run_id: str = "",
        camera_error: Callable[[str], str | None] = lambda _camera: None,
    ) -> None:
        self.config = config
        self.station_id = config.station_id
        self.deadline_ms = config.deadline_ms or deadline_ms
        self._submit = submit
        self._metrics = metrics
        self._run_id = run_id
        self._camera_error = camera_error
        self._cameras = {view.name: view.camera for view in config.views}
        self._lock = threading.Lock()
        self._matcher = ViewMatcher(
            [view.name for view in config.views], match=config.match, window_s=config.window_ms / 1000.0, deadline_s=self.deadline_ms / 1000.0
        )
        self.counters = StationCounters()
        self._worker = Worker(f"gaikan-station-{config.station_id}", self._deadline_loop)

    @property
    def open_parts(self) -> int:
        with self._lock:
            return len(self._matcher)

    def sink(self, camera_id: str) -> Sink:
        """Where the pipeline of `camera_id` hands its decisions."""
        view = next(view.name for view in self.config.views if view.camera == camera_id)
        return lambda record, evidence, key: self.receive(view, record, evidence, key)

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        """Stop watching deadlines; parts still missing a view are rejected."""
        self._worker.stop()
        with self._lock:
            parts = self._matcher.drain()
        for part in parts:
            self._decide(part, missing_detail="the line stopped before this view was decided")

    def receive(self, view: str, record: DecisionRecord, evidence: Evidence | None, key: str | None) -> None:
        if key is None:
            return  # a camera fault without a part: the parts that lack this view are rejected at their deadline
        with self._lock:
            result = self._matcher.add(view, key, record, evidence, time.monotonic())
        if result is False:
            self.counters.late_views += 1
            self._metrics.station_late_views.labels(station=self.station_id, view=view).inc()
            log.warning("station %s: view %s of part %s came after the part was decided", self.station_id, view, key)
        elif result is not None:
            self._decide(result)

    def _deadline_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            with self._lock:
                due = self._matcher.expired(time.monotonic())
                next_deadline = self._matcher.next_deadline()
            for part in due:
                self._decide(part)
            wait = 0.02 if next_deadline is None else min(0.02, max(next_deadline - time.monotonic(), 0.001))
            stop.wait(wait)

    def _decide(self, part: OpenPart, *, missing_detail: str | None = None) -> None:
        views: list[ViewResult] = []
        for name, camera in self._cameras.items():
            got = part.views.get(name)
            if got is None:
                fault = self._camera_error(camera)
                detail = missing_detail or f"no decision within the {self.deadline_ms:.0f} ms deadline (missing or late)"
                views.append(missing_view(name, camera, f"{detail}; camera fault: {fault}" if fault else detail))
                continue
            record = got[0]
            views.append(
                ViewResult(
                    view=name,
                    camera_id=record.camera_id,
                    frame_id=record.frame_id,
                    decision=record.decision,
                    reason=record.reason,
                    score=record.score,
                    model_version=record.model_version,
                    latency_ms=round(record.latency_ms, 3),
                    detail=record.detail,
                )
            )
        verdict = fuse(views)
        records = [got[0] for got in part.views.values()]
        decided_at = max(time.time(), part.first_captured)
        scores = [view.score for view in views if view.score is not None]
        versions = {view.model_version for view in views}
        thresholds = {record.thresholds for record in records}
        record = DecisionRecord(
            frame_id=f"{self.station_id}:{part.key}:{self._run_id}".rstrip(":"),
            camera_id=self.station_id,
            captured_at=part.first_captured,
            decided_at=decided_at,
            decision=verdict.outcome,
            reason=verdict.reason,
            score=max(scores) if scores else None,
            model_version=versions.pop() if len(versions) == 1 else None,
            thresholds=thresholds.pop() if len(thresholds) == 1 and len(records) == len(views) else None,
            detail=verdict.detail,
            stages_ms={"views": len(records), "last_view_ms": max((r.decided_at - part.first_captured) * 1000 for r in records)} if records else {},
            source=",".join(r.source for r in records if r.source) or None,
            views=tuple(views),
        )
        self.counters.parts += 1
        if len(records) < len(views):
            self.counters.missing += 1
        self.counters.recent_latencies_ms.append(record.latency_ms)
        self.counters.recent_decisions.append(time.monotonic())
        self._metrics.station_parts.labels(station=self.station_id, decision=record.decision.value, reason=record.reason.value).inc()
        self._submit(record, self._evidence(part, views))

    @staticmethod
    def _evidence(part: OpenPart, views: list[ViewResult]) -> PartEvidence | None:
        """Every view's pictures, in the station's order; the part is shown by those of the view
        that decided it (the most severe with pictures, the first on a tie)."""
        kept = [(view, evidence) for view in views if (evidence := part.views.get(view.view, (None, None))[1]) is not None]
        if not kept:
            return None
        decisive = max(kept, key=lambda item: OUTCOMES.index(item[0].decision))[0]
        return PartEvidence(tuple((view.view, evidence) for view, evidence in kept), decisive.view)
