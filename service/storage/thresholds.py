"""Per-model-version threshold overrides (a model's own thresholds live in its manifest)."""

from __future__ import annotations

import time

from sqlalchemy import Engine, delete, insert, select

from gaikan.models.thresholds import Thresholds
from gaikan.service.storage.audit import record_audit
from gaikan.service.storage.schema import threshold_overrides


class ThresholdStore:
    """One line's overrides."""

    def __init__(self, engine: Engine, *, line: str) -> None:
        self._engine = engine
        self._line = line
        self._mine = threshold_overrides.c.line_id == line

    def get(self, model_version: str) -> Thresholds | None:
        query = select(threshold_overrides).where(self._mine, threshold_overrides.c.model_version == model_version)
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return Thresholds(reject=row.reject, review=row.review) if row else None

    def set(self, model_version: str, thresholds: Thresholds, *, actor: str, old: Thresholds, forced: bool = False) -> None:
        """Store the override and its audit entry (`forced` when set past the sanity rule) in one transaction."""
        with self._engine.begin() as connection:
            connection.execute(delete(threshold_overrides).where(self._mine, threshold_overrides.c.model_version == model_version))
            connection.execute(
                insert(threshold_overrides).values(
                    line_id=self._line,
                    model_version=model_version,
                    reject=thresholds.reject,
                    review=thresholds.review,
                    updated_at=time.time(),
                    updated_by=actor,
                )
            )
            record_audit(
                connection,
                line=self._line,
                actor=actor,
                action="thresholds.update",
                target=model_version,
                old=old.model_dump(),
                new={**thresholds.model_dump(), "forced": True} if forced else thresholds.model_dump(),
            )
