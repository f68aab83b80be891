"""One camera's line: acquisition → bounded queue → inference (micro-batched) → decision → sink
(the recorder, or the station that fuses the views of a part).

Three threads run at their own pace:
- acquisition reads the camera, prepares each frame for the active model's input (resize, colour:
  OpenCV releases the interpreter lock, so this runs beside `session.run` on another core) and
  queues it (what overflows is counted, never silent);
- inference (`Inference`, possibly shared by several cameras that use the same model: one
  session, frames micro-batched fairly across the cameras, `service/batcher.py`) scores what is
  queued with the one model it picked up for the batch, and hands the scores to its decision
  thread, which decides with each camera's thresholds and passes the records on while the next
  `session.run` goes (the interpreter lock is free then);
- the watchdog rejects any part whose deadline passes before it was decided.
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from gaikan.camera.frame import Frame
from gaikan.camera.source import FrameSource, FramesLost
from gaikan.models.package import InputSpec
from gaikan.models.preprocess import prepare
from gaikan.models.runtime import OnnxModel
from gaikan.models.thresholds import Thresholds
from gaikan.service.batcher import Lane, MicroBatcher, Picked
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

# Where a camera's decisions go: (record, evidence, part key) — the key (the frame's part id, or
# its number: the trigger count) matches the views of one part; None for a camera fault.
Sink = Callable[[DecisionRecord, Evidence | None, str | None], None]


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


@dataclass(frozen=True, slots=True)
class Queued:
    """A frame waiting for inference, with its pixels prepared for the input `spec` of the model
    that was active when it was queued (None: not prepared; inference prepares it)."""

    frame: Frame
    spec: InputSpec | None = None
    prepared: np.ndarray | None = None

    def input_for(self, spec: InputSpec) -> np.ndarray:
        """The frame as `spec`'s input: prepared again if the active model's input changed since."""
        if self.prepared is not None and self.spec == spec:
            return self.prepared
        return prepare(self.frame.pixels, spec)


@dataclass(frozen=True, slots=True)
class Scored:
    """One model call's results, from the inference thread to the decision thread."""

    active: ActiveModel
    jobs: list[tuple[Pipeline, Frame]]
    scores: np.ndarray
    maps: np.ndarray
    started: float  # monotonic, when the call's preparation began
    inference_s: float


def frames_per_run(model: OnnxModel, available: int) -> int:
    """How many frames go into one `session.run`: what a fixed batch axis says; one on the CPU
    (there a batch costs more per frame than single frames: the demo model 23.5 ms at batch 1,
    32 ms at batch 4 per frame, one intra-op thread); else all (an accelerator amortises the call)."""
    fixed = model.session.get_inputs()[0].shape[0]
    if isinstance(fixed, int) and fixed > 0:
        return fixed
    if model.session.get_providers() == ["CPUExecutionProvider"]:
        return 1
    return available


def part_key(frame: Frame) -> str:
    """Which part a frame shows, for matching the views of a station: the part id a source
    reports (`metadata["part_id"]`), else the frame number (cameras on one trigger count alike)."""
    return frame.metadata.get("part_id") or str(frame.frame_number)


class Inference:
    """The inference stage of the cameras that share one model: one worker, one session, frames
    micro-batched across the cameras' lanes. A graph whose batch axis is fixed at 1 is scored frame
    by frame."""

    def __init__(
        self,
        name: str,
        model: Callable[[], ActiveModel | None],
        metrics: Metrics,
        *,
        max_batch: int,
        shadow: ShadowRunner | None = None,
    ) -> None:
        self.name = name
        self._model = model
        self._metrics = metrics
        self._shadow = shadow
        self._owners: dict[int, Pipeline] = {}
        self._started: float | None = None  # monotonic start of the session.run in progress
        self._recent_run_s: deque[float] = deque(maxlen=8)  # model call time per frame, last calls
        self.batcher: MicroBatcher[Queued] = MicroBatcher(
            name, max_batch=max_batch, captured=lambda item: item.frame.captured_monotonic, score=self._score_batch
        )
        self._scored: queue.SimpleQueue[Scored | None] = queue.SimpleQueue()
        self._decider = Worker(f"gaikan-decisions-{name}", self._decide_loop, wake=lambda: self._scored.put(None))

    def attach(self, pipeline: Pipeline) -> Lane[Queued]:
        lane = self.batcher.add_lane(pipeline.source.camera_id, pipeline.config.deadline_ms / 1000.0)
        self._owners[id(lane)] = pipeline
        return lane

    @property
    def model(self) -> ActiveModel | None:
        return self._model()

    def start(self) -> None:
        if not self._decider.alive:
            self._decider.start()
        self.batcher.start()

    def stop(self) -> None:
        """Score what is queued, decide what was scored, then end both threads."""
        self.batcher.stop()
        self._decider.stop()  # its stop marker queues behind the last results

    @property
    def running(self) -> bool:
        return self.batcher.running and self._decider.alive

    def busy_s(self) -> float:
        """How long the model call in progress has been running (0 when none is)."""
        started = self._started
        return 0.0 if started is None else time.monotonic() - started

    def _score_batch(self, picked: list[Picked[Queued]]) -> None:
        jobs = [(self._owners[id(lane)], item) for lane, item in picked]
        while jobs := [(pipeline, item) for pipeline, item in jobs if pipeline.is_pending(item.frame)]:  # not decided meanwhile
            chunk: list[tuple[Pipeline, Queued]] = []
            try:
                active = self._model()  # one model for the frames of one run; thresholds per camera
                if self._shed_late(jobs):
                    continue
                step = frames_per_run(active.model, len(jobs)) if active is not None else len(jobs)
                chunk, jobs = jobs[:step], jobs[step:]  # each run's frames decided as soon as it returns
                self._score(active, chunk)
            except Exception as error:  # never let a bug pass a part: reject and carry on
                log.exception("inference stage failed")
                for pipeline, item in [*chunk, *jobs]:
                    pipeline._finish_frame(item.frame, fail_safe(Reason.ERROR, f"pipeline error: {error}"))
                return

    def _shed_late(self, jobs: list[tuple[Pipeline, Queued]]) -> bool:
        """Reject now, as timeouts, the frames of the parts that cannot all be scored before their
        deadline (overload: scoring them would only make them late, and the frames behind them
        too); True when any was. The views of a part (one part key) go together: a part with one
        view late is rejected anyway, so its other views are not scored either."""
        if not self._recent_run_s:
            return False
        run_s = min(self._recent_run_s)  # the fastest recent call: a stall once does not shed parts that could make it
        now = time.monotonic()
        done_at: dict[str, float] = {}  # part key -> when its last view here would be scored
        for index, (_, item) in enumerate(jobs):
            done_at[part_key(item.frame)] = now + run_s * (index + 1)
        late = [
            (pipeline, item.frame)
            for pipeline, item in jobs
            if done_at[part_key(item.frame)] > item.frame.captured_monotonic + pipeline.config.deadline_ms / 1000.0
        ]
        for pipeline, frame in late:
            left_ms = max((frame.captured_monotonic + pipeline.config.deadline_ms / 1000.0 - now) * 1000, 0.0)
            detail = f"not scored: {left_ms:.0f} ms left before the deadline, its part's model calls take longer"
            pipeline._finish_frame(frame, fail_safe(Reason.TIMEOUT, detail))
        return bool(late)

    def _run(self, active: ActiveModel, items: list[Queued]) -> tuple[np.ndarray, np.ndarray]:
        spec = active.model.manifest.input
        batch = np.stack([item.input_for(spec) for item in items])
        self._started = started = time.monotonic()
        try:
            result = active.model.run(batch)
        finally:
            self._started = None
        self._recent_run_s.append((time.monotonic() - started) / len(items))
        return result.scores, result.maps

    def _score(self, active: ActiveModel | None, jobs: list[tuple[Pipeline, Queued]]) -> None:
        started = time.monotonic()
        decided = [(pipeline, item.frame) for pipeline, item in jobs]
        if active is None:
            for pipeline, frame in decided:
                pipeline._finish_frame(frame, fail_safe(Reason.NO_MODEL, "no active model"))
            return
        try:
            scores, maps = self._run(active, [item for _, item in jobs])
        except Exception as error:
            log.exception("inference failed with model %s", active.version)
            for pipeline, frame in decided:
                pipeline._finish_frame(frame, fail_safe(Reason.ERROR, f"inference failed: {error}"), active=pipeline.judged_by(active))
            return
        self._scored.put(Scored(active, decided, scores, maps, started, time.monotonic() - started))

    def _decide_loop(self, stop: threading.Event) -> None:
        while True:
            scored = self._scored.get()
            if scored is None:
                if stop.is_set():  # every result queued before the stop marker was decided
                    return
                continue
            try:
                self._decide(scored)
            except Exception as error:  # never let a bug pass a part: reject and carry on
                log.exception("decision stage failed")
                for pipeline, frame in scored.jobs:
                    pipeline._finish_frame(frame, fail_safe(Reason.ERROR, f"pipeline error: {error}"))

    def _decide(self, scored: Scored) -> None:
        active, jobs, started, inference_s = scored.active, scored.jobs, scored.started, scored.inference_s
        self._metrics.stage_latency.labels(stage="inference").observe(inference_s)
        self._metrics.batch_size.labels(model=active.version).observe(len(jobs))
        outcomes: list[Outcome] = []
        for index, (pipeline, frame) in enumerate(jobs):
            pipeline.counters.batches += 1
            pipeline.counters.last_batch_size = len(jobs)
            judged = pipeline.judged_by(active)
            score = float(scored.scores[index])
            verdict = decide(score, judged.thresholds)
            anomaly_map = scored.maps[index]
            if verdict.reason is Reason.SCORE and not np.all(np.isfinite(anomaly_map)):
                verdict = fail_safe(Reason.ERROR, "model returned a non-finite anomaly map")
            outcomes.append(verdict.outcome)
            pipeline._finish_frame(
                frame,
                verdict,
                active=judged,
                score=score,
                anomaly_map=anomaly_map,
                stages={"queue_ms": (started - frame.captured_monotonic) * 1000, "inference_ms": inference_s * 1000, "batch": len(jobs)},
            )
        if self._shadow is not None:
            self._shadow.submit([frame.pixels for _, frame in jobs], outcomes, [float(s) for s in scored.scores])


class Pipeline:
    def __init__(
        self,
        source: FrameSource,
        registry: ModelRegistry,
        recorder: Recorder,
        metrics: Metrics,
        config: PipelineConfig = PipelineConfig(),
        shadow: ShadowRunner | None = None,
        *,
        inference: Inference | None = None,
        sink: Sink | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        """`inference`: a stage shared with other cameras (started and stopped by its owner);
        default a stage of this camera's own on the registry's active model. `thresholds`: this
        camera's own, instead of the model's. `sink`: where decisions go (default the recorder)."""
        self.source = source
        self._registry = registry
        self._recorder = recorder
        self._sink: Sink = sink or (lambda record, evidence, _key: recorder.submit(record, evidence))
        self._metrics = metrics
        self.config = config
        self.thresholds = thresholds
        self._owns_inference = inference is None
        self.inference = inference or Inference(
            source.camera_id, lambda: registry.active, metrics, max_batch=config.max_batch, shadow=shadow
        )
        self._lane = self.inference.attach(self)
        self._queue: deque[Queued] = self._lane.queue
        self._queue_lock = self.inference.batcher.condition
        self._tracker = PartTracker()
        self._stop = threading.Event()
        self.counters = PipelineCounters()
        self._camera_error: str | None = None
        self._camera_faulted = False
        self._workers = [
            Worker(f"gaikan-acquisition-{source.camera_id}", self._acquire_loop),
            Worker(f"gaikan-deadlines-{source.camera_id}", self._watchdog_loop),
        ]

    def judged_by(self, active: ActiveModel) -> ActiveModel:
        """The model with the thresholds this camera's parts are judged by."""
        if self.thresholds is None:
            return active
        return replace(active, thresholds=self.thresholds, thresholds_source="override")

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._stop = threading.Event()
        for worker in self._workers:
            worker.start(self._stop)  # one stop signal for the camera's stages
        if self._owns_inference:
            self.inference.start()

    def _wake(self) -> None:
        with self._queue_lock:
            self._queue_lock.notify_all()

    def stop(self) -> None:
        """Stop acquiring, decide what is in flight (an inference stage of its own; a shared one
        is stopped by its owner once every camera stopped), stop the camera."""
        stop_all(self._workers)
        self._wake()
        if self._owns_inference:
            self.inference.stop()
        try:
            self.source.stop()
        except Exception:
            log.exception("stopping the camera failed")

    @property
    def running(self) -> bool:
        """Every stage is alive (acquisition ends when a finite source is exhausted)."""
        return all(worker.alive for worker in self._workers) and self.inference.running

    def inference_busy_s(self) -> float:
        """How long the model call in progress has been running (0 when none is): a hung
        `session.run` shows here while the other stages keep going."""
        return self.inference.busy_s()

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

    def is_pending(self, frame: Frame) -> bool:
        """The frame's part is still waiting for its decision (not timed out, not dropped)."""
        return self._tracker.is_pending(frame.frame_id)

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
            part_key=part_key(frame),
        )
        # This thread is the lane's only producer: the queue can only shrink while the lock is
        # released to prepare the frame, so what is decided about room here still holds after.
        with self._queue_lock:
            if len(self._queue) >= self.config.queue_size:
                if self.config.overflow is Overflow.BLOCK:
                    while len(self._queue) >= self.config.queue_size and not self._stop.is_set():
                        self._queue_lock.wait(0.1)
                elif self.config.overflow is Overflow.REJECT:
                    self._emit_part(part, fail_safe(Reason.TIMEOUT, "inference queue full: part could not be inspected in time"))
                    return
        queued = self._prepared(frame)
        with self._queue_lock:
            if len(self._queue) >= self.config.queue_size and self.config.overflow is Overflow.DROP_OLDEST:
                dropped = self._queue.popleft().frame
                self._tracker.claim(dropped.frame_id)  # a dropped free-run frame is not a part
                self.counters.dropped += 1
                self._metrics.drops.labels(camera=dropped.camera_id).inc()
            self._tracker.register(part)
            self._queue.append(queued)
            self._metrics.queue_depth.set(self.inference.batcher.queued())
            self._metrics.camera_queue_depth.labels(camera=self.source.camera_id).set(len(self._queue))
            self._queue_lock.notify_all()

    def _prepared(self, frame: Frame) -> Queued:
        """The frame prepared for the active model's input, on this (acquisition) thread; a frame
        that cannot be prepared is queued as it is, and fails (fail-safe) at inference."""
        active = self.inference.model
        if active is None:
            return Queued(frame)
        spec = active.model.manifest.input
        try:
            return Queued(frame, spec, prepare(frame.pixels, spec))
        except Exception:
            log.debug("camera %s: frame %s not prepared ahead", frame.camera_id, frame.frame_id, exc_info=True)
            return Queued(frame)

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
        self._emit(record, evidence, part_key(frame))

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
            ),
            key=part.part_key,
        )

    def _emit(self, record: DecisionRecord, evidence: Evidence | None = None, key: str | None = None) -> None:
        self.counters.decided += 1
        if record.reason is Reason.TIMEOUT:
            self.counters.timeouts += 1
        self.counters.recent_latencies_ms.append(record.latency_ms)
        self.counters.recent_decisions.append(time.monotonic())
        self._metrics.camera_decisions.labels(camera=record.camera_id, decision=record.decision.value, reason=record.reason.value).inc()
        self._sink(record, evidence, key)

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
