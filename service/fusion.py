"""The part decision of a station, fused from its views' results: the most severe outcome of the
views (the order of `OUTCOMES` in `gaikan.models.thresholds`: pass < review < reject), so any view
rejecting rejects the part and any review sends it to review. A view missing or late is a reject
of its own (`view_missing`). A rejected part's reason is a view's fail-safe reason when one has
one (missing, timeout, camera fault, …), else `score`."""

from __future__ import annotations

from collections.abc import Sequence

from gaikan.models.thresholds import OUTCOMES, Outcome
from gaikan.service.decision import Reason, Verdict
from gaikan.service.records import ViewResult


def missing_view(view: str, camera_id: str, detail: str) -> ViewResult:
    """The result of a view that was not decided in time."""
    return ViewResult(view=view, camera_id=camera_id, decision=Outcome.REJECT, reason=Reason.VIEW_MISSING, detail=detail)


def fuse(views: Sequence[ViewResult]) -> Verdict:
    """The part's verdict from every view's result (at least one)."""
    if not views:
        raise ValueError("a part decision needs at least one view")
    outcome = OUTCOMES[max(OUTCOMES.index(view.decision) for view in views)]
    if outcome is not Outcome.REJECT:
        return Verdict(outcome, Reason.SCORE)
    rejecting = [view for view in views if view.decision is Outcome.REJECT]
    decisive = next((view for view in rejecting if view.reason is not Reason.SCORE), rejecting[0])
    detail = "; ".join(
        f"{view.view}: {view.reason.value}" + (f" (score {view.score:.3g})" if view.score is not None else "") + (f" {view.detail}" if view.detail else "")
        for view in rejecting
    )
    return Verdict(Outcome.REJECT, decisive.reason, detail)
