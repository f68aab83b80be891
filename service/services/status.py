"""Line status and the PLC heartbeat's view of it: from the line's snapshot, the decision stream
and the stores.

A status page polls often and many may poll at once: the answer is built once per line snapshot
(at most `STATUS_REFRESH_S` apart), or sooner when a decision arrives or the fail-safe reasons
change, and served to every reader as the same encoded JSON. The last hour's counts are counted
in the store at most once per `HOUR_COUNTS_REFRESH_S`."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict

from gaikan.service.api.schemas import CameraOut, DecisionOut, MqttOut, PlcClientOut, StationOut, StatusOut, utc
from gaikan.service.line_protocol import CameraSnapshot, LineSnapshot
from gaikan.service.mqtt.publisher import MqttStatus
from gaikan.service.services.context import ApiContext, line_state

STATUS_REFRESH_S = 0.2  # the line's snapshot interval
HOUR_COUNTS_REFRESH_S = 1.0

NO_CAMERA = CameraOut(
    camera_id=None, state="none", fps=0.0, frames=0, dropped=0, lost=0, timeouts=0, reconnects=0, faults=0, incomplete=0, error=None
)


class StatusService:
    def __init__(self, context: ApiContext) -> None:
        self._context = context
        self._lock = threading.Lock()
        self._answer: tuple[tuple[object, ...], bytes] | None = None
        self._hour: tuple[float, dict[str, int]] | None = None  # (monotonic time counted, counts)

    def counts(self, since: float | None) -> dict[str, int]:
        return self._context.stores.decisions.counts(since=since)

    def _key(self) -> tuple[object, ...]:
        """What the answer depends on besides time (which `STATUS_REFRESH_S` covers)."""
        line, snapshot = self._context.line, self._context.line.snapshot
        return (
            int(time.monotonic() / STATUS_REFRESH_S),
            (snapshot.pid, snapshot.serial) if snapshot else None,
            line.alive,
            line.restarts,
            tuple(line.fail_safe_reasons()),
            self._context.feed.last_seq,
        )

    def cached_json(self) -> bytes | None:
        """The current answer when it is already built (no store access), else None."""
        key = self._key()
        with self._lock:
            answer = self._answer
        return answer[1] if answer is not None and answer[0] == key else None

    def status_json(self) -> bytes:
        """The current answer as JSON, built when the cached one is out of date."""
        key = self._key()
        with self._lock:
            answer = self._answer
        if answer is not None and answer[0] == key:
            return answer[1]
        body = self.status().model_dump_json().encode()
        with self._lock:
            self._answer = (key, body)
        return body

    def _last_hour(self) -> dict[str, int]:
        now = time.monotonic()
        with self._lock:
            hour = self._hour
        if hour is None or now - hour[0] >= HOUR_COUNTS_REFRESH_S:
            hour = (now, self.counts(time.time() - 3600))
            with self._lock:
                self._hour = hour
        return dict(hour[1])

    def status(self) -> StatusOut:
        context = self._context
        snapshot, state = context.line.snapshot, line_state(context.line, context.mqtt)
        last = context.feed.last_decision
        return StatusOut(
            line_id=context.settings.line_id,
            running=bool(snapshot and snapshot.running and context.line.alive),
            fail_safe=list(state.fail_safe),
            camera=_camera(snapshot),
            cameras=[_camera_out(camera) for camera in snapshot.cameras] if snapshot else [],
            stations=[StationOut(**asdict(station)) for station in snapshot.stations] if snapshot else [],
            active_model=state.active_model,
            active_model_calibrated=state.active_model_calibrated,
            shadow_model=snapshot.shadow if snapshot else None,
            thresholds=snapshot.active.thresholds if snapshot and snapshot.active else None,
            counts=context.feed.tally.snapshot(),
            counts_last_hour=self._last_hour(),
            last_decision=DecisionOut.of(last) if last else None,
            last_seq=context.feed.last_seq,
            queue_depth=snapshot.queue_depth if snapshot else 0,
            in_flight=snapshot.in_flight if snapshot else 0,
            throughput_fps=snapshot.throughput_fps if snapshot else 0.0,
            latency_window=snapshot.latency_window if snapshot else 0,
            latency_ms_p50=snapshot.latency_ms_p50 if snapshot else None,
            latency_ms_p99=snapshot.latency_ms_p99 if snapshot else None,
            uptime_s=round(time.time() - snapshot.started_at, 1) if snapshot else 0.0,
            plc=[
                PlcClientOut(
                    client=c.client,
                    acked_seq=c.acked_seq,
                    pending=c.pending,
                    last_poll=utc(c.last_poll) if c.last_poll is not None else None,
                    last_ack=utc(c.last_ack) if c.last_ack is not None else None,
                    silent_for_s=c.silent_for_s,
                    backlog=c.backlog,
                )
                for c in context.reject.liveness()
            ],
            mqtt=_mqtt(context.mqtt.status()) if context.mqtt else None,
        )


def _mqtt(status: MqttStatus) -> MqttOut:
    fields = asdict(status)
    fields["down_since"] = utc(status.down_since) if status.down_since is not None else None
    return MqttOut(**fields)


def _camera(snapshot: LineSnapshot | None) -> CameraOut:
    if snapshot is None or snapshot.camera is None:
        return NO_CAMERA
    return _camera_out(snapshot.camera)


def _camera_out(camera: CameraSnapshot) -> CameraOut:
    return CameraOut(**asdict(camera))
