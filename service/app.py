"""The FastAPI application: routes, metrics, dashboard, and the line's lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gaikan.service.api import audit, camera, counts, events, models, recheck, reject, results, session, status, thresholds
from gaikan.service.auth import Authenticator
from gaikan.service.dashboard_files import DashboardFiles
from gaikan.service.line import Line
from gaikan.service.rechecks import Rechecks
from gaikan.service.settings import Settings


def create_app(settings: Settings, line: Line | None = None) -> FastAPI:
    """The app for `settings`. The line starts with the app and stops with it."""
    line = line or Line(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        line.start()
        try:
            yield
        finally:
            line.stop()

    app = FastAPI(
        title="Gaikan",
        summary="Real-time visual inspection: decisions, reject gate, models and thresholds",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.line = line
    app.state.authenticator = Authenticator(settings.api_keys)
    app.state.rechecks = Rechecks(line.stores.rechecks, line.stores.decisions, line.stores.versions, settings.defect_types)
    for module in (status, counts, results, recheck, reject, thresholds, models, audit, events, session, camera):
        app.include_router(module.router)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(line.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    dashboard = files("gaikan.service") / "dashboard"
    app.mount("/", DashboardFiles(directory=str(dashboard), html=True), name="dashboard")
    return app
