"""Decisions: append-only, `seq` assigned by the database."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, Row, bindparam, func, insert, select, update

from gaikan.service.decision import Outcome
from gaikan.service.records import DecisionRecord, StoredDecision, record_from_row, row_values
from gaikan.service.storage.schema import decisions


# The queries a PLC poll makes many times a second, built once (building one costs more than running it).
_AFTER = select(decisions).where(decisions.c.seq > bindparam("after")).order_by(decisions.c.seq).limit(bindparam("limit"))
_LAST_SEQ = select(func.max(decisions.c.seq))


def _from_row(row: Row) -> StoredDecision:
    return StoredDecision(
        seq=row.seq, record=record_from_row(row._mapping), image_path=row.image_path, heatmap_path=row.heatmap_path
    )


class DecisionStore:
    """Append and query decisions. Safe to use from several threads."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def append(self, records: Sequence[DecisionRecord]) -> list[StoredDecision]:
        """Persist records in order in one transaction; returns them with their new `seq`s.
        When this returns, the decisions are committed."""
        stored: list[StoredDecision] = []
        with self._engine.begin() as connection:
            for record in records:
                result = connection.execute(insert(decisions).values(**row_values(record)))
                stored.append(StoredDecision(seq=int(result.inserted_primary_key[0]), record=record))
        return stored

    def attach_evidence(self, seq: int, image_path: str | None, heatmap_path: str | None) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(decisions).where(decisions.c.seq == seq).values(image_path=image_path, heatmap_path=heatmap_path)
            )

    def get(self, seq: int) -> StoredDecision | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(decisions).where(decisions.c.seq == seq)).first()
        return _from_row(row) if row else None

    def after(self, seq: int, limit: int) -> list[StoredDecision]:
        """Decisions with seq > `seq`, ascending: what a PLC has not seen yet."""
        with self._engine.connect() as connection:
            return [_from_row(row) for row in connection.execute(_AFTER, {"after": seq, "limit": limit})]

    def count_between(self, after: int, upto: int) -> int:
        """How many decisions have `after` < seq <= `upto` (an index range: cheap for a short one)."""
        query = select(func.count()).where(decisions.c.seq > after, decisions.c.seq <= upto)
        with self._engine.connect() as connection:
            return int(connection.execute(query).scalar() or 0)

    def page(
        self,
        *,
        limit: int,
        before_seq: int | None = None,
        after_seq: int | None = None,
        decision: Outcome | None = None,
        since: float | None = None,
        until: float | None = None,
        ascending: bool = False,
    ) -> list[StoredDecision]:
        """Newest first (or oldest first with `ascending`), optionally filtered."""
        query = select(decisions)
        if before_seq is not None:
            query = query.where(decisions.c.seq < before_seq)
        if after_seq is not None:
            query = query.where(decisions.c.seq > after_seq)
        if decision is not None:
            query = query.where(decisions.c.decision == decision.value)
        if since is not None:
            query = query.where(decisions.c.decided_at >= since)
        if until is not None:
            query = query.where(decisions.c.decided_at < until)
        order = decisions.c.seq.asc() if ascending else decisions.c.seq.desc()
        with self._engine.connect() as connection:
            return [_from_row(row) for row in connection.execute(query.order_by(order).limit(limit))]

    def counts(self, since: float | None = None) -> dict[str, int]:
        """Number of decisions by outcome (every outcome present, zero if none)."""
        query = select(decisions.c.decision, func.count()).group_by(decisions.c.decision)
        if since is not None:
            query = query.where(decisions.c.decided_at >= since)
        counts = {outcome.value: 0 for outcome in Outcome}
        with self._engine.connect() as connection:
            for outcome, count in connection.execute(query):
                counts[outcome] = int(count)
        return counts

    def last_seq(self) -> int:
        with self._engine.connect() as connection:
            return int(connection.execute(_LAST_SEQ).scalar() or 0)
