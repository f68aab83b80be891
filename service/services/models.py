"""Model versions: list and upload here (validated and stored by the API process); activate and
roll back in the line process."""

from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool

from gaikan.service.api.schemas import ModelVersionOut, utc
from gaikan.service.errors import UnknownVersion
from gaikan.service.line_protocol import Activate, Rollback
from gaikan.service.services.context import ApiContext
from gaikan.service.storage.model_versions import Activation, ModelVersionRow


class ModelsService:
    def __init__(self, context: ApiContext) -> None:
        self._context = context

    def all(self) -> list[ModelVersionOut]:
        latest = self._latest_activations()
        return [self._out(row, latest) for row in self._context.stores.versions.all()]

    def one(self, version: str) -> ModelVersionOut:
        row = self._context.stores.versions.get(version)
        if row is None:
            raise UnknownVersion(f"no model version {version!r}")
        return self._out(row, self._latest_activations())

    async def upload(self, package: Path, *, actor: str) -> ModelVersionOut:
        """Validate the package file completely, then store it (the running model is untouched)."""
        row = await run_in_threadpool(self._context.uploads.upload, package, actor=actor, source="upload")
        return self._out(row, self._latest_activations())

    def activate(self, version: str, *, actor: str) -> ModelVersionOut:
        self._context.line.execute(Activate(version, actor))
        return self.one(version)

    def rollback(self, *, actor: str) -> ModelVersionOut:
        version = self._context.line.execute(Rollback(actor))
        assert isinstance(version, str)
        return self.one(version)

    def _latest_activations(self) -> dict[str, Activation]:
        """The most recent activation of each version, read in one query."""
        return {activation.version: activation for activation in self._context.stores.versions.activations()}

    def _out(self, row: ModelVersionRow, latest_activations: dict[str, Activation]) -> ModelVersionOut:
        latest = latest_activations.get(row.version)
        snapshot = self._context.line.snapshot
        active = snapshot.active.version if snapshot and snapshot.active else None
        shadow = snapshot.shadow if snapshot else None
        return ModelVersionOut(
            version=row.version,
            name=row.name,
            architecture=row.architecture,
            graph_sha256=row.graph_sha256,
            uploaded_at=utc(row.uploaded_at),
            uploaded_by=row.uploaded_by,
            activated_at=utc(latest.at) if latest else None,
            activated_by=latest.by if latest else None,
            active=active == row.version,
            shadow=shadow == row.version,
            manifest=row.manifest,
        )
