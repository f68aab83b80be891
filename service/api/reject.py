"""The reject gate for PLCs: the decision stream in seq order, acknowledgements, heartbeat."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from gaikan.service.api.deps import Plc, PlcReader, ServicesDep
from gaikan.service.api.schemas import AckIn, AckOut, DecisionOut, Heartbeat, RejectPage, utc
from gaikan.service.auth import Principal
from gaikan.service.services import Services

router = APIRouter(prefix="/api/v1/reject", tags=["reject gate"])


def heartbeat(services: Services, client: Principal) -> Heartbeat:
    stores = services.context.stores
    return Heartbeat(
        server_time=utc(time.time()),
        last_seq=stores.decisions.last_seq(),
        acked_seq=stores.acks.acknowledged(client.name),
        fail_safe=services.status.fail_safe(),
        active_model=services.status.active_model(),
        camera_state=services.status.camera_state(),
    )


@router.get("", response_model=RejectPage, summary="Decisions after a seq, oldest first")
def decisions_after(
    services: ServicesDep,
    client: PlcReader,
    after: Annotated[int | None, Query(ge=0, description="Return decisions with seq > after; default: this client's acknowledged seq")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RejectPage:
    start = after if after is not None else services.context.stores.acks.acknowledged(client.name)
    beat = heartbeat(services, client)
    items = services.context.stores.decisions.after(start, limit)
    return RejectPage(items=[DecisionOut.of(item) for item in items], last_seq=beat.last_seq, heartbeat=beat)


@router.post("/ack", response_model=AckOut, summary="Acknowledge every decision up to a seq")
def acknowledge(body: AckIn, services: ServicesDep, client: Plc) -> AckOut:
    last = services.context.stores.decisions.last_seq()
    if body.seq > last:
        raise HTTPException(status_code=422, detail=f"cannot acknowledge seq {body.seq}: the newest decision is {last}")
    return AckOut(client=client.name, acked_seq=services.context.stores.acks.acknowledge(client.name, body.seq))


@router.get("/heartbeat", response_model=Heartbeat, summary="Is the service alive, how far is it, is it in fail-safe")
def get_heartbeat(services: ServicesDep, client: PlcReader) -> Heartbeat:
    return heartbeat(services, client)
