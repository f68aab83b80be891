"""Stored decisions and the audit trail, read from the stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from gaikan.service.decision import Outcome
from gaikan.service.errors import NotFound
from gaikan.service.periods import check_period
from gaikan.service.records import StoredDecision
from gaikan.service.services.context import ApiContext
from gaikan.service.storage.audit import AuditEntry

EXPORT_PAGE = 1000
_KEPT = "only rejects, reviews and a sample of passes are kept, within the disk budget"


class ResultsService:
    def __init__(self, context: ApiContext) -> None:
        self._stores = context.stores

    def page(
        self, *, limit: int, before_seq: int | None, decision: Outcome | None, line: str | None = None
    ) -> list[StoredDecision]:
        """This line's decisions, or line `line`'s (another service writing to the same database)."""
        store = self._stores.decisions.for_line(line) if line else self._stores.decisions
        return store.page(limit=limit, before_seq=before_seq, decision=decision)

    def is_own_line(self, line: str | None) -> bool:
        return line is None or line == self._stores.decisions.line

    def after(self, seq: int, limit: int) -> list[StoredDecision]:
        return self._stores.decisions.after(seq, limit)

    def get(self, seq: int) -> StoredDecision:
        stored = self._stores.decisions.get(seq)
        if stored is None:
            raise NotFound(f"no result with seq {seq}")
        return stored

    def picture(self, seq: int, what: str) -> Path:
        """The kept part image (`image`) or heatmap (`heatmap`) of a result."""
        stored = self.get(seq)
        path = stored.image_path if what == "image" else stored.heatmap_path
        if path is None or not Path(path).is_file():
            raise NotFound(f"no {what} kept for result {seq} ({_KEPT})")
        return Path(path)

    def view_picture(self, seq: int, view: str, what: str) -> Path:
        """The kept part image (`image`) or heatmap (`heatmap`) of one view of a station's part."""
        stored = self.get(seq)
        names = [result.view for result in stored.record.views]
        if view not in names:
            if not names:
                raise NotFound(f"result {seq} is one camera's decision, not a station's part: it has no views (its pictures: /api/v1/results/{seq}/{what})")
            raise NotFound(f"result {seq} has no view {view!r}; its views: {', '.join(names)}")
        kept = stored.view_pictures.get(view)
        path = None if kept is None else kept.image_path if what == "image" else kept.heatmap_path
        if path is None or not Path(path).is_file():
            raise NotFound(f"no {what} kept for view {view} of result {seq} ({_KEPT}; a view missing or not scored has none)")
        return Path(path)

    def export(self, *, since: float | None, until: float | None, decision: Outcome | None) -> Iterator[list[StoredDecision]]:
        """Every decision in the range, oldest first, a page at a time."""
        check_period(since, until)
        return self._pages(since, until, decision)

    def _pages(self, since: float | None, until: float | None, decision: Outcome | None) -> Iterator[list[StoredDecision]]:
        after = 0
        while True:
            page = self._stores.decisions.page(
                limit=EXPORT_PAGE, after_seq=after, since=since, until=until, decision=decision, ascending=True
            )
            yield page
            if len(page) < EXPORT_PAGE:
                return
            after = page[-1].seq

    def audit(self, *, limit: int, before_id: int | None, action: str | None) -> list[AuditEntry]:
        return self._stores.audit.entries(limit=limit, before_id=before_id, action=action)
