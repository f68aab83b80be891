"""Server-Sent Events: live decisions and model swaps for the dashboard."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from gaikan.service.api.deps import BrowserReader, ServicesDep
from gaikan.service.api.errors import AUTH_ERRORS

router = APIRouter(prefix="/api/v1", tags=["events"], responses=AUTH_ERRORS)

KEEPALIVE_S = 15.0


@router.get(
    "/events",
    summary="Live events (text/event-stream): `decision`, `model`",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": "Server-Sent Events"}},
)
async def events(request: Request, services: ServicesDep, _: BrowserReader) -> StreamingResponse:
    async def stream() -> AsyncIterator[str]:
        async with services.context.feed.events.subscribe() as queue:
            yield "retry: 2000\n\n"
            while not await request.is_disconnected():
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield event

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
