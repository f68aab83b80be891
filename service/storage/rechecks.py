"""Re-check verdicts: what a person found on a decided part, one current verdict per decision."""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import Connection, Engine, and_, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from gaikan.service.decision import Outcome
from gaikan.service.storage.audit import record_audit
from gaikan.service.storage.schema import decisions, rechecks

# SQLite binds at most 32766 parameters per statement; stay well below for `IN (...)` lists.
_CHUNK = 500


class Finding(enum.StrEnum):
    """What the person who re-checked the part found."""

    DEFECTIVE = "defective"
    GOOD = "good"


@dataclass(frozen=True, slots=True)
class Recheck:
    seq: int
    verdict: Finding
    defect_type: str | None
    note: str | None
    checked_at: float
    checked_by: str
    exported_at: float | None = None

    def audit_value(self) -> dict[str, object]:
        """What the audit trail records of a verdict (not the export bookkeeping)."""
        value = asdict(self)
        value.pop("exported_at")
        value["verdict"] = self.verdict.value
        return value


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """Decisions in a period grouped by what the line decided and what a person found."""

    outcome: Outcome
    model_version: str | None
    finding: Finding | None  # None: not re-checked
    defect_type: str | None
    count: int


def _from_row(row) -> Recheck:  # noqa: ANN001 - a SQLAlchemy row of `rechecks`
    return Recheck(
        seq=row.seq,
        verdict=Finding(row.verdict),
        defect_type=row.defect_type,
        note=row.note,
        checked_at=row.checked_at,
        checked_by=row.checked_by,
        exported_at=row.exported_at,
    )


def _chunks(seqs: Iterable[int]) -> Iterable[list[int]]:
    items = list(seqs)
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


# Decisions are stored in the order they are decided, give or take the recorder's batching and a
# deadline reject; a period's first seq is looked up this much before its start, to be safe.
_ORDER_SLACK_S = 60.0
_FLAGGED = [Outcome.REVIEW.value, Outcome.REJECT.value]
_same_decision = and_(rechecks.c.line_id == decisions.c.line_id, rechecks.c.seq == decisions.c.seq)


@dataclass(frozen=True, slots=True)
class _Period:
    """A time period of decisions, narrowed to a seq range (the primary key) so that queries over
    a recent period read only its rows."""

    line: str
    since: float | None
    until: float | None
    model: str | None
    first_seq: int

    @classmethod
    def of(cls, connection: Connection, line: str, since: float | None, until: float | None, model: str | None) -> _Period:
        mine = decisions.c.line_id == line
        first = 0
        if since is not None:
            # The earliest decision by time (the decided_at index), not min(seq), which SQLite
            # answers by walking the table from its first row.
            query = (
                select(decisions.c.seq)
                .where(mine, decisions.c.decided_at >= since - _ORDER_SLACK_S)
                .order_by(decisions.c.decided_at)
                .limit(1)
            )
            found = connection.execute(query).scalar()
            first = int(found) if found is not None else connection.execute(select(func.max(decisions.c.seq)).where(mine)).scalar() or 0
        return cls(line, since, until, model, first)

    def where(self, query, seq_column=decisions.c.seq):  # noqa: ANN001, ANN201 - a Select in, a Select out
        query = query.where(decisions.c.line_id == self.line, seq_column >= self.first_seq)
        if self.since is not None:
            query = query.where(decisions.c.decided_at >= self.since)
        if self.until is not None:
            query = query.where(decisions.c.decided_at < self.until)
        if self.model is not None:
            query = query.where(decisions.c.model_version == self.model)
        return query


class RecheckStore:
    """Verdicts, the re-check queue, the confusion counts and the export bookkeeping."""

    def __init__(self, engine: Engine, *, line: str) -> None:
        self._engine = engine
        self._line = line
        self._mine = rechecks.c.line_id == line

    def _period(self, connection: Connection, since: float | None, until: float | None = None, model: str | None = None) -> _Period:
        return _Period.of(connection, self._line, since, until, model)

    def get(self, seq: int) -> Recheck | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(rechecks).where(self._mine, rechecks.c.seq == seq)).first()
        return _from_row(row) if row else None

    def for_seqs(self, seqs: Sequence[int]) -> dict[int, Recheck]:
        found: dict[int, Recheck] = {}
        with self._engine.connect() as connection:
            for chunk in _chunks(seqs):
                for row in connection.execute(select(rechecks).where(self._mine, rechecks.c.seq.in_(chunk))):
                    found[row.seq] = _from_row(row)
        return found

    def put(
        self, seq: int, *, verdict: Finding, defect_type: str | None, note: str | None, actor: str
    ) -> tuple[Recheck | None, Recheck]:
        """Record (or replace) the verdict on decision `seq` and audit it in the same transaction.
        A changed verdict must be exported again, so its pictures are kept again."""
        new = Recheck(seq=seq, verdict=verdict, defect_type=defect_type, note=note, checked_at=time.time(), checked_by=actor)
        try:
            old = self._put(new, actor)
        except IntegrityError:  # two first verdicts at once: the other one is stored now, replace it
            old = self._put(new, actor)
        return old, new

    def _put(self, new: Recheck, actor: str) -> Recheck | None:
        seq = new.seq
        values = {k: v for k, v in asdict(new).items() if k != "seq"}
        with self._engine.begin() as connection:
            row = connection.execute(select(rechecks).where(self._mine, rechecks.c.seq == seq).with_for_update()).first()
            old = _from_row(row) if row else None
            if old is None:
                connection.execute(insert(rechecks).values(line_id=self._line, seq=seq, **values))
            else:
                connection.execute(update(rechecks).where(self._mine, rechecks.c.seq == seq).values(**values))
            record_audit(
                connection,
                line=self._line,
                actor=actor,
                action="recheck.set",
                target=f"result {seq}",
                old=old.audit_value() if old else None,
                new=new.audit_value(),
            )
        return old

    def _pending(self, columns, period: _Period):  # noqa: ANN001, ANN202 - Select
        unchecked = ~select(rechecks.c.seq).where(_same_decision).exists()
        return period.where(select(*columns).where(decisions.c.decision.in_(_FLAGGED), unchecked))

    def pending_seqs(self, *, since: float | None, limit: int, after_seq: int = 0) -> list[int]:
        """Flagged decisions (review or reject) no one has re-checked yet, oldest first."""
        with self._engine.connect() as connection:
            query = self._pending([decisions.c.seq], self._period(connection, since))
            query = query.where(decisions.c.seq > after_seq).order_by(decisions.c.seq).limit(limit)
            return [int(seq) for seq in connection.execute(query).scalars()]

    def pending_count(self, *, since: float | None) -> int:
        with self._engine.connect() as connection:
            query = self._pending([func.count()], self._period(connection, since))
            return int(connection.execute(query).scalar() or 0)

    def summary_rows(self, *, since: float | None, until: float | None, model: str | None) -> list[SummaryRow]:
        """Counts of decisions in the period by outcome, model version, finding and defect type
        (finding None: not re-checked). Two queries: all decisions by outcome and model version,
        then the re-checked ones from the (much smaller) re-check table."""
        # An expression, not the column: otherwise SQLite groups by walking the (decision, seq)
        # index over every decision ever stored instead of reading the period's rows.
        outcome = (decisions.c.decision + literal("")).label("outcome")
        with self._engine.connect() as connection:
            period = self._period(connection, since, until, model)
            totals = connection.execute(
                period.where(select(outcome, decisions.c.model_version, func.count())).group_by(outcome, decisions.c.model_version)
            ).all()
            keys = (decisions.c.decision, decisions.c.model_version, rechecks.c.verdict, rechecks.c.defect_type)
            checked = connection.execute(
                period.where(
                    select(*keys, func.count()).select_from(rechecks.join(decisions, _same_decision)),
                    rechecks.c.seq,
                ).group_by(*keys)
            ).all()
        rows = [
            SummaryRow(Outcome(decision), version, Finding(verdict), defect_type, int(count))
            for decision, version, verdict, defect_type, count in checked
        ]
        unchecked: dict[tuple[str, str | None], int] = {(o, v): int(n) for o, v, n in totals}
        for row in rows:
            unchecked[(row.outcome.value, row.model_version)] -= row.count
        rows += [SummaryRow(Outcome(o), v, None, None, n) for (o, v), n in unchecked.items() if n > 0]
        return rows

    def rechecked_seqs(self, *, since: float | None, until: float | None, model: str | None) -> list[int]:
        """Every re-checked decision decided in the period, oldest first."""
        query = select(rechecks.c.seq).select_from(rechecks.join(decisions, _same_decision))
        with self._engine.connect() as connection:
            query = self._period(connection, since, until, model).where(query, rechecks.c.seq).order_by(rechecks.c.seq)
            return [int(seq) for seq in connection.execute(query).scalars()]

    def kept_passes(self, *, since: float | None, until: float | None, model: str | None) -> list[int]:
        """Passed decisions in the period that nobody re-checked and whose image is kept, oldest first."""
        unchecked = ~select(rechecks.c.seq).where(_same_decision).exists()
        query = select(decisions.c.seq).where(
            decisions.c.decision == Outcome.PASS.value, decisions.c.image_path.is_not(None), unchecked
        )
        with self._engine.connect() as connection:
            query = self._period(connection, since, until, model).where(query).order_by(decisions.c.seq)
            return [int(seq) for seq in connection.execute(query).scalars()]

    def unexported(self, seqs: Sequence[int]) -> set[int]:
        """The decisions among `seqs` with a verdict not yet exported: image retention keeps them."""
        held: set[int] = set()
        with self._engine.connect() as connection:
            for chunk in _chunks(seqs):
                query = select(rechecks.c.seq).where(self._mine, rechecks.c.seq.in_(chunk), rechecks.c.exported_at.is_(None))
                held.update(int(seq) for seq in connection.execute(query).scalars())
        return held

    def mark_exported(self, verdicts: Sequence[Recheck], at: float | None = None) -> int:
        """Mark these verdicts exported; one changed since it was read stays held. Returns how many."""
        at = time.time() if at is None else at
        marked = 0
        with self._engine.begin() as connection:
            for recheck in verdicts:
                result = connection.execute(
                    update(rechecks)
                    .where(and_(self._mine, rechecks.c.seq == recheck.seq, rechecks.c.checked_at == recheck.checked_at))
                    .values(exported_at=at)
                )
                marked += result.rowcount
        return marked
