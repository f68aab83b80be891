"""The line's composition root: one inspection line built from settings (store, registry,
recorder, evidence writer, shadow runner, pipeline), started and stopped as a unit. It runs inside
the line process (`service/line_process.py`); tests may also run it in their own process."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from gaikan.camera.factory import open_source
from gaikan.models.package import read_package_bytes
from gaikan.service.evidence import DiskReserve
from gaikan.service.evidence_process import EvidenceProcess
from gaikan.service.metrics import Metrics
from gaikan.service.pipeline import Inference, Pipeline, PipelineConfig
from gaikan.service.station import Station
from gaikan.service.line_protocol import DecisionStored, ModelSwapped
from gaikan.service.recorder import Recorder
from gaikan.service.records import DEFAULT_LINE
from gaikan.service.run_id import new_run_id
from gaikan.service.registry import ActiveModel, ModelRegistry, RuntimeOptions, VersionConflict
from gaikan.service.settings import Settings
from gaikan.service.shadow import ShadowRunner
from gaikan.service.timeout_burst import TimeoutBurst
from gaikan.service.storage.acks import AckStore
from gaikan.service.storage.audit import AuditLog
from gaikan.service.storage.database import open_database
from gaikan.service.storage.decisions import DecisionStore
from gaikan.service.storage.migrate import MigrateMode
from gaikan.service.storage.model_versions import ModelVersionStore
from gaikan.service.storage.rechecks import RecheckStore
from gaikan.service.storage.thresholds import ThresholdStore

log = logging.getLogger(__name__)

ACTIVE = "active"  # the inference stage of the cameras that use the line's active model


@dataclass(frozen=True, slots=True)
class Stores:
    engine: Engine
    decisions: DecisionStore
    audit: AuditLog
    versions: ModelVersionStore
    thresholds: ThresholdStore
    acks: AckStore
    rechecks: RecheckStore

    @classmethod
    def open(cls, url: str, migrate: MigrateMode = "auto", *, line: str = DEFAULT_LINE) -> Stores:
        """The stores of line `line` (settings `line_id`) in the database at `url`."""
        engine = open_database(url, migrate)
        return cls(
            engine=engine,
            decisions=DecisionStore(engine, line=line),
            audit=AuditLog(engine, line=line),
            versions=ModelVersionStore(engine, line=line),
            thresholds=ThresholdStore(engine, line=line),
            acks=AckStore(engine, line=line),
            rechecks=RecheckStore(engine, line=line),
        )


class Line:
    def __init__(self, settings: Settings, *, on_event: Callable[[DecisionStored | ModelSwapped], None] | None = None) -> None:
        self.settings = settings
        self.started_at = time.time()
        self._on_event = on_event
        self.run_id = new_run_id(self.started_at)
        data_dir = Path(settings.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.stores = Stores.open(settings.database, settings.migrate, line=settings.line_id)
        self.metrics = Metrics()
        self.registry = ModelRegistry(
            versions=self.stores.versions,
            thresholds=self.stores.thresholds,
            audit=self.stores.audit,
            models_dir=data_dir / "models",
            runtime=RuntimeOptions(
                providers=settings.providers,
                intra_op_threads=settings.intra_op_threads,
                inter_op_threads=settings.inter_op_threads,
                allow_spinning=settings.ort_spinning,
            ),
            on_swap=self._on_model_swap,
            limits=settings.package_limits,
        )
        self.evidence = EvidenceProcess(
            data_dir / "images",
            settings.database,
            self.metrics,
            budget_bytes=int(settings.image_budget_mb * 1024 * 1024),
            reserve=DiskReserve(min_free_mb=settings.min_free_disk_mb, min_free_percent=settings.min_free_disk_percent),
            log_level=settings.log_level,
            line=settings.line_id,
        )
        self.recorder = Recorder(
            self.stores.decisions,
            self.metrics,
            evidence=self.evidence,
            keep_pass_fraction=settings.keep_pass_fraction,
            deadline_s=settings.persist_deadline_ms / 1000.0,
            max_backlog=settings.max_persist_backlog,
        )
        self.timeouts = TimeoutBurst(settings.timeout_alarm_window, settings.timeout_alarm_fraction)
        self.recorder.add_listener(lambda decision: self.timeouts.add(decision.record.reason))
        if on_event is not None:
            self.recorder.add_listener(lambda decision: on_event(DecisionStored(decision)))
        self.shadow = ShadowRunner(self.metrics, providers=settings.providers, hang_s=settings.shadow_hang_s, log_level=settings.log_level)
        self._pinned: dict[str, ActiveModel | None] = {}  # cameras' own model versions, loaded at start
        self.stations = {
            station.station_id: Station(
                station, self.recorder.submit, self.metrics, deadline_ms=settings.deadline_ms, run_id=self.run_id, camera_error=self._camera_error
            )
            for station in settings.stations
        }
        station_of = {view.camera: station.station_id for station in settings.stations for view in station.views}
        self.inferences: dict[str, Inference] = {}  # one per model: the cameras that share it share its session
        self.pipelines: dict[str, Pipeline] = {}
        for entry in settings.camera_entries:
            inference = self._inference(entry.model_version)
            station = station_of.get(entry.camera_id)
            self.pipelines[entry.camera_id] = Pipeline(
                open_source(entry.camera),
                self.registry,
                self.recorder,
                self.metrics,
                PipelineConfig(
                    queue_size=settings.queue_size,
                    max_batch=settings.max_batch,
                    deadline_ms=entry.deadline_ms or settings.deadline_ms,
                    overflow=settings.overflow,
                    run_id=self.run_id,
                ),
                inference=inference,
                sink=self.stations[station].sink(entry.camera_id) if station else None,
                thresholds=entry.thresholds,
            )
        self.pipeline: Pipeline | None = next(iter(self.pipelines.values()), None)  # the first camera

    def _inference(self, version: str | None) -> Inference:
        """The inference stage for a model: the line's active one (None) or a pinned version."""
        key = version or ACTIVE
        if key not in self.inferences:
            model = (lambda: self.registry.active) if version is None else (lambda: self._pinned.get(version))
            self.inferences[key] = Inference(
                key, model, self.metrics, max_batch=self.settings.max_batch, shadow=self.shadow if version is None else None
            )
        return self.inferences[key]

    def _camera_error(self, camera_id: str) -> str | None:
        pipeline = self.pipelines.get(camera_id)
        return pipeline.camera_error if pipeline is not None and pipeline.camera_faulted else None

    def _load_pinned(self) -> None:
        for version in (key for key in self.inferences if key != ACTIVE):
            try:
                self._pinned[version] = self.registry.load(version)
            except Exception:  # the camera's parts are rejected (no_model) and its status says why
                log.exception("model version %s for a camera could not be loaded", version)
                self._pinned[version] = None

    def _on_model_swap(self, active: ActiveModel | None) -> None:
        version = active.version if active else None
        self.metrics.set_active_model(version, calibrated=bool(active and active.calibrated))
        if self._on_event is not None:
            self._on_event(ModelSwapped(version))

    def start(self) -> None:
        """Restore the last active model (or import the initial one), then start the line."""
        active = self.registry.restore()
        if active is None and self.settings.initial_model is not None:
            self._import_initial_model(Path(self.settings.initial_model))
        self._load_pinned()
        self.evidence.start()
        self.recorder.start()
        self.shadow.start()
        for station in self.stations.values():
            station.start()
        for inference in self.inferences.values():
            inference.start()
        for pipeline in self.pipelines.values():
            pipeline.start()

    def _import_initial_model(self, path: Path) -> None:
        data = path.read_bytes()
        version = read_package_bytes(data, source=str(path)).version
        try:
            self.registry.upload(data, actor="system", source=str(path))
        except VersionConflict:
            pass  # imported by an earlier start
        self.registry.activate(version, actor="system")

    def stop(self) -> None:
        for pipeline in self.pipelines.values():
            pipeline.stop()
        for inference in self.inferences.values():
            inference.stop()  # decides what the cameras queued
        for station in self.stations.values():
            station.stop()  # rejects parts still missing a view
        self.shadow.stop()
        self.recorder.stop()
        self.evidence.stop()
        self.stores.engine.dispose()

    def fail_safe_reasons(self) -> list[str]:
        """Why the line is currently rejecting parts (empty when it inspects normally): the
        reasons of every camera, then the line's own."""
        reasons = [] if self.pipelines else [*(["no_model"] if self.registry.active is None else []), "no_camera"]
        for camera_id in self.pipelines:
            reasons.extend(reason for reason in self.camera_fail_safe(camera_id) if reason not in reasons)
        if not self.recorder.health().ok:
            reasons.append("storage")
        if self.timeouts.alarming:
            reasons.append("timeouts")
        return reasons

    def camera_fail_safe(self, camera_id: str) -> list[str]:
        """Why this camera's parts are rejected now (empty when it inspects normally)."""
        pipeline = self.pipelines[camera_id]
        reasons = []
        if pipeline.inference.model is None:
            reasons.append("no_model")
        if pipeline.camera_faulted:
            reasons.append("camera_fault")
        elif not pipeline.running:
            reasons.append("pipeline_stopped")
        elif pipeline.inference_busy_s() > self.inference_stall_s:
            reasons.append("inference_stalled")
        return reasons

    @property
    def inference_stall_s(self) -> float:
        """A model call running longer than this (default twice the deadline, at least 1 s) is hung."""
        if self.settings.inference_stall_ms is not None:
            return self.settings.inference_stall_ms / 1000.0
        return max(2 * self.settings.deadline_ms / 1000.0, 1.0)
