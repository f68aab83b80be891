"""Live thresholds of the active model: read from the line's snapshot, changed by a command."""

from __future__ import annotations

from gaikan.models.thresholds import Thresholds
from gaikan.service.api.schemas import ThresholdsOut
from gaikan.service.errors import NoActiveModel
from gaikan.service.line_protocol import SetThresholds
from gaikan.service.services.context import ApiContext


class ThresholdsService:
    def __init__(self, context: ApiContext) -> None:
        self._line = context.line

    def current(self) -> ThresholdsOut:
        snapshot = self._line.snapshot
        active = snapshot.active if snapshot else None
        if active is None:
            raise NoActiveModel("no active model: thresholds belong to a model version")
        return ThresholdsOut(
            model_version=active.version,
            reject=active.thresholds.reject,
            review=active.thresholds.review,
            source=active.thresholds_source,
            manifest=active.manifest_thresholds,
        )

    def set(self, thresholds: Thresholds, *, actor: str, force: bool = False) -> ThresholdsOut:
        """New thresholds for the active model, from the next frame; implausible ones are refused
        unless `force` (audited as forced)."""
        self._line.execute(SetThresholds(thresholds, actor, force))
        return self.current()
