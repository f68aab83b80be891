"""Re-check verdicts: what a person found on a decided part, one current verdict per decision."""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import Engine, and_, func, insert, select, update

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


def _period(query, since: float | None, until: float | None, model: str | None):  # noqa: ANN001, ANN202 - a Select
    if since is not None:
        query = query.where(decisions.c.decided_at >= since)
    if until is not None:
        query = query.where(decisions.c.decided_at < until)
    if model is not None:
        query = query.where(decisions.c.model_version == model)
    return query


class RecheckStore:
    """Verdicts, the re-check queue, the confusion counts and the export bookkeeping."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, seq: int) -> Recheck | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(rechecks).where(rechecks.c.seq == seq)).first()
        return _from_row(row) if row else None

    def for_seqs(self, seqs: Sequence[int]) -> dict[int, Recheck]:
        found: dict[int, Recheck] = {}
        with self._engine.connect() as connection:
            for chunk in _chunks(seqs):
                for row in connection.execute(select(rechecks).where(rechecks.c.seq.in_(chunk))):
                    found[row.seq] = _from_row(row)
        return found

    def put(
        self, seq: int, *, verdict: Finding, defect_type: str | None, note: str | None, actor: str
    ) -> tuple[Recheck | None, Recheck]:
        """Record (or replace) the verdict on decision `seq` and audit it in the same transaction.
        A changed verdict must be exported again, so its pictures are kept again."""
        new = Recheck(seq=seq, verdict=verdict, defect_type=defect_type, note=note, checked_at=time.time(), checked_by=actor)
        values = {k: v for k, v in asdict(new).items() if k != "seq"}
        with self._engine.begin() as connection:
            row = connection.execute(select(rechecks).where(rechecks.c.seq == seq).with_for_update()).first()
            old = _from_row(row) if row else None
            if old is None:
                connection.execute(insert(rechecks).values(seq=seq, **values))
            else:
                connection.execute(update(rechecks).where(rechecks.c.seq == seq).values(**values))
            record_audit(
                connection,
                actor=actor,
                action="recheck.set",
                target=f"result {seq}",
                old=old.audit_value() if old else None,
                new=new.audit_value(),
            )
        return old, new

    def pending_seqs(self, *, since: float | None, limit: int, after_seq: int = 0) -> list[int]:
        """Flagged decisions (review or reject) no one has re-checked yet, oldest first."""
        query = (
            select(decisions.c.seq)
            .select_from(decisions.outerjoin(rechecks, rechecks.c.seq == decisions.c.seq))
            .where(decisions.c.decision != Outcome.PASS.value, rechecks.c.seq.is_(None), decisions.c.seq > after_seq)
        )
        query = _period(query, since, None, None).order_by(decisions.c.seq).limit(limit)
        with self._engine.connect() as connection:
            return [int(seq) for seq in connection.execute(query).scalars()]

    def pending_count(self, *, since: float | None) -> int:
        query = (
            select(func.count())
            .select_from(decisions.outerjoin(rechecks, rechecks.c.seq == decisions.c.seq))
            .where(decisions.c.decision != Outcome.PASS.value, rechecks.c.seq.is_(None))
        )
        with self._engine.connect() as connection:
            return int(connection.execute(_period(query, since, None, None)).scalar() or 0)

    def summary_rows(self, *, since: float | None, until: float | None, model: str | None) -> list[SummaryRow]:
        """Counts of decisions in the period by outcome, model version, verdict and defect type."""
        keys = (decisions.c.decision, decisions.c.model_version, rechecks.c.verdict, rechecks.c.defect_type)
        query = select(*keys, func.count()).select_from(
            decisions.outerjoin(rechecks, rechecks.c.seq == decisions.c.seq)
        )
        query = _period(query, since, until, model).group_by(*keys)
        with self._engine.connect() as connection:
            return [
                SummaryRow(
                    outcome=Outcome(outcome),
                    model_version=version,
                    finding=Finding(verdict) if verdict else None,
                    defect_type=defect_type,
                    count=int(count),
                )
                for outcome, version, verdict, defect_type, count in connection.execute(query)
            ]

    def rechecked_seqs(self, *, since: float | None, until: float | None, model: str | None) -> list[int]:
        """Every re-checked decision decided in the period, oldest first."""
        query = select(rechecks.c.seq).select_from(rechecks.join(decisions, rechecks.c.seq == decisions.c.seq))
        query = _period(query, since, until, model).order_by(rechecks.c.seq)
        with self._engine.connect() as connection:
            return [int(seq) for seq in connection.execute(query).scalars()]

    def kept_passes(self, *, since: float | None, until: float | None, model: str | None) -> list[int]:
        """Passed decisions in the period that nobody re-checked and whose image is kept, oldest first."""
        query = (
            select(decisions.c.seq)
            .select_from(decisions.outerjoin(rechecks, rechecks.c.seq == decisions.c.seq))
            .where(decisions.c.decision == Outcome.PASS.value, decisions.c.image_path.is_not(None), rechecks.c.seq.is_(None))
        )
        query = _period(query, since, until, model).order_by(decisions.c.seq)
        with self._engine.connect() as connection:
            return [int(seq) for seq in connection.execute(query).scalars()]

    def unexported(self, seqs: Sequence[int]) -> set[int]:
        """The decisions among `seqs` with a verdict not yet exported: image retention keeps them."""
        held: set[int] = set()
        with self._engine.connect() as connection:
            for chunk in _chunks(seqs):
                query = select(rechecks.c.seq).where(rechecks.c.seq.in_(chunk), rechecks.c.exported_at.is_(None))
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
                    .where(and_(rechecks.c.seq == recheck.seq, rechecks.c.checked_at == recheck.checked_at))
                    .values(exported_at=at)
                )
                marked += result.rowcount
        return marked
