"""The API process's composition root: stores (read side, acks, uploads), the upload registry,
the line client (commands and status snapshot of the line process) and the live feed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gaikan.service.line import Stores
from gaikan.service.line_client import LineClient, WatchdogConfig
from gaikan.service.live_feed import LiveFeed
from gaikan.service.registry import ModelRegistry, RuntimeOptions
from gaikan.service.settings import Settings
from gaikan.service.workers import lower_thread_priority


@dataclass(slots=True)
class ApiContext:
    settings: Settings
    stores: Stores
    uploads: ModelRegistry  # validates and stores packages; activation happens in the line process
    line: LineClient
    feed: LiveFeed

    @classmethod
    def build(cls, settings: Settings, watchdog: WatchdogConfig = WatchdogConfig()) -> ApiContext:
        stores = Stores.open(settings.database)
        feed = LiveFeed({})
        uploads = ModelRegistry(
            versions=stores.versions,
            thresholds=stores.thresholds,
            audit=stores.audit,
            models_dir=Path(settings.data_dir) / "models",
            runtime=RuntimeOptions(providers=["CPUExecutionProvider"], intra_op_threads=1),
        )
        line = LineClient(
            settings,
            on_decision=feed.on_decision,
            on_model=feed.on_model,
            on_spawn=lambda: feed.tally.reset(stores.decisions.counts()),  # decisions a crashed line stored unstreamed
            watchdog=watchdog,
        )
        return cls(settings=settings, stores=stores, uploads=uploads, line=line, feed=feed)

    def start(self) -> None:
        """Start the line process, then make this (the API's event loop) thread nicer: request
        threads it starts later inherit that, so on a busy machine inspection comes first."""
        self.line.start()
        if self.settings.api_niceness:
            lower_thread_priority(self.settings.api_niceness)

    def stop(self) -> None:
        self.line.stop()
        self.stores.engine.dispose()
