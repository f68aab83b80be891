"""The composition root: one inspection line built from settings (store, registry, recorder,
evidence writer, pipeline), started and stopped as a unit."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from gaikan.camera.factory import open_source
from gaikan.camera.source import CameraState
from gaikan.models.package import read_package_bytes
from gaikan.service.decision import Outcome
from gaikan.service.events import EventHub
from gaikan.service.evidence import EvidenceWriter
from gaikan.service.metrics import Metrics
from gaikan.service.pipeline import Pipeline, PipelineConfig
from gaikan.service.records import StoredDecision
from gaikan.service.recorder import Recorder
from gaikan.service.registry import ActiveModel, ModelRegistry, RuntimeOptions, VersionConflict
from gaikan.service.settings import Settings
from gaikan.service.shadow import ShadowRunner
from gaikan.service.storage.acks import AckStore
from gaikan.service.storage.audit import AuditLog
from gaikan.service.storage.database import open_database
from gaikan.service.storage.decisions import DecisionStore
from gaikan.service.storage.model_versions import ModelVersionStore
from gaikan.service.storage.thresholds import ThresholdStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Stores:
    engine: Engine
    decisions: DecisionStore
    audit: AuditLog
    versions: ModelVersionStore
    thresholds: ThresholdStore
    acks: AckStore

    @classmethod
    def open(cls, url: str) -> Stores:
        engine = open_database(url)
        return cls(
            engine=engine,
            decisions=DecisionStore(engine),
            audit=AuditLog(engine),
            versions=ModelVersionStore(engine),
            thresholds=ThresholdStore(engine),
            acks=AckStore(engine),
        )


class OutcomeTally:
    """All-time decision counts by outcome: counted once from the store at start, then kept up to
    date as decisions are stored (a status request must not count millions of rows)."""

    def __init__(self, initial: dict[str, int]) -> None:
        self._lock = threading.Lock()
        self._counts = dict(initial)

    def add(self, outcome: Outcome) -> None:
        with self._lock:
            self._counts[outcome.value] = self._counts.get(outcome.value, 0) + 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class Line:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started_at = time.time()
        data_dir = Path(settings.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.stores = Stores.open(settings.database)
        self.metrics = Metrics()
        self.events = EventHub()
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
        )
        self.evidence = EvidenceWriter(
            data_dir / "images",
            self.stores.decisions,
            self.metrics,
            budget_bytes=int(settings.image_budget_mb * 1024 * 1024),
        )
        self.recorder = Recorder(
            self.stores.decisions, self.metrics, evidence=self.evidence, keep_pass_fraction=settings.keep_pass_fraction
        )
        self.recorder.add_listener(self._publish)
        self.shadow = ShadowRunner(self.registry)
        self.pipeline: Pipeline | None = None
        if settings.camera is not None:
            self.pipeline = Pipeline(
                open_source(settings.camera),
                self.registry,
                self.recorder,
                self.metrics,
                PipelineConfig(
                    queue_size=settings.queue_size,
                    max_batch=settings.max_batch,
                    deadline_ms=settings.deadline_ms,
                    overflow=settings.overflow,
                ),
                shadow=self.shadow,
            )
        self.last_decision: StoredDecision | None = None
        self.tally = OutcomeTally(self.stores.decisions.counts())

    def _on_model_swap(self, active: ActiveModel | None) -> None:
        self.metrics.set_active_model(active.version if active else None, calibrated=bool(active and active.calibrated))
        self.events.publish({"type": "model", "version": active.version if active else None})

    def _publish(self, decision: StoredDecision) -> None:
        self.last_decision = decision
        self.tally.add(decision.record.decision)
        self.events.publish({"type": "decision", "decision": decision})

    def start(self) -> None:
        """Restore the last active model (or import the initial one), then start the line."""
        active = self.registry.restore()
        if active is None and self.settings.initial_model is not None:
            self._import_initial_model(Path(self.settings.initial_model))
        self.evidence.start()
        self.recorder.start()
        self.shadow.start()
        if self.pipeline is not None:
            self.pipeline.start()

    def _import_initial_model(self, path: Path) -> None:
        data = path.read_bytes()
        version = read_package_bytes(data, source=str(path)).version
        try:
            self.registry.upload(data, actor="system", source=str(path))
        except VersionConflict:
            pass  # imported by an earlier start
        self.registry.activate(version, actor="system")

    def stop(self) -> None:
        if self.pipeline is not None:
            self.pipeline.stop()
        self.shadow.stop()
        self.recorder.stop()
        self.evidence.stop()
        self.stores.engine.dispose()

    @property
    def camera_state(self) -> CameraState | None:
        return self.pipeline.source.state if self.pipeline else None

    def fail_safe_reasons(self) -> list[str]:
        """Why the line is currently rejecting every part (empty when it inspects normally)."""
        reasons = []
        if self.registry.active is None:
            reasons.append("no_model")
        if self.pipeline is None:
            reasons.append("no_camera")
        elif self.pipeline.camera_faulted:
            reasons.append("camera_fault")
        elif not self.pipeline.running:
            reasons.append("pipeline_stopped")
        return reasons
