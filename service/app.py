"""The FastAPI application: routes, metrics, dashboard, and the line's lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gaikan.service.api import audit, camera, counts, events, models, reject, results, session, status, thresholds
from gaikan.service.auth import Authenticator
from gaikan.service.dashboard_files import DashboardFiles
from gaikan.service.line import Line
from gaikan.service.plc.metrics import register_plc_metrics
from gaikan.service.plc.models import ModelControl
from gaikan.service.plc.servers import PlcServers
from gaikan.service.reject_stream import LineState, RejectStream, StreamLimits
from gaikan.service.settings import Settings


def reject_stream_for(line: Line, settings: Settings) -> RejectStream:
    """The one reject stream over the line's stores; the line's state read when asked."""

    def line_state() -> LineState:
        active = line.registry.active
        return LineState(
            fail_safe=tuple(line.fail_safe_reasons()),
            camera_state=line.camera_state.value if line.camera_state else "none",
            active_model=active.version if active else None,
        )

    limits = StreamLimits(silence_s=settings.plc.silence_s, buffer_limit=settings.plc.buffer_limit, watch=tuple(settings.plc.watch))
    return RejectStream(line.stores.decisions, line.stores.acks, line_state, limits)


def model_control(line: Line) -> ModelControl:
    """The registry calls the REST model routes make (activation is audited with the actor)."""
    return ModelControl(
        versions=lambda: [row.version for row in line.registry.versions()],
        activate=lambda version, actor: line.registry.activate(version, actor=actor).version,
    )


def create_app(settings: Settings, line: Line | None = None) -> FastAPI:
    """The app for `settings`. The line starts with the app and stops with it."""
    line = line or Line(settings)
    authenticator = Authenticator(settings.api_keys)
    stream = reject_stream_for(line, settings)
    register_plc_metrics(line.metrics.registry, stream)
    plc_servers = PlcServers(settings.plc, stream, model_control(line), authenticator, settings.data_dir)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        plc_servers.start()  # first: building the OPC UA address space takes CPU the running line would miss
        try:
            line.start()
            try:
                yield
            finally:
                line.stop()
        finally:
            plc_servers.stop()

    app = FastAPI(
        title="Gaikan",
        summary="Real-time visual inspection: decisions, reject gate, models and thresholds",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.line = line
    app.state.authenticator = authenticator
    app.state.reject_stream = stream
    for module in (status, counts, results, reject, thresholds, models, audit, events, session, camera):
        app.include_router(module.router)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(line.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    dashboard = files("gaikan.service") / "dashboard"
    app.mount("/", DashboardFiles(directory=str(dashboard), html=True), name="dashboard")
    return app
