"""Shared inference: frames of several cameras micro-batched fairly onto one model call."""

from __future__ import annotations

import threading

from gaikan.service.batcher import MicroBatcher

Item = tuple[str, int, float]  # camera, number, captured (monotonic)


def _batcher(max_batch: int, scored: list[list[Item]] | None = None) -> MicroBatcher[Item]:
    return MicroBatcher(
        "test",
        max_batch=max_batch,
        captured=lambda item: item[2],
        score=lambda batch: scored.append([item for _, item in batch]) if scored is not None else None,
    )


def test_a_flooding_camera_does_not_take_the_batch_from_the_others() -> None:
    batcher = _batcher(4)
    busy, quiet = batcher.add_lane("busy", 1.0), batcher.add_lane("quiet", 1.0)
    busy.queue.extend(("busy", i, 0.0 + i / 1000) for i in range(20))
    quiet.queue.extend(("quiet", i, 0.005 + i / 1000) for i in range(2))
    first = [item for _, item in batcher.take()]
    assert [camera for camera, _, _ in first].count("quiet") == 2, first
    # While both cameras have frames waiting, each gets the same share of every batch.
    quiet.queue.extend(("quiet", i, 0.1 + i / 1000) for i in range(2, 10))
    for _ in range(3):
        cameras = [camera for _, (camera, _, _) in batcher.take()]
        assert cameras.count("busy") == cameras.count("quiet") == 2
    assert (busy.taken, quiet.taken) == (8, 8)
    # Within a camera, frames keep their order.
    rest = [item for _, item in batcher.take()]
    numbers = [n for camera, n, _ in rest if camera == "busy"]
    assert numbers == sorted(numbers)


def test_the_camera_whose_part_is_due_first_is_served_first() -> None:
    batcher = _batcher(2)
    relaxed = batcher.add_lane("relaxed", deadline_s=5.0)
    strict = batcher.add_lane("strict", deadline_s=0.2)
    relaxed.queue.extend(("relaxed", i, 0.0) for i in range(3))  # captured earlier, due at 5.0
    strict.queue.extend(("strict", i, 1.0) for i in range(3))  # captured later, due at 1.2
    batch = [item for _, item in batcher.take()]
    assert [camera for camera, _, _ in batch] == ["strict", "relaxed"]


def test_the_worker_scores_every_queued_frame_in_batches_and_drains_at_stop() -> None:
    scored: list[list[Item]] = []
    batcher = _batcher(3, scored)
    lanes = [batcher.add_lane(name, 1.0) for name in ("a", "b")]
    with batcher.condition:  # queued before the worker runs: it must batch them
        for lane in lanes:
            lane.queue.extend((lane.name, i, float(i)) for i in range(5))
    batcher.start()
    batcher.stop()
    flat = [item for batch in scored for item in batch]
    assert sorted(flat) == sorted((name, i, float(i)) for name in ("a", "b") for i in range(5))
    assert max(len(batch) for batch in scored) == 3
    assert not batcher.running and batcher.batches == len(scored)


def test_a_frame_put_while_running_wakes_the_worker() -> None:
    done = threading.Event()
    batcher = MicroBatcher("wake", max_batch=4, captured=lambda item: item[2], score=lambda batch: done.set())
    lane = batcher.add_lane("a", 1.0)
    batcher.start()
    try:
        with batcher.condition:
            lane.queue.append(("a", 0, 0.0))
            batcher.condition.notify_all()
        assert done.wait(2.0)
    finally:
        batcher.stop()


def test_a_graph_with_a_fixed_batch_of_one_is_scored_frame_by_frame(tmp_path) -> None:  # noqa: ANN001
    """Two cameras share a model whose graph only takes one image at a time: every frame is still
    scored (one call per frame), none is rejected as an inference error."""
    from gaikan.models.package import write_package
    from gaikan.models.synthetic import render_part
    from gaikan.service.line import Line
    from gaikan.service.pipeline import Overflow
    from gaikan.service.settings import Settings
    from tests.conftest import write_test_line
    from tests.live_server import wait_for
    from tests.onnx_graphs import template_package

    package = template_package([render_part(0, i, None, 64).image for i in range(8)], version="fixed1", reject=2.9, batch=1)
    model = write_package(package, tmp_path / "fixed1.zip")
    line_dir = write_test_line(tmp_path / "line", 6)
    cameras = [{"camera": {"kind": "replay", "camera_id": c, "path": str(line_dir), "fps": None, "loop": False}} for c in ("a", "b")]
    line = Line(Settings(data_dir=tmp_path / "data", cameras=cameras, initial_model=model, overflow=Overflow.BLOCK, max_batch=4))
    line.start()
    try:
        wait_for(lambda: line.stores.decisions.last_seq() >= 12, timeout=60)
        decisions = line.stores.decisions.page(limit=100)
    finally:
        line.stop()
    assert len(decisions) == 12 and all(d.record.reason.value == "score" for d in decisions)
    assert {d.record.camera_id for d in decisions} == {"a", "b"}
