"""Decisions: append-only, numbered per line. Each store reads and writes one line's decisions
(several services, one per line, may share a database)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Row, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from gaikan.service.decision import Outcome
from gaikan.service.records import DecisionRecord, StoredDecision, ViewPictures, record_from_row, row_values
from gaikan.service.storage.schema import decisions, line_sequences


def _from_row(row: Row) -> StoredDecision:
    return StoredDecision(
        seq=row.seq,
        record=record_from_row(row._mapping),
        image_path=row.image_path,
        heatmap_path=row.heatmap_path,
        line_id=row.line_id,
        view_pictures={view: ViewPictures(paths.get("image"), paths.get("heatmap")) for view, paths in (row.view_pictures or {}).items()},
    )


def _view_pictures_json(views: Mapping[str, ViewPictures] | None) -> dict[str, Any] | None:
    return {view: {"image": p.image_path, "heatmap": p.heatmap_path} for view, p in views.items()} if views else None


def _reserve(connection: Connection, line: str, count: int) -> int:
    """Move the line's counter on by `count` inside the caller's transaction; returns the new
    newest seq. The row lock (PostgreSQL) or the write lock (SQLite) holds until commit, so seqs
    of one line are handed out one transaction at a time, without gaps."""
    moved = update(line_sequences).where(line_sequences.c.line_id == line).values(last_seq=line_sequences.c.last_seq + count)
    last = connection.execute(moved.returning(line_sequences.c.last_seq)).scalar()
    if last is None:  # the line's first decision
        connection.execute(insert(line_sequences).values(line_id=line, last_seq=count))
        return count
    return int(last)


class DecisionStore:
    """Append and query the decisions of line `line`. Safe to use from several threads."""

    def __init__(self, engine: Engine, *, line: str) -> None:
        self._engine = engine
        self._line = line
        self._mine = decisions.c.line_id == line
        # The queries a PLC poll makes many times a second, built once (building one costs more than running it).
        self._after_query = (
            select(decisions).where(self._mine, decisions.c.seq > bindparam("after")).order_by(decisions.c.seq).limit(bindparam("limit"))
        )
        self._last_seq_query = select(func.max(decisions.c.seq)).where(self._mine)

    @property
    def line(self) -> str:
        return self._line

    def for_line(self, line: str) -> DecisionStore:
        """The same database, another line's decisions (read them; that line's service writes them)."""
        return self if line == self._line else DecisionStore(self._engine, line=line)

    def append(self, records: Sequence[DecisionRecord]) -> list[StoredDecision]:
        """Persist records in order in one transaction; returns them with their new `seq`s.
        When this returns, the decisions are committed."""
        if not records:
            return []
        try:
            return self._append(records)
        except IntegrityError:  # another writer created the line's counter at the same moment: it exists now
            return self._append(records)

    def _append(self, records: Sequence[DecisionRecord]) -> list[StoredDecision]:
        with self._engine.begin() as connection:
            first = _reserve(connection, self._line, len(records)) - len(records) + 1
            stored = [StoredDecision(seq=first + i, record=record, line_id=self._line) for i, record in enumerate(records)]
            connection.execute(insert(decisions), [{"line_id": self._line, "seq": s.seq, **row_values(s.record)} for s in stored])
        return stored

    def attach_evidence(
        self, seq: int, image_path: str | None, heatmap_path: str | None, views: Mapping[str, ViewPictures] | None = None
    ) -> None:
        """Record a decision's kept pictures (all None: they were deleted); `views`: each view's, for
        a station's part."""
        values = {"image_path": image_path, "heatmap_path": heatmap_path, "view_pictures": _view_pictures_json(views)}
        with self._engine.begin() as connection:
            connection.execute(update(decisions).where(self._mine, decisions.c.seq == seq).values(**values))

    def get(self, seq: int) -> StoredDecision | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(decisions).where(self._mine, decisions.c.seq == seq)).first()
        return _from_row(row) if row else None

    def after(self, seq: int, limit: int) -> list[StoredDecision]:
        """Decisions with seq > `seq`, ascending: what a PLC has not seen yet."""
        with self._engine.connect() as connection:
            return [_from_row(row) for row in connection.execute(self._after_query, {"after": seq, "limit": limit})]

    def count_between(self, after: int, upto: int) -> int:
        """How many decisions have `after` < seq <= `upto` (an index range: cheap for a short one)."""
        query = select(func.count()).where(self._mine, decisions.c.seq > after, decisions.c.seq <= upto)
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
        query = select(decisions).where(self._mine)
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
        query = select(decisions.c.decision, func.count()).where(self._mine).group_by(decisions.c.decision)
        if since is not None:
            query = query.where(decisions.c.decided_at >= since)
        counts = {outcome.value: 0 for outcome in Outcome}
        with self._engine.connect() as connection:
            for outcome, count in connection.execute(query):
                counts[outcome] = int(count)
        return counts

    def last_seq(self) -> int:
        with self._engine.connect() as connection:
            return int(connection.execute(self._last_seq_query).scalar() or 0)

    def lines(self) -> list[str]:
        """Every line with decisions in this database."""
        with self._engine.connect() as connection:
            return [str(line) for line in connection.execute(select(line_sequences.c.line_id).order_by(line_sequences.c.line_id)).scalars()]
