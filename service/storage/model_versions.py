"""Model versions known to the service and the history of activations."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Row, insert, select

from gaikan.models.package import Manifest
from gaikan.service.storage.audit import record_audit
from gaikan.service.storage.schema import model_activations, model_versions


@dataclass(frozen=True, slots=True)
class ModelVersionRow:
    version: str
    name: str
    architecture: str
    graph_sha256: str
    path: str
    uploaded_at: float
    uploaded_by: str
    manifest: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Activation:
    version: str
    at: float
    by: str
    kind: str


def _version_row(row: Row) -> ModelVersionRow:
    return ModelVersionRow(**{k: v for k, v in row._mapping.items() if k != "line_id"})


class ModelVersionStore:
    """One line's model versions (their packages live in that service's data_dir) and activations."""

    def __init__(self, engine: Engine, *, line: str) -> None:
        self._engine = engine
        self._line = line

    def add(self, manifest: Manifest, path: str, *, actor: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                insert(model_versions).values(
                    line_id=self._line,
                    version=manifest.version,
                    name=manifest.name,
                    architecture=manifest.architecture,
                    graph_sha256=manifest.graph_sha256,
                    path=path,
                    uploaded_at=time.time(),
                    uploaded_by=actor,
                    manifest=manifest.model_dump(mode="json"),
                )
            )
            record_audit(connection, line=self._line, actor=actor, action="model.upload", target=manifest.version, new={"name": manifest.name, "architecture": manifest.architecture, "graph_sha256": manifest.graph_sha256})

    def get(self, version: str) -> ModelVersionRow | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(model_versions).where(model_versions.c.line_id == self._line, model_versions.c.version == version)).first()
        return _version_row(row) if row else None

    def all(self) -> list[ModelVersionRow]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(model_versions).where(model_versions.c.line_id == self._line).order_by(model_versions.c.uploaded_at))
            return [_version_row(row) for row in rows]

    def record_activation(self, version: str, *, actor: str, previous: str | None, kind: str = "activate") -> None:
        """Record an activation (`kind` "activate" or "rollback") and its audit entry together."""
        with self._engine.begin() as connection:
            connection.execute(insert(model_activations).values(line_id=self._line, version=version, at=time.time(), by=actor, kind=kind))
            record_audit(connection, line=self._line, actor=actor, action=f"model.{kind}", target=version, old=previous, new=version)

    def activation_stack(self) -> list[str]:
        """Versions in the order they became active, with rolled-back ones popped off: the last
        is the active version, the one before it is where a rollback goes."""
        stack: list[str] = []
        for activation in self.activations():
            if activation.kind == "rollback":
                if stack:
                    stack.pop()
                if not stack or stack[-1] != activation.version:
                    stack.append(activation.version)
            else:
                stack.append(activation.version)
        return stack

    def activations(self) -> list[Activation]:
        """Every activation, oldest first."""
        with self._engine.connect() as connection:
            query = select(model_activations).where(model_activations.c.line_id == self._line).order_by(model_activations.c.id)
            rows = connection.execute(query)
            return [Activation(version=r.version, at=r.at, by=r.by, kind=r.kind) for r in rows]
