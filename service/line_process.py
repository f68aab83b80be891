"""The line side of the boundary: the line process runs one `Line` (camera, pipeline, decisions,
recorder, loaded ONNX sessions), carries out commands, and publishes a status snapshot at a fixed
rate plus every stored decision.

The API process starts it (spawn) with a command pipe and an event queue (`service/line_client.py`).
It ends on `Stop`, or by itself when the API process is gone, so an orphan never keeps deciding.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import threading
import time
from multiprocessing import parent_process
from multiprocessing.connection import Connection, wait
from typing import Protocol

import numpy as np

from gaikan.camera.source import CameraConfigError, CameraFault
from gaikan.service.decision import Outcome
from gaikan.service.errors import CameraRefused, CameraUnavailable, DomainError, LineUnavailable
from gaikan.service.line import Line
from gaikan.service.line_protocol import (
    Activate,
    CameraSnapshot,
    Command,
    LineEvent,
    LineSnapshot,
    ModelSnapshot,
    Reply,
    Rollback,
    SetShadow,
    SetThresholds,
    ShadowReport,
    StationSnapshot,
    Stop,
    Trigger,
)
from gaikan.service.logs import configure_logging
from gaikan.service.metrics import exposition
from gaikan.service.pipeline import PipelineCounters
from gaikan.service.settings import Settings
from gaikan.service.shadow import Agreement
from gaikan.service.station import Station, StationCounters
from gaikan.service.workers import Worker

log = logging.getLogger(__name__)

SNAPSHOT_INTERVAL_S = 0.2


class EventSink(Protocol):
    def put(self, event: LineEvent) -> None: ...


def shadow_report(agreement: Agreement) -> ShadowReport:
    outcomes = [o.value for o in Outcome]
    return ShadowReport(
        version=agreement.version,
        since=agreement.since,
        frames=agreement.frames,
        skipped=agreement.skipped,
        errors=agreement.errors,
        restarts=agreement.restarts,
        loaded=agreement.loaded,
        load_error=agreement.load_error,
        agreement=agreement.agreement,
        confusion={a: {s: agreement.matrix.get((a, s), 0) for s in outcomes} for a in outcomes},
        score_correlation=agreement.score_correlation,
    )


class LineHost:
    """Runs a `Line` behind the typed interface."""

    def __init__(self, settings: Settings, events: EventSink, *, snapshot_interval_s: float = SNAPSHOT_INTERVAL_S) -> None:
        self._events = events
        self.line = Line(settings, on_event=events.put)
        self._serial = itertools.count(1)
        self._snapshot_lock = threading.Lock()
        self._interval = snapshot_interval_s
        self._publisher = Worker("gaikan-snapshots", self._publish_loop)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self.line.start()
        self._events.put(self.snapshot())
        self._publisher.start()

    def stop(self) -> None:
        self._publisher.stop()
        self.line.stop()

    def _publish_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self._interval):
            try:
                self._events.put(self.snapshot())
            except Exception:
                log.exception("building the status snapshot failed")

    # -- commands ----------------------------------------------------------------------------
    def execute(self, command: Command) -> Reply:
        try:
            value = self._carry_out(command)
        except DomainError as error:
            return Reply(error=error, snapshot=self.snapshot())
        except Exception as error:  # a bug or a runtime failure: refused, logged, the line goes on
            log.exception("command %s failed", type(command).__name__)
            failure = LineUnavailable(f"the line could not carry out {type(command).__name__}: {error}")
            return Reply(error=failure, snapshot=self.snapshot())
        return Reply(value=value, snapshot=self.snapshot())

    def _carry_out(self, command: Command) -> object:
        registry = self.line.registry
        match command:
            case Activate(version, actor):
                return registry.activate(version, actor=actor).version
            case Rollback(actor):
                return registry.rollback(actor=actor).version
            case SetThresholds(thresholds, actor, force):
                return registry.set_thresholds(thresholds, actor=actor, force=force).version
            case SetShadow(version, actor):
                shadow = registry.set_shadow(version, actor=actor, load=self.line.shadow.use)
                return shadow.version if shadow else None
            case Trigger():
                return self._trigger()
        raise TypeError(f"not a command the line carries out: {command!r}")

    def _trigger(self) -> str:
        """Fire the software trigger of every camera that has one (a station's views at once);
        the reply names them."""
        pipelines = [p for p in self.line.pipelines.values() if getattr(p.source, "trigger", None) is not None]
        if not pipelines:
            kinds = ", ".join(entry.camera.kind for entry in self.line.settings.camera_entries) or "none"
            raise CameraRefused(f"this camera ({kinds}) has no software trigger")
        for pipeline in pipelines:
            try:
                pipeline.source.trigger()  # type: ignore[attr-defined]
            except CameraConfigError as error:
                raise CameraRefused(str(error)) from error
            except CameraFault as error:
                raise CameraUnavailable(f"camera unavailable: {error}") from error
        return ",".join(pipeline.source.camera_id for pipeline in pipelines)

    # -- the snapshot ------------------------------------------------------------------------
    def snapshot(self) -> LineSnapshot:
        with self._snapshot_lock:  # a later serial never carries older state
            line, pipeline = self.line, self.line.pipeline
            active, shadow = line.registry.active, line.registry.shadow
            streams = self._streams()  # what reaches the reject stream: cameras of no station, and stations
            latencies = [ms for counters in streams for ms in counters.recent_latencies_ms]
            reports = line.shadow.reports(shadow_report)
            return LineSnapshot(
                serial=next(self._serial),
                pid=os.getpid(),
                taken_at=time.monotonic(),
                started_at=line.started_at,
                running=bool(line.pipelines) and all(p.running for p in line.pipelines.values()),
                fail_safe=tuple(line.fail_safe_reasons()),
                camera=self._camera(pipeline.source.camera_id) if pipeline else None,
                active=ModelSnapshot(
                    active.version, active.thresholds, active.thresholds_source, active.model.manifest.thresholds, active.calibrated
                )
                if active
                else None,
                shadow=shadow.version if shadow else None,
                shadow_reports=reports,
                queue_depth=sum(p.queue_depth for p in line.pipelines.values()),
                in_flight=sum(p.in_flight for p in line.pipelines.values()) + sum(s.open_parts for s in line.stations.values()),
                throughput_fps=round(sum(PipelineCounters.rate(counters.recent_decisions) for counters in streams), 2),
                latency_window=len(latencies),
                latency_ms_p50=round(float(np.percentile(latencies, 50)), 2) if latencies else None,
                latency_ms_p99=round(float(np.percentile(latencies, 99)), 2) if latencies else None,
                inference_busy_s=max((i.busy_s() for i in line.inferences.values()), default=0.0),
                metrics=self._metrics(),
                cameras=tuple(self._camera(camera_id) for camera_id in line.pipelines),
                stations=tuple(self._station(station) for station in line.stations.values()),
            )

    def _metrics(self) -> bytes:
        self.line.evidence.sync_counters()  # the evidence process's counters go out with the line's
        return exposition(self.line.metrics.registry, line=self.line.settings.line_id)

    def _streams(self) -> list[PipelineCounters | StationCounters]:
        line = self.line
        in_station = {view.camera for station in line.settings.stations for view in station.views}
        cameras = [p.counters for camera_id, p in line.pipelines.items() if camera_id not in in_station]
        return [*cameras, *(station.counters for station in line.stations.values())]

    def _camera(self, camera_id: str) -> CameraSnapshot:
        line = self.line
        pipeline = line.pipelines[camera_id]
        stats = pipeline.source.stats
        model = pipeline.inference.model
        station = next((s for s in line.settings.stations if any(v.camera == camera_id for v in s.views)), None)
        latencies = list(pipeline.counters.recent_latencies_ms)
        return CameraSnapshot(
            camera_id=pipeline.source.camera_id,
            state="faulted" if pipeline.camera_faulted else pipeline.source.state.value,
            fps=round(PipelineCounters.rate(pipeline.counters.recent_frames), 2),
            frames=stats.frames,
            dropped=pipeline.counters.dropped + stats.dropped,
            lost=stats.lost,
            timeouts=stats.timeouts,
            reconnects=stats.reconnects,
            faults=stats.faults,
            incomplete=stats.incomplete,
            error=pipeline.camera_error or stats.last_error,
            model_version=model.version if model else None,
            station=station.station_id if station else None,
            view=next((v.name for v in station.views if v.camera == camera_id), None) if station else None,
            fail_safe=tuple(line.camera_fail_safe(camera_id)),
            queue_depth=pipeline.queue_depth,
            throughput_fps=round(PipelineCounters.rate(pipeline.counters.recent_decisions), 2),
            latency_ms_p99=round(float(np.percentile(latencies, 99)), 2) if latencies else None,
            decided=pipeline.counters.decided,
            part_timeouts=pipeline.counters.timeouts,
        )

    @staticmethod
    def _station(station: Station) -> StationSnapshot:
        latencies = list(station.counters.recent_latencies_ms)
        return StationSnapshot(
            station_id=station.station_id,
            views={view.name: view.camera for view in station.config.views},
            match=station.config.match,
            parts=station.counters.parts,
            missing=station.counters.missing,
            late_views=station.counters.late_views,
            open_parts=station.open_parts,
            latency_ms_p99=round(float(np.percentile(latencies, 99)), 2) if latencies else None,
        )


def serve_commands(host: LineHost, commands: Connection, also_end_on: list[object]) -> bool:
    """Answer commands until `Stop` (True: the caller replies once stopped), a closed pipe, or
    one of `also_end_on` (process sentinels) becoming ready (False)."""
    while True:
        ready = wait([commands, *also_end_on])
        if commands not in ready:
            log.warning("the API process is gone: the line stops")
            return False
        try:
            command = commands.recv()
        except (EOFError, OSError):
            log.warning("command pipe closed: the line stops")
            return False
        if isinstance(command, Stop):
            return True
        commands.send(host.execute(command))


def main(settings: Settings, commands: Connection, events: EventSink) -> None:
    """Entry point of the line process (multiprocessing, spawn)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the API process stops the line
    configure_logging(settings.log_format, settings.log_level)
    host = LineHost(settings, events)
    host.start()
    parent = parent_process()
    asked = serve_commands(host, commands, [parent.sentinel] if parent is not None else [])
    host.stop()
    if asked:
        commands.send(Reply())
    else:
        cancel = getattr(events, "cancel_join_thread", None)  # nobody reads the queue any more
        if cancel is not None:
            cancel()
