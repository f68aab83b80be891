"""The API process's composition root: stores (read side, acks, uploads), the upload registry,
the line client (commands and status snapshot of the line process), the live feed and the reject
stream every PLC protocol reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gaikan.service.api.schemas import DecisionOut
from gaikan.service.line import Stores
from gaikan.service.line_client import LineClient, WatchdogConfig
from gaikan.service.live_feed import LiveFeed
from gaikan.service.mqtt.publisher import MqttPublisher
from gaikan.service.registry import ModelRegistry, RuntimeOptions
from gaikan.service.reject_stream import LineState, RejectStream, StreamLimits
from gaikan.service.settings import Settings
from gaikan.service.workers import lower_thread_priority


def line_state(line: LineClient, mqtt: MqttPublisher | None = None) -> LineState:
    """What the line says about itself, as the API process knows it (from the newest snapshot),
    with `mqtt_down` when the broker is required and down."""
    snapshot = line.snapshot
    if not line.alive or snapshot is None:
        camera = "unknown"
    else:  # with several cameras: a faulted one first (the heartbeat's one camera state)
        cameras = snapshot.cameras or ((snapshot.camera,) if snapshot.camera else ())
        faulted = next((c.state for c in cameras if c.state == "faulted"), None)
        camera = faulted or (snapshot.camera.state if snapshot.camera else "none")
    return LineState(
        fail_safe=tuple(line.fail_safe_reasons()) + (mqtt.fail_safe_reasons() if mqtt else ()),
        camera_state=camera,
        active_model=snapshot.active.version if snapshot and snapshot.active else None,
        active_model_calibrated=snapshot.active.calibrated if snapshot and snapshot.active else None,
    )


@dataclass(slots=True)
class ApiContext:
    settings: Settings
    stores: Stores
    uploads: ModelRegistry  # validates and stores packages; activation happens in the line process
    line: LineClient
    feed: LiveFeed
    reject: RejectStream
    mqtt: MqttPublisher | None = None  # [mqtt] enabled: decisions and state to the broker

    @classmethod
    def build(cls, settings: Settings, watchdog: WatchdogConfig = WatchdogConfig()) -> ApiContext:
        stores = Stores.open(settings.database, settings.migrate, line=settings.line_id)
        feed = LiveFeed({})
        uploads = ModelRegistry(
            versions=stores.versions,
            thresholds=stores.thresholds,
            audit=stores.audit,
            models_dir=Path(settings.data_dir) / "models",
            runtime=RuntimeOptions(providers=["CPUExecutionProvider"], intra_op_threads=1),
            limits=settings.package_limits,
        )
        line = LineClient(
            settings,
            on_decision=feed.on_decision,
            on_model=feed.on_model,
            # decisions a crashed line stored unstreamed
            on_spawn=lambda: feed.reset(stores.decisions.counts(), next(iter(stores.decisions.page(limit=1)), None)),
            watchdog=watchdog,
        )
        plc = settings.plc
        mqtt: MqttPublisher | None = None  # bound below; the stream's state reads it when asked
        reject = RejectStream(
            stores.decisions,
            stores.acks,
            lambda: line_state(line, mqtt),
            StreamLimits(silence_s=plc.silence_s, buffer_limit=plc.buffer_limit, watch=tuple(plc.watch)),
        )
        if settings.mqtt.enabled:
            # The payload is the REST reject stream's item model (api/reject.py), whatever it carries.
            mqtt = MqttPublisher(settings.mqtt, settings.line_id, reject, lambda: line_state(line), DecisionOut.of)
        return cls(settings=settings, stores=stores, uploads=uploads, line=line, feed=feed, reject=reject, mqtt=mqtt)

    def start(self) -> None:
        """Start the line process, then make this (the API's event loop) thread nicer: request
        threads it starts later inherit that, so on a busy machine inspection comes first."""
        self.line.start()
        if self.mqtt is not None:
            self.mqtt.start()
        if self.settings.api_niceness:
            lower_thread_priority(self.settings.api_niceness)

    def stop(self) -> None:
        self.line.stop()
        if self.mqtt is not None:
            self.mqtt.stop()  # after the line; the state says stopped, what is unpublished goes out at the next start
        self.stores.engine.dispose()
