from __future__ import annotations

from gaikan.service.tracker import PartTracker, PendingPart


def _part(frame_id: str, deadline: float) -> PendingPart:
    return PendingPart(frame_id=frame_id, camera_id="c", captured_at=0.0, deadline=deadline)


def test_a_part_is_claimed_exactly_once() -> None:
    tracker = PartTracker()
    tracker.register(_part("c:1", 10.0))
    assert tracker.claim("c:1") is True
    assert tracker.claim("c:1") is False
    assert tracker.claim_expired(now=100.0) == []


def test_expired_parts_are_claimed_in_deadline_order_and_only_once() -> None:
    tracker = PartTracker()
    for frame_id, deadline in (("c:2", 2.0), ("c:1", 1.0), ("c:3", 3.0)):
        tracker.register(_part(frame_id, deadline))
    assert [p.frame_id for p in tracker.claim_expired(now=2.0)] == ["c:1", "c:2"]
    assert tracker.claim("c:2") is False  # the watchdog took it: inference must not decide it again
    assert tracker.next_deadline() == 3.0
    assert len(tracker) == 1
