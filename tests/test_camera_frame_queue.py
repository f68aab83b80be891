"""The hand-over between a grab thread and the reader: where a lagging reader loses frames."""

from __future__ import annotations

import threading
import time

import pytest

from gaikan.camera.frame_queue import FrameQueue, Overflow
from gaikan.camera.source import CameraFault, FramesLost


def test_free_run_drops_the_oldest_and_says_so() -> None:
    queue: FrameQueue[int] = FrameQueue(2, Overflow.DROP_OLDEST)
    assert [queue.put(i) for i in range(5)] == [0, 0, 1, 1, 1]
    assert [queue.get(0), queue.get(0), queue.get(0)] == [3, 4, None]


def test_triggered_keeps_the_queued_parts_and_reports_the_refused_ones_in_order() -> None:
    queue: FrameQueue[int] = FrameQueue(2, Overflow.REPORT_LOST)
    assert [queue.put(i) for i in range(4)] == [0, 0, 1, 1]
    assert [queue.get(0), queue.get(0)] == [0, 1]
    with pytest.raises(FramesLost, match="2 frame") as lost:
        queue.get(0)
    assert lost.value.count == 2
    assert queue.get(0) is None


def test_frames_lost_upstream_are_reported_where_they_happened() -> None:
    queue: FrameQueue[int] = FrameQueue(4, Overflow.REPORT_LOST)
    queue.put(1)
    queue.report_lost(3, "device frame ids jumped from 4 to 8")
    queue.put(8)
    assert queue.get(0) == 1
    with pytest.raises(FramesLost, match="jumped from 4 to 8"):
        queue.get(0)
    assert queue.get(0) == 8


def test_a_reader_slower_than_the_camera_still_gets_parts_and_every_loss_is_counted() -> None:
    queue: FrameQueue[int] = FrameQueue(2, Overflow.REPORT_LOST)
    delivered, lost = [], 0
    for part in range(0, 40, 2):  # two parts arrive per read
        queue.put(part)
        queue.put(part + 1)
        try:
            delivered.append(queue.get(0))
        except FramesLost as error:
            lost += error.count
    while True:
        try:
            item = queue.get(0)
        except FramesLost as error:
            lost += error.count
            continue
        if item is None:
            break
        delivered.append(item)
    assert delivered == sorted(delivered) and len(delivered) >= 13
    assert len(delivered) + lost == 40


def test_a_fault_comes_after_the_frames_captured_before_it_and_only_once() -> None:
    queue: FrameQueue[int] = FrameQueue(4, Overflow.DROP_OLDEST)
    queue.put(1)
    queue.fail(CameraFault("cable pulled"))
    assert queue.get(0) == 1
    with pytest.raises(CameraFault, match="cable pulled"):
        queue.get(0)
    assert queue.get(0) is None


def test_get_waits_at_most_the_timeout_and_wakes_for_a_frame() -> None:
    queue: FrameQueue[int] = FrameQueue(2, Overflow.DROP_OLDEST)
    began = time.monotonic()
    assert queue.get(0.05) is None
    assert 0.04 <= time.monotonic() - began < 0.5
    threading.Timer(0.05, queue.put, args=(7,)).start()
    began = time.monotonic()
    assert queue.get(2.0) == 7
    assert time.monotonic() - began < 1.0


def test_clear_forgets_frames_losses_and_faults() -> None:
    queue: FrameQueue[int] = FrameQueue(1, Overflow.REPORT_LOST)
    queue.put(1)
    queue.put(2)
    queue.fail(CameraFault("x"))
    queue.clear()
    assert queue.get(0) is None and len(queue) == 0
