"""Pictures (a station's part: every view's, in one block) go through shared memory to a
lower-priority process that writes them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np
from prometheus_client import generate_latest

from gaikan.service.decision import Outcome, Reason
from gaikan.service.evidence import DiskReserve, PartEvidence
from gaikan.service.evidence_process import EvidenceProcess
from gaikan.service.line import Stores
from gaikan.service.metrics import Metrics
from gaikan.service.records import DecisionRecord
from gaikan.service.shared_arrays import block_prefix
from tests.test_service_evidence import _evidence


def _shared_blocks() -> set[str]:
    """The shared-memory blocks this test process created and nobody freed yet."""
    return {p.name for p in Path("/dev/shm").iterdir() if p.name.startswith(block_prefix())}


def test_pictures_are_written_by_a_nicer_process_and_shared_memory_is_freed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    stores = Stores.open(url)
    now = time.time()
    stored = stores.decisions.append(
        [DecisionRecord(frame_id=f"c:{i}", camera_id="c", captured_at=now, decided_at=now, decision=Outcome.REJECT, reason=Reason.SCORE, score=2.0) for i in range(40)]
    )
    before = _shared_blocks()
    metrics = Metrics()
    writer = EvidenceProcess(tmp_path / "images", url, metrics, budget_bytes=100 * 1024 * 1024, max_backlog=8)
    writer.start()
    try:
        assert os.getpriority(os.PRIO_PROCESS, writer.pid) == 10
        for decision in stored:  # every fifth a station's part of two views (one block for both), the first among them
            seq = decision.seq
            part = PartEvidence((("top", _evidence(seq)), ("side", _evidence(seq + 100))), decisive="side")
            writer.submit(seq, part if seq % 5 == 1 else _evidence(seq))
    finally:
        writer.stop()
    skipped = metrics.registry.get_sample_value("gaikan_evidence_skipped_total")
    kept = [d for d in stores.decisions.page(limit=100, ascending=True) if d.image_path and d.heatmap_path]
    stores.engine.dispose()
    assert len(kept) + skipped == 40, "every picture is written or counted as skipped"
    assert len(kept) >= 8
    assert all(Path(d.image_path).is_file() and Path(d.heatmap_path).is_file() for d in kept)
    parts = {d.seq: d for d in kept if d.seq % 5 == 1}
    assert 1 in parts and all(set(d.view_pictures) == {"top", "side"} and d.image_path == d.view_pictures["side"].image_path for d in parts.values())
    assert all(d.view_pictures == {} for d in kept if d.seq % 5 != 1), "one camera's decisions keep their own pictures only"
    for view, seed in (("top", 1), ("side", 101)):
        pictures = parts[1].view_pictures[view]
        assert pictures.heatmap_path is not None and Path(pictures.heatmap_path).is_file()
        assert np.array_equal(cv2.imread(str(pictures.image_path), cv2.IMREAD_COLOR_RGB), _evidence(seed).pixels), view
    assert _shared_blocks() <= before, "every shared-memory block was freed"


def test_the_evidence_process_counters_reach_the_line_metrics(tmp_path: Path) -> None:
    """Pictures the evidence process could not save for lack of disk are counted there and
    carried to the line's metrics (what the line's snapshot hands to /metrics)."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    stores = Stores.open(url)
    now = time.time()
    stored = stores.decisions.append(
        [DecisionRecord(frame_id=f"c:{i}", camera_id="c", captured_at=now, decided_at=now, decision=Outcome.REJECT, reason=Reason.SCORE, score=2.0) for i in range(3)]
    )
    stores.engine.dispose()
    metrics = Metrics()
    full_disk = DiskReserve(min_free_mb=0, min_free_percent=100)  # no room ever: nothing can be saved
    writer = EvidenceProcess(tmp_path / "images", url, metrics, budget_bytes=100 * 1024 * 1024, reserve=full_disk)
    writer.start()
    try:
        for decision in stored:
            writer.submit(decision.seq, _evidence(decision.seq))
        deadline = time.monotonic() + 30
        while metrics.registry.get_sample_value("gaikan_evidence_no_space_total") < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
            writer.sync_counters()
        assert metrics.registry.get_sample_value("gaikan_evidence_no_space_total") == 3
    finally:
        writer.stop()
    writer.sync_counters()
    assert metrics.registry.get_sample_value("gaikan_evidence_no_space_total") == 3, "each count is carried once"
    assert b"gaikan_evidence_no_space_total 3.0" in generate_latest(metrics.registry)

