"""The dashboard's static files, served so that browsers revalidate them: a line-side screen left
open across an upgrade must not mix cached old modules with new ones."""

from __future__ import annotations

from typing import Any

from fastapi.staticfiles import StaticFiles
from starlette.responses import Response


class DashboardFiles(StaticFiles):
    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"  # reuse only after an ETag check (304)
        return response
