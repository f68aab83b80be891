"""The line: acquisition → bounded queue → inference (micro-batched) → decision → recorder.

Three threads run at their own pace:
- acquisition reads the camera and queues frames (what overflows is counted, never silent);
- inference takes what is queued (up to `max_batch` at once), scores it with the one active
  model it picked up for the batch, and decides;
- the watchdog rejects any part whose deadline passes before it was decided.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from gaikan.camera.frame import Frame
from gaikan.camera.source import FrameSource, FramesLost
from gaikan.models.preprocess import prepare_batch
from gaikan.service.decision import Outcome, Reason, Verdict, decide, fail_safe
from gaikan.service.evidence import Evidence
from gaikan.service.metrics import Metrics
from gaikan.service.records import DecisionRecord
from gaikan.service.recorder import Recorder
from gaikan.service.registry import ActiveModel, ModelRegistry
from gaikan.service.shadow import ShadowRunner
from gaikan.service.tracker import PartTracker, PendingPart
from gaikan.service.workers import Worker, stop_all

log = logging.getLogger(__name__)


class Overflow(enum.StrEnum):
    """What happens to a new frame when the inference queue is full."""

    DROP_OLDEST = "drop_oldest"  # free-run camera: the oldest queued frame is dropped and counted
    BLOCK = "block"  # replay as fast as the pipeline takes: acquisition waits
    REJECT = "reject"  # triggered: every frame is a part; one that cannot queue is rejected (timeout)


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    queue_size: int = 8
    max_batch: int = 4
    deadline_ms: float = 1000.0
    read_timeout_s: float = 0.5
    overflow: Overflow = Overflow.DROP_OLDEST
    fault_retry_s: float = 0.2
    run_id: str = ""  # part of every frame id, so frame ids stay unique across restarts


@dataclass(slots=True)
class PipelineCounters:
    frames: int = 0
    dropped: int = 0
    decided: int = 0
    timeouts: int = 0
    camera_faults: int = 0
    lost: int = 0
    batches: int = 0
    last_batch_size: int = 0
    recent_latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=512))
    recent_decisions: deque[float] = field(default_factory=lambda: deque(maxlen=512))
    recent_frames: deque[float] = field(default_factory=lambda: deque(maxlen=512))

    @staticmethod
    def rate(times: deque[float], window_s: float = 10.0) -> float:
        """Events per second over the last `window_s` seconds (monotonic timestamps)."""
        now = time.monotonic()
        recent = [t for t in list(times) if now - t <= window_s]
        return len(recent) / window_s


class Pipeline:
    def __init__(
        self,
        source: FrameSource,
        registry: ModelRegistry,
        recorder: Recorder,
        metrics: Metrics,
        config: PipelineConfig = PipelineConfig(),
        shadow: ShadowRunner | None = None,
    ) -> None:
        self.source = source
        self._shadow = shadow
        self._registry = registry
        self._recorder = recorder
        self._metrics = metrics
        self.config = config
        self._queue: deque[Frame] = deque()
        self._queue_lock = threading.Condition()
        self._tracker = PartTracker()
        self._stop = threading.Event()
        self.counters = PipelineCounters()
        self._camera_error: str | None = None
        self._camera_faulted = False
        self._inference_started: float | None = None  # monotonic start of the session.run in progress
        self._workers = [
            Worker("gaikan-acquisition", self._acquire_loop),
            Worker("gaikan-inference", self._inference_loop, wake=self._wake),
            Worker("gaikan-deadlines", self._watchdog_loop),
        ]

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._stop = threading.Event()
        for worker in self._workers:
            worker.start(self._stop)  # one stop signal for the three stages

    def _wake(self) -> None:
        with self._queue_lock:
            self._queue_lock.notify_all()

    def stop(self) -> None:
        """Stop acquiring, decide what is in flight, stop the camera."""
        stop_all(self._workers)
        try:
            self.source.stop()
        except Exception:
            log.exception("stopping the camera failed")

    @property
    def running(self) -> bool:
        """Every stage is alive (acquisition ends when a finite source is exhausted)."""
        return all(worker.alive for worker in self._workers)

    def inference_busy_s(self) -> float:
        """How long the model call in progress has been running (0 when none is): a hung
        `session.run` shows here while the other stages keep going."""
        started = self._inference_started
        return 0.0 if started is None else time.monotonic() - started

    @property
    def camera_faulted(self) -> bool:
        return self._camera_faulted

    @property
    def camera_error(self) -> str | None:
        return self._camera_error

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    @property
    def in_flight(self) -> int:
        return len(self._tracker)

    # -- acquisition -----------------------------------------------------------------------
    def _acquire_loop(self, _: threading.Event) -> None:
        needs_start, retry_s = True, self.config.fault_retry_s
        while not self._stop.is_set():
            try:
                if needs_start:
                    self.source.start()  # sources reconnect inside read() once started
                    needs_start, retry_s = False, self.config.fault_retry_s
                frame = self.source.read(self.config.read_timeout_s)
            except EOFError:
                log.info("camera %s: source ended", self.source.camera_id)
                break
            except FramesLost as lost:
                self._on_frames_lost(lost)
                continue
            except Exception as error:  # CameraFault, configuration errors, driver errors: reject, retry
                self._on_camera_fault(f"camera did not start: {error}" if needs_start else str(error))
                self._stop.wait(retry_s)
                if needs_start:
                    retry_s = min(retry_s * 2, 5.0)
                continue
            self._sync_camera_metrics()
            if frame is None:
                continue
            if self._camera_faulted:
                log.info("camera %s recovered", self.source.camera_id)
                self._camera_faulted = False
                self._camera_error = None
            self._accept(frame)

    def _on_frames_lost(self, lost: FramesLost) -> None:
        """Parts the camera captured but could not deliver: each one is a fail-safe reject."""
        log.warning("camera %s lost %d frame(s): %s", self.source.camera_id, lost.count, lost)
        self._sync_camera_metrics()
        for _ in range(max(lost.count, 1)):
            self.counters.lost += 1
            self._emit_camera_fault(f"lost-{self.counters.lost}", f"frame lost before inspection: {lost}")

    def _on_camera_fault(self, message: str) -> None:
        """The first failure of an outage emits one fail-safe reject so the PLC's stream shows it;
        the heartbeat reports the fault until the camera recovers."""
        self._camera_error = message
        self._sync_camera_metrics()
        if self._camera_faulted:
            return
        self._camera_faulted = True
        self.counters.camera_faults += 1
        log.warning("camera %s fault: %s", self.source.camera_id, message)
        self._emit_camera_fault(f"fault-{self.counters.camera_faults}", message)

    def _emit_camera_fault(self, event: str, detail: str) -> None:
        """A camera_fault reject for a part the camera could not deliver (`<camera>:<event>:<run>`)."""
        now = time.time()
        self._emit(
            DecisionRecord(
                frame_id=f"{self.source.camera_id}:{event}:{self.config.run_id}".rstrip(":"),
                camera_id=self.source.camera_id,
                captured_at=now,
                decided_at=now,
                decision=Outcome.REJECT,
                reason=Reason.CAMERA_FAULT,
                detail=detail,
            )
        )

    def _sync_camera_metrics(self) -> None:
        stats = self.source.stats
        camera = self.source.camera_id
        self._metrics.camera_reconnects.labels(camera=camera).set(stats.reconnects)
        self._metrics.camera_timeouts.labels(camera=camera).set(stats.timeouts)
        self._metrics.camera_dropped.labels(camera=camera).set(stats.dropped)
        self._metrics.camera_lost.labels(camera=camera).set(stats.lost)
        self._metrics.camera_faults.labels(camera=camera).set(stats.faults)

    def _accept(self, frame: Frame) -> None:
        if self.config.run_id:
            frame = replace(frame, run_id=self.config.run_id)
        self.counters.frames += 1
        self.counters.recent_frames.append(time.monotonic())
        self._metrics.frames.labels(camera=frame.camera_id).inc()
        part = PendingPart(
            frame_id=frame.frame_id,
            camera_id=frame.camera_id,
            captured_at=frame.captured_at,
            deadline=frame.captured_monotonic + self.config.deadline_ms / 1000.0,
            source=frame.metadata.get("source"),
        )
        with self._queue_lock:
            if len(self._queue) >= self.config.queue_size:
                if self.config.overflow is Overflow.BLOCK:
                    while len(self._queue) >= self.config.queue_size and not self._stop.is_set():
                        self._queue_lock.wait(0.1)
                elif self.config.overflow is Overflow.DROP_OLDEST:
                    dropped = self._queue.popleft()
                    self._tracker.claim(dropped.frame_id)  # a dropped free-run frame is not a part
                    self.counters.dropped += 1
                    self._metrics.drops.labels(camera=dropped.camera_id).inc()
                else:
                    self._emit_part(part, fail_safe(Reason.TIMEOUT, "inference queue full: part could not be inspected in time"))
                    return
            self._tracker.register(part)
            self._queue.append(frame)
            self._metrics.queue_depth.set(len(self._queue))
            self._queue_lock.notify_all()

    # -- inference -------------------------------------------------------------------------
    def _take_batch(self) -> list[Frame]:
        with self._queue_lock:
            while not self._queue and not self._stop.is_set():
                self._queue_lock.wait(0.1)
            batch = [self._queue.popleft() for _ in range(min(self.config.max_batch, len(self._queue)))]
            self._metrics.queue_depth.set(len(self._queue))
            self._queue_lock.notify_all()
        return batch

    def _inference_loop(self, _: threading.Event) -> None:
        while not self._stop.is_set() or self._queue:
            batch = self._take_batch()
            if not batch:
                continue
            batch = [frame for frame in batch if self._tracker.is_pending(frame.frame_id)]
            if batch:
                try:
                    self._score(batch)
                except Exception as error:  # never let a bug pass a part: reject and carry on
                    log.exception("inference stage failed")
                    for frame in batch:
                        self._finish_frame(frame, fail_safe(Reason.ERROR, f"pipeline error: {error}"))

    def _score(self, frames: list[Frame]) -> None:
        active = self._registry.active  # one model and one set of thresholds for the whole batch
        started = time.monotonic()
        if active is None:
            for frame in frames:
                self._finish_frame(frame, fail_safe(Reason.NO_MODEL, "no active model"))
            return
        try:
            batch = prepare_batch([frame.pixels for frame in frames], active.model.manifest.input)
            self._inference_started = started
            try:
                result = active.model.run(batch)
            finally:
                self._inference_started = None
        except Exception as error:
            log.exception("inference failed with model %s", active.version)
            for frame in frames:
                self._finish_frame(frame, fail_safe(Reason.ERROR, f"inference failed: {error}"), active=active)
            return
        inference_s = time.monotonic() - started
        self.counters.batches += 1
        self.counters.last_batch_size = len(frames)
        self._metrics.stage_latency.labels(stage="inference").observe(inference_s)
        outcomes: list[Outcome] = []
        for index, frame in enumerate(frames):
            score = float(result.scores[index])
            verdict = decide(score, active.thresholds)
            anomaly_map = result.maps[index]
            if verdict.reason is Reason.SCORE and not np.all(np.isfinite(anomaly_map)):
                verdict = fail_safe(Reason.ERROR, "model returned a non-finite anomaly map")
            outcomes.append(verdict.outcome)
            self._finish_frame(
                frame,
                verdict,
                active=active,
                score=score,
                anomaly_map=anomaly_map,
                stages={"queue_ms": (started - frame.captured_monotonic) * 1000, "inference_ms": inference_s * 1000, "batch": len(frames)},
            )
        if self._shadow is not None:
            self._shadow.submit([f.pixels for f in frames], outcomes, [float(s) for s in result.scores])

    def _finish_frame(
        self,
        frame: Frame,
        verdict: Verdict,
        *,
        active: ActiveModel | None = None,
        score: float | None = None,
        anomaly_map: np.ndarray | None = None,
        stages: dict[str, float] | None = None,
    ) -> None:
        if not self._tracker.claim(frame.frame_id):
            return  # the watchdog already rejected it for missing its deadline
        now_mono = time.monotonic()
        late_by = now_mono - (frame.captured_monotonic + self.config.deadline_ms / 1000.0)
        if late_by > 0:
            verdict = fail_safe(
                Reason.TIMEOUT,
                f"decided {(now_mono - frame.captured_monotonic) * 1000:.0f} ms after capture; deadline {self.config.deadline_ms:.0f} ms",
            )
        # The decision time is measured on the monotonic clock from capture, so a wall-clock step
        # cannot make a latency negative.
        decided_at = frame.captured_at + (now_mono - frame.captured_monotonic)
        self._metrics.stage_latency.labels(stage="decision").observe(now_mono - frame.captured_monotonic)
        if score is not None and not np.isfinite(score):
            score = None
        record = DecisionRecord(
            frame_id=frame.frame_id,
            camera_id=frame.camera_id,
            captured_at=frame.captured_at,
            decided_at=decided_at,
            decision=verdict.outcome,
            reason=verdict.reason,
            score=score,
            model_version=active.version if active else None,
            thresholds=active.thresholds if active else None,
            detail=verdict.detail,
            stages_ms=stages or {},
            source=frame.metadata.get("source"),
        )
        evidence = Evidence(
            pixels=frame.pixels,
            anomaly_map=anomaly_map,
            input_spec=active.model.manifest.input if active else None,
            vmax=active.thresholds.reject if active else None,
        )
        self._emit(record, evidence)

    def _emit_part(self, part: PendingPart, verdict: Verdict) -> None:
        """Decide a part that never reached the model (deadline passed, queue full); the caller
        holds the claim on it."""
        now = time.time()
        self._emit(
            DecisionRecord(
                frame_id=part.frame_id,
                camera_id=part.camera_id,
                captured_at=part.captured_at,
                decided_at=max(now, part.captured_at),
                decision=verdict.outcome,
                reason=verdict.reason,
                detail=verdict.detail,
                source=part.source,
            )
        )

    def _emit(self, record: DecisionRecord, evidence: Evidence | None = None) -> None:
        self.counters.decided += 1
        if record.reason is Reason.TIMEOUT:
            self.counters.timeouts += 1
        self.counters.recent_latencies_ms.append(record.latency_ms)
        self.counters.recent_decisions.append(time.monotonic())
        self._recorder.submit(record, evidence)

    # -- deadlines -------------------------------------------------------------------------
    def _watchdog_loop(self, _: threading.Event) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for part in self._tracker.claim_expired(now):
                self._emit_part(
                    part,
                    fail_safe(Reason.TIMEOUT, f"no decision within the {self.config.deadline_ms:.0f} ms deadline"),
                )
            next_deadline = self._tracker.next_deadline()
            wait = 0.05 if next_deadline is None else min(0.05, max(next_deadline - time.monotonic(), 0.001))
            self._stop.wait(wait)
