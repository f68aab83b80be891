"""The one rule for a time range asked of the service (exports, re-check summaries)."""

from __future__ import annotations

from gaikan.service.errors import InvalidInput


def check_period(since: float | None, until: float | None) -> None:
    """A range with both ends must start before it ends; either end may be open (None)."""
    if since is not None and until is not None and since >= until:
        raise InvalidInput("`since` must be before `until`")
