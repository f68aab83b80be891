"""The API docs page (Swagger UI) served entirely from the package: it works on an air-gapped line."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Gaikan API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},  # never ask validator.swagger.io
    )


def add_docs(app: FastAPI) -> None:
    """`/docs` and its assets (swagger-ui-dist, vendored in `service/swagger_ui/`)."""
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=str(files("gaikan.service") / "swagger_ui")), name="docs-assets")
