"""CSV downloads: how a route documents one and the headers its response carries, in one place."""

from __future__ import annotations

from typing import Any

from gaikan.service.api.errors import error_responses

CSV = "text/csv"


def csv_responses(description: str, *errors: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` of a route answering a CSV file (plus the error codes it may answer)."""
    return {200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": description}, **error_responses(*errors)}


def download_headers(filename: str) -> dict[str, str]:
    """Headers that make a browser save the answer as `filename`."""
    return {"Content-Disposition": f'attachment; filename="{filename}"'}
