"""The reject gate for PLCs over REST: the reject stream in seq order, acknowledgements, heartbeat.

A PLC polls many times a second: the two reads encode their answer once (`json_response`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from gaikan.service.api.deps import Plc, PlcReader, ServicesDep
from gaikan.service.api.errors import AUTH_ERRORS, error_responses
from gaikan.service.api.schemas import INT64_MAX, AckIn, AckOut, DecisionOut, Heartbeat, RejectPage, json_response, utc
from gaikan.service.reject_stream import StreamHeartbeat

router = APIRouter(prefix="/api/v1/reject", tags=["reject gate"], responses=AUTH_ERRORS)


def heartbeat_out(beat: StreamHeartbeat) -> Heartbeat:
    return Heartbeat(
        server_time=utc(beat.server_time),
        last_seq=beat.last_seq,
        acked_seq=beat.acked_seq,
        fail_safe=list(beat.fail_safe),
        active_model=beat.active_model,
        active_model_calibrated=beat.active_model_calibrated,
        camera_state=beat.camera_state,
        pending=beat.pending,
        plc_silent=list(beat.plc_silent),
    )


@router.get("", response_model=RejectPage, summary="Decisions after a seq, oldest first")
def decisions_after(
    services: ServicesDep,
    client: PlcReader,
    after: Annotated[int | None, Query(ge=0, le=INT64_MAX, description="Return decisions with seq > after; default: this client's acknowledged seq")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    stream = services.reject
    beat = heartbeat_out(stream.heartbeat(client.name))
    items = stream.after(client.name, after, limit)
    return json_response(RejectPage(items=[DecisionOut.of(item) for item in items], last_seq=beat.last_seq, heartbeat=beat))


@router.post("/ack", response_model=AckOut, summary="Acknowledge every decision up to a seq", responses=error_responses(400))
def acknowledge(body: AckIn, services: ServicesDep, client: Plc) -> AckOut:
    return AckOut(client=client.name, acked_seq=services.reject.acknowledge(client.name, body.seq))


@router.get("/heartbeat", response_model=Heartbeat, summary="Is the service alive, how far is it, is it in fail-safe")
def get_heartbeat(services: ServicesDep, client: PlcReader) -> Response:
    return json_response(heartbeat_out(services.reject.heartbeat(client.name)))
