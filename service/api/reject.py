"""The reject gate for PLCs: the decision stream in seq order, acknowledgements, heartbeat."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from gaikan.service.api.deps import LineDep, Plc, PlcReader
from gaikan.service.api.schemas import AckIn, AckOut, DecisionOut, Heartbeat, RejectPage, utc
from gaikan.service.auth import Principal
from gaikan.service.line import Line

router = APIRouter(prefix="/api/v1/reject", tags=["reject gate"])


def heartbeat(line: Line, client: Principal) -> Heartbeat:
    active = line.registry.active
    return Heartbeat(
        server_time=utc(time.time()),
        last_seq=line.stores.decisions.last_seq(),
        acked_seq=line.stores.acks.acknowledged(client.name),
        fail_safe=line.fail_safe_reasons(),
        active_model=active.version if active else None,
        active_model_calibrated=active.calibrated if active else None,
        camera_state=line.camera_state.value if line.camera_state else "none",
    )


@router.get("", response_model=RejectPage, summary="Decisions after a seq, oldest first")
def decisions_after(
    line: LineDep,
    client: PlcReader,
    after: Annotated[int | None, Query(ge=0, description="Return decisions with seq > after; default: this client's acknowledged seq")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RejectPage:
    start = after if after is not None else line.stores.acks.acknowledged(client.name)
    beat = heartbeat(line, client)
    items = line.stores.decisions.after(start, limit)
    return RejectPage(items=[DecisionOut.of(item) for item in items], last_seq=beat.last_seq, heartbeat=beat)


@router.post("/ack", response_model=AckOut, summary="Acknowledge every decision up to a seq")
def acknowledge(body: AckIn, line: LineDep, client: Plc) -> AckOut:
    last = line.stores.decisions.last_seq()
    if body.seq > last:
        raise HTTPException(status_code=422, detail=f"cannot acknowledge seq {body.seq}: the newest decision is {last}")
    return AckOut(client=client.name, acked_seq=line.stores.acks.acknowledge(client.name, body.seq))


@router.get("/heartbeat", response_model=Heartbeat, summary="Is the service alive, how far is it, is it in fail-safe")
def get_heartbeat(line: LineDep, client: PlcReader) -> Heartbeat:
    return heartbeat(line, client)
