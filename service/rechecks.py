"""Re-checks: people's verdicts on decided parts, the queue of flagged parts still to re-check,
and the line's own confusion counts. Reads and writes the stores only, never the pipeline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from gaikan.service.decision import Outcome
from gaikan.service.errors import InvalidInput, NotFound
from gaikan.service.records import StoredDecision
from gaikan.service.storage.decisions import DecisionStore
from gaikan.service.storage.model_versions import ModelVersionStore
from gaikan.service.storage.rechecks import Finding, Recheck, RecheckStore, SummaryRow

# A defect type is also a folder name in an exported dataset (test/<defect_type>/).
DEFECT_TYPE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
ANY_MODEL = "*"
ESCAPES_NOTE = (
    "Escapes cannot be known from the line alone: a defective part that passed is counted only when "
    "someone later re-checks that passed part and finds it defective."
)


class RecheckError(InvalidInput):
    """A refused re-check (the API answers 422 with the reason)."""


class UnknownResult(NotFound):
    """No decision with this seq."""


@dataclass(slots=True)
class Tally:
    """What the line decided against what people found, for one slice of decisions."""

    inspected: int = 0
    passed: int = 0
    flagged: int = 0  # review or reject
    confirmed_defective: int = 0  # flagged, and a person found a defect
    overkill: int = 0  # flagged, and a person found the part good
    pending: int = 0  # flagged, not re-checked yet
    escapes: int = 0  # passed, and a person later found a defect

    def add(self, row: SummaryRow) -> None:
        self.inspected += row.count
        if row.outcome is Outcome.PASS:
            self.passed += row.count
            if row.finding is Finding.DEFECTIVE:
                self.escapes += row.count
            return
        self.flagged += row.count
        if row.finding is Finding.DEFECTIVE:
            self.confirmed_defective += row.count
        elif row.finding is Finding.GOOD:
            self.overkill += row.count
        else:
            self.pending += row.count


@dataclass(slots=True)
class Summary:
    total: Tally = field(default_factory=Tally)
    by_model: dict[str | None, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_defect_type: dict[str | None, Tally] = field(default_factory=lambda: defaultdict(Tally))


def summarise(rows: list[SummaryRow]) -> Summary:
    """Tallies overall, per model version and per defect type (defective findings only)."""
    summary = Summary()
    for row in rows:
        summary.total.add(row)
        summary.by_model[row.model_version].add(row)
        if row.finding is Finding.DEFECTIVE:
            summary.by_defect_type[row.defect_type].add(row)
    return summary


def defect_types_for(model_name: str | None, configured: Mapping[str, list[str]]) -> list[str]:
    """The defect types offered for a model: its own list, else the '*' list, else none."""
    if model_name is not None and model_name in configured:
        return list(configured[model_name])
    return list(configured.get(ANY_MODEL, []))


class Rechecks:
    """The re-check service used by the API routes."""

    def __init__(
        self,
        rechecks: RecheckStore,
        decisions: DecisionStore,
        versions: ModelVersionStore,
        defect_types: Mapping[str, list[str]],
    ) -> None:
        self._rechecks = rechecks
        self._decisions = decisions
        self._versions = versions
        self._defect_types = defect_types

    def _decision(self, seq: int) -> StoredDecision:
        stored = self._decisions.get(seq)
        if stored is None:
            raise UnknownResult(f"no result with seq {seq}")
        return stored

    def defect_types(self, model_version: str | None) -> list[str]:
        row = self._versions.get(model_version) if model_version else None
        return defect_types_for(row.name if row else None, self._defect_types)

    def record(
        self, seq: int, *, finding: Finding, defect_type: str | None, note: str | None, actor: str
    ) -> Recheck:
        """Record what a person found on part `seq` (replacing an earlier verdict; audited)."""
        stored = self._decision(seq)
        if finding is Finding.GOOD and defect_type is not None:
            raise RecheckError("a part found good has no defect type")
        if defect_type is not None:
            allowed = self.defect_types(stored.record.model_version)
            if allowed and defect_type not in allowed:
                raise RecheckError(
                    f"unknown defect type '{defect_type}' for model {stored.record.model_version}: "
                    f"choose one of {', '.join(allowed)}"
                )
        _, new = self._rechecks.put(seq, verdict=finding, defect_type=defect_type, note=note or None, actor=actor)
        return new

    def get(self, seq: int) -> Recheck | None:
        self._decision(seq)
        return self._rechecks.get(seq)

    def for_results(self, results: list[StoredDecision]) -> dict[int, Recheck]:
        return self._rechecks.for_seqs([stored.seq for stored in results])

    def queue(self, *, since: float | None, limit: int, after_seq: int = 0) -> tuple[list[StoredDecision], int]:
        """Flagged parts no one has re-checked yet (oldest first) and how many are waiting in all."""
        parts = [
            stored
            for seq in self._rechecks.pending_seqs(since=since, limit=limit, after_seq=after_seq)
            if (stored := self._decisions.get(seq)) is not None
        ]
        return parts, self._rechecks.pending_count(since=since)

    def summary(self, *, since: float | None, until: float | None, model: str | None) -> Summary:
        return summarise(self._rechecks.summary_rows(since=since, until=until, model=model))
