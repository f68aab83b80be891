"""Health and line status."""

from __future__ import annotations

import time

import numpy as np
from fastapi import APIRouter

from gaikan.service.api.deps import LineDep, Reader
from gaikan.service.api.errors import AUTH_ERRORS
from gaikan.service.api.schemas import CameraOut, DecisionOut, StatusOut
from gaikan.service.line import Line
from gaikan.service.pipeline import PipelineCounters

router = APIRouter(tags=["status"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def camera_status(line: Line) -> CameraOut:
    if line.pipeline is None:
        return CameraOut(
            camera_id=None, state="none", fps=0.0, frames=0, dropped=0, lost=0, timeouts=0, reconnects=0, faults=0, incomplete=0, error=None
        )
    stats = line.pipeline.source.stats
    return CameraOut(
        camera_id=line.pipeline.source.camera_id,
        state="faulted" if line.pipeline.camera_faulted else line.pipeline.source.state.value,
        fps=round(PipelineCounters.rate(line.pipeline.counters.recent_frames), 2),
        frames=stats.frames,
        dropped=line.pipeline.counters.dropped + stats.dropped,
        lost=stats.lost,
        timeouts=stats.timeouts,
        reconnects=stats.reconnects,
        faults=stats.faults,
        incomplete=stats.incomplete,
        error=line.pipeline.camera_error or stats.last_error,
    )


@router.get("/api/v1/status", response_model=StatusOut, summary="Line status, counts and the last decision", responses=AUTH_ERRORS)
def status(line: LineDep, _: Reader) -> StatusOut:
    active = line.registry.active
    shadow = line.registry.shadow
    pipeline = line.pipeline
    latencies = list(pipeline.counters.recent_latencies_ms) if pipeline else []
    last = line.last_decision or next(iter(line.stores.decisions.page(limit=1)), None)
    return StatusOut(
        running=bool(pipeline and pipeline.running),
        fail_safe=line.fail_safe_reasons(),
        camera=camera_status(line),
        active_model=active.version if active else None,
        shadow_model=shadow.version if shadow else None,
        thresholds=active.thresholds if active else None,
        counts=line.tally.snapshot(),
        counts_last_hour=line.stores.decisions.counts(since=time.time() - 3600),
        last_decision=DecisionOut.of(last) if last else None,
        last_seq=line.stores.decisions.last_seq(),
        queue_depth=pipeline.queue_depth if pipeline else 0,
        in_flight=pipeline.in_flight if pipeline else 0,
        throughput_fps=round(PipelineCounters.rate(pipeline.counters.recent_decisions), 2) if pipeline else 0.0,
        latency_window=len(latencies),
        latency_ms_p50=round(float(np.percentile(latencies, 50)), 2) if latencies else None,
        latency_ms_p99=round(float(np.percentile(latencies, 99)), 2) if latencies else None,
        uptime_s=round(time.time() - line.started_at, 1),
    )
