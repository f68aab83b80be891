"""The audit trail: who changed what, when, from what to what."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from gaikan.service.storage.schema import audit


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: float
    actor: str
    action: str
    target: str | None
    old: Any
    new: Any


def record_audit(
    connection: Connection, *, line: str, actor: str, action: str, target: str | None = None, old: Any = None, new: Any = None
) -> None:
    """Add an entry to line `line`'s trail inside the caller's transaction, so the change and its audit commit together."""
    connection.execute(
        insert(audit).values(line_id=line, at=time.time(), actor=actor, action=action, target=target, old=old, new=new)
    )


class AuditLog:
    """One line's audit trail."""

    def __init__(self, engine: Engine, *, line: str) -> None:
        self._engine = engine
        self._line = line

    def record(self, *, actor: str, action: str, target: str | None = None, old: Any = None, new: Any = None) -> None:
        with self._engine.begin() as connection:
            record_audit(connection, line=self._line, actor=actor, action=action, target=target, old=old, new=new)

    def entries(self, *, limit: int = 100, before_id: int | None = None, action: str | None = None) -> list[AuditEntry]:
        query = select(audit).where(audit.c.line_id == self._line).order_by(audit.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(audit.c.id < before_id)
        if action is not None:
            query = query.where(audit.c.action == action)
        with self._engine.connect() as connection:
            return [
                AuditEntry(id=r.id, at=r.at, actor=r.actor, action=r.action, target=r.target, old=r.old, new=r.new)
                for r in connection.execute(query)
            ]
