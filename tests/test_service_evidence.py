"""Saved part images stay within their disk budget, oldest out first."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from gaikan.models.package import InputSpec, Normalisation
from gaikan.service.decision import Outcome, Reason
from gaikan.service.evidence import Evidence, EvidenceWriter
from gaikan.service.line import Stores
from gaikan.service.metrics import Metrics
from gaikan.service.records import DecisionRecord
from tests.live_server import wait_for

SPEC = InputSpec(height=32, width=32, colour="rgb", normalisation=Normalisation(mean=[0.0], std=[1.0]))


def _evidence(seed: int) -> Evidence:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)  # noise: PNG cannot compress it
    return Evidence(pixels=pixels, anomaly_map=rng.random((32, 32), dtype=np.float32), input_spec=SPEC, vmax=1.0)


def test_oldest_images_are_removed_to_stay_within_the_budget(tmp_path: Path) -> None:
    stores = Stores.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    now = time.time()
    stored = stores.decisions.append(
        [DecisionRecord(frame_id=f"c:{i}", camera_id="c", captured_at=now, decided_at=now, decision=Outcome.REJECT, reason=Reason.SCORE, score=2.0) for i in range(6)]
    )
    budget = 3 * 2 * 96 * 96 * 3  # room for about three image + heatmap pairs
    writer = EvidenceWriter(tmp_path / "images", stores.decisions, Metrics(), budget_bytes=budget)
    writer.start()
    for decision in stored:
        writer.submit(decision.seq, _evidence(decision.seq))
    wait_for(lambda: stores.decisions.get(6).heatmap_path is not None)
    writer.stop()
    kept = [d.seq for d in stores.decisions.page(limit=10, ascending=True) if d.image_path]
    assert kept and kept == list(range(7 - len(kept), 7)), "the newest are kept, the oldest removed"
    assert len(kept) < 6
    assert writer.used_bytes <= budget
    files = sorted(p.name for p in (tmp_path / "images").iterdir())
    assert files == sorted(n for s in kept for n in (f"{s}.png", f"{s}_heatmap.jpg"))

    # A restart counts what is already on disk against the budget.
    again = EvidenceWriter(tmp_path / "images", stores.decisions, Metrics(), budget_bytes=budget)
    assert again.used_bytes == writer.used_bytes


def test_pictures_leave_the_free_disk_reserve_to_the_database(tmp_path: Path) -> None:
    import shutil

    from gaikan.service.evidence import DiskReserve

    stores = Stores.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    now = time.time()
    stored = stores.decisions.append(
        [DecisionRecord(frame_id=f"c:{i}", camera_id="c", captured_at=now, decided_at=now, decision=Outcome.REJECT, reason=Reason.SCORE, score=2.0) for i in range(4)]
    )
    metrics = Metrics()
    roomy = EvidenceWriter(tmp_path / "images", stores.decisions, metrics, budget_bytes=10**9, reserve=DiskReserve(0, 0))
    roomy.start()
    for decision in stored[:2]:
        roomy.submit(decision.seq, _evidence(decision.seq))
    wait_for(lambda: stores.decisions.get(2).heatmap_path is not None)
    roomy.stop()

    # A reserve larger than the disk's free space: old pictures go first, then new ones are not saved.
    free_mb = shutil.disk_usage(tmp_path).free / (1024 * 1024)
    tight = EvidenceWriter(tmp_path / "images", stores.decisions, metrics, budget_bytes=10**9, reserve=DiskReserve(free_mb + 1024, 0))
    tight.start()
    for decision in stored[2:]:
        tight.submit(decision.seq, _evidence(decision.seq))
    wait_for(lambda: metrics.registry.get_sample_value("gaikan_evidence_no_space_total") == 2)
    tight.stop()
    assert [d.image_path for d in stores.decisions.page(limit=10)] == [None] * 4
    assert list((tmp_path / "images").glob("*.png")) == []
    assert DiskReserve(1, 5).bytes_on(100 * 1024 * 1024) == 5 * 1024 * 1024
    assert DiskReserve(10, 5).bytes_on(100 * 1024 * 1024) == 10 * 1024 * 1024


def test_rechecked_parts_keep_their_images_until_exported(tmp_path: Path) -> None:
    from gaikan.service.storage.rechecks import Finding

    stores = Stores.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    now = time.time()
    records = [
        DecisionRecord(frame_id=f"c:{i}", camera_id="c", captured_at=now, decided_at=now, decision=Outcome.REJECT, reason=Reason.SCORE, score=2.0)
        for i in range(8)
    ]
    first, second = stores.decisions.append(records[:4]), stores.decisions.append(records[4:])
    stores.rechecks.put(2, verdict=Finding.DEFECTIVE, defect_type=None, note=None, actor="olga")
    budget = 3 * 2 * 96 * 96 * 3  # room for about three image + heatmap pairs
    writer = EvidenceWriter(
        tmp_path / "images", stores.decisions, Metrics(), budget_bytes=budget, held=stores.rechecks.unexported
    )
    writer.start()
    for decision in first + second:
        writer.submit(decision.seq, _evidence(decision.seq))
    wait_for(lambda: stores.decisions.get(8).heatmap_path is not None)
    kept = [d.seq for d in stores.decisions.page(limit=10, ascending=True) if d.image_path]
    assert kept[0] == 2 and kept[1:] == list(range(9 - len(kept[1:]), 9)), "the re-checked part stays, the rest oldest out"
    assert (tmp_path / "images" / "2.png").is_file()

    # Once exported it is an ordinary old picture: the next save deletes it first.
    stores.rechecks.mark_exported([stores.rechecks.get(2)])
    stores.decisions.append(records[:1])
    writer.submit(9, _evidence(9))
    wait_for(lambda: stores.decisions.get(9).heatmap_path is not None)
    writer.stop()
    assert stores.decisions.get(2).image_path is None and not (tmp_path / "images" / "2.png").exists()
    assert writer.used_bytes <= budget


def test_a_station_part_keeps_every_views_pictures_and_they_leave_together(tmp_path: Path) -> None:
    from gaikan.service.evidence import PartEvidence

    stores = Stores.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    now = time.time()
    stored = stores.decisions.append(
        [DecisionRecord(frame_id=f"st:{i}", camera_id="st", captured_at=now, decided_at=now, decision=Outcome.REJECT, reason=Reason.SCORE) for i in range(3)]
    )
    budget = 1  # room for nothing: the newest part's pictures alone stay
    writer = EvidenceWriter(tmp_path / "images", stores.decisions, Metrics(), budget_bytes=budget)
    unscored = Evidence(pixels=_evidence(0).pixels, anomaly_map=None, input_spec=None, vmax=None)  # a view the model did not map
    for decision in stored:
        seq = decision.seq
        writer.write(seq, PartEvidence((("top", _evidence(seq)), ("side", _evidence(seq + 10)), ("back.2", unscored)), decisive="side"))
    first, last = stores.decisions.get(2), stores.decisions.get(3)
    assert first is not None and last is not None
    assert first.image_path is None and first.view_pictures == {}, "an older part went whole, every view's pictures"
    assert set(last.view_pictures) == {"top", "side", "back.2"}
    assert (last.image_path, last.heatmap_path) == (last.view_pictures["side"].image_path, last.view_pictures["side"].heatmap_path)
    assert last.view_pictures["back.2"].heatmap_path is None
    side = cv2.imread(str(last.view_pictures["side"].image_path), cv2.IMREAD_COLOR_RGB)
    assert np.array_equal(side, _evidence(13).pixels), "each view's own frame, lossless"
    files = sorted(p.name for p in (tmp_path / "images").iterdir())
    assert files == ["3.back.2.png", "3.side.png", "3.side_heatmap.jpg", "3.top.png", "3.top_heatmap.jpg"]
    again = EvidenceWriter(tmp_path / "images", stores.decisions, Metrics(), budget_bytes=budget)
    assert again.used_bytes == writer.used_bytes, "a restart counts every view's files"
