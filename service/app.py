"""The FastAPI application: routes, metrics, dashboard, the PLC protocol servers, and the
lifecycle of the API context (stores, line client → line process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from gaikan.service.api import audit, camera, counts, errors, events, models, recheck, reject, results, session, status, thresholds
from gaikan.service.api.docs import add_docs
from gaikan.service.auth import Authenticator
from gaikan.service.dashboard_files import DashboardFiles
from gaikan.service.plc.models import ModelControl
from gaikan.service.plc.servers import PlcServers
from gaikan.service.services import Services
from gaikan.service.services.context import ApiContext
from gaikan.service.settings import Settings


def model_control(services: Services) -> ModelControl:
    """What the PLC servers may do with models: the same service calls the REST model routes make
    (activation goes to the line process and is audited with the actor)."""
    return ModelControl(
        versions=lambda: [row.version for row in services.models.all()],
        activate=lambda version, actor: services.models.activate(version, actor=actor).version,
    )


def create_app(settings: Settings, context: ApiContext | None = None) -> FastAPI:
    """The app for `settings`. The line process and the PLC servers start with the app and stop
    with it."""
    services = Services.of(context or ApiContext.build(settings))
    authenticator = Authenticator(settings.api_keys)
    plc_servers = PlcServers(settings.plc, services.reject, model_control(services), authenticator, settings.data_dir)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        plc_servers.start()  # first: building the OPC UA address space takes CPU the running line would miss
        try:
            services.context.start()
            try:
                yield
            finally:
                services.context.stop()
        finally:
            plc_servers.stop()

    app = FastAPI(
        title="Gaikan",
        summary="Real-time visual inspection: decisions, reject gate, models and thresholds",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served from the package by add_docs, not from a CDN
        redoc_url=None,
    )
    app.state.services = services
    app.state.authenticator = authenticator
    errors.install(app)
    for module in (status, counts, results, recheck, reject, thresholds, models, audit, events, session, camera):
        app.include_router(module.router)
    add_docs(app)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(services.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    dashboard = files("gaikan.service") / "dashboard"
    app.router.routes.append(errors.SiteMount(app, DashboardFiles(directory=str(dashboard), html=True), name="dashboard"))
    return app
