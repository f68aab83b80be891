"""The pipeline with real parts: replay camera, ONNX Runtime, SQLite; no HTTP."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gaikan.camera.config import ReplayConfig
from gaikan.models.package import write_package
from gaikan.models.synthetic import render_part
from gaikan.service.line import Line
from gaikan.service.pipeline import Overflow
from gaikan.service.records import StoredDecision
from gaikan.service.settings import Settings
from tests.conftest import write_test_line
from tests.live_server import wait_for
from tests.onnx_graphs import template_package


@contextmanager
def running(settings: Settings) -> Iterator[Line]:
    line = Line(settings)
    line.start()
    try:
        yield line
    finally:
        line.stop()


def _all(line_or_settings: Line) -> list[StoredDecision]:
    return line_or_settings.stores.decisions.page(limit=10_000, ascending=True)


def _settings(tmp_path: Path, model: Path | None, *, count: int = 10, fps: float | None = 50, loop: bool = False, **extra: object) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        camera=ReplayConfig(path=write_test_line(tmp_path / "line", count), fps=fps, loop=loop),
        initial_model=model,
        **extra,
    )


def test_every_frame_is_decided_exactly_once_in_frame_order(tmp_path: Path, template_model_file: Path) -> None:
    with running(_settings(tmp_path, template_model_file, count=20, fps=None, overflow=Overflow.BLOCK)) as line:
        wait_for(lambda: len(_all(line)) >= 20)
    decisions = _all(line)
    frames = [int(d.record.frame_id.split(":")[1]) for d in decisions]
    assert frames == list(range(20))
    assert all(d.record.reason.value == "score" for d in decisions)
    assert all(d.record.stages_ms["inference_ms"] > 0 for d in decisions)


def test_without_a_model_every_part_is_rejected_with_reason_no_model(tmp_path: Path) -> None:
    with running(_settings(tmp_path, None, count=5)) as line:
        wait_for(lambda: len(_all(line)) >= 5)
        assert "no_model" in line.fail_safe_reasons()
    assert {(d.record.decision.value, d.record.reason.value) for d in _all(line)} == {("reject", "no_model")}


def test_a_part_past_its_deadline_is_rejected_as_timeout_and_never_decided_twice(tmp_path: Path) -> None:
    # ~12 GFLOP per frame: tens of milliseconds even on a fast, idle CPU; the deadline is 5 ms.
    slow = template_package([render_part(0, i, None, 64).image for i in range(8)], version="slow", reject=2.9, slow_gflop=12)
    model = write_package(slow, tmp_path / "slow.zip")
    with running(_settings(tmp_path, model, count=4, fps=5, deadline_ms=5.0, max_batch=1, queue_size=16)) as line:
        wait_for(lambda: len(_all(line)) >= 4, timeout=60)
        line.pipeline.stop()  # let inference finish what it holds: late results must not add decisions
        line.recorder.wait_idle(10)
    decisions = _all(line)
    assert Counter(d.record.frame_id for d in decisions) == Counter({f"replay:{i}:{line.run_id}": 1 for i in range(4)})
    for decision in decisions:
        record = decision.record
        assert (record.decision.value, record.reason.value) == ("reject", "timeout"), record
        assert "deadline" in record.detail, record


def test_free_run_overflow_drops_the_oldest_frame_and_counts_it(tmp_path: Path) -> None:
    slow = template_package([render_part(0, i, None, 64).image for i in range(8)], version="slow", reject=2.9, slow_gflop=4)
    model = write_package(slow, tmp_path / "slow.zip")
    settings = _settings(tmp_path, model, count=30, fps=None, max_batch=1, queue_size=2, deadline_ms=60_000)
    with running(settings) as line:
        wait_for(lambda: line.pipeline.counters.dropped >= 5, timeout=60)
        line.pipeline.stop()
        line.recorder.wait_idle(10)
        counters = line.pipeline.counters
    decided = {d.record.frame_id for d in _all(line)}
    assert counters.frames == len(decided) + counters.dropped
    assert all(d.record.reason.value == "score" for d in _all(line))


def test_triggered_overflow_rejects_the_part_instead_of_dropping_it(tmp_path: Path) -> None:
    slow = template_package([render_part(0, i, None, 64).image for i in range(8)], version="slow", reject=2.9, slow_gflop=4)
    model = write_package(slow, tmp_path / "slow.zip")
    settings = _settings(tmp_path, model, count=12, fps=None, max_batch=1, queue_size=2, deadline_ms=60_000, overflow=Overflow.REJECT)
    with running(settings) as line:
        wait_for(lambda: len(_all(line)) >= 12, timeout=60)
        assert line.pipeline.counters.dropped == 0
    reasons = Counter(d.record.reason.value for d in _all(line))
    assert reasons["timeout"] > 0 and reasons["score"] > 0
    assert len({d.record.frame_id for d in _all(line)}) == 12


def test_an_opencv_video_file_runs_through_the_line(tmp_path: Path, template_model_file: Path) -> None:
    import cv2

    from gaikan.camera.config import OpenCVConfig
    from tests.conftest import LINE_PATTERN

    video = tmp_path / "line.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 64))
    for i in range(10):
        part = render_part(5, i, LINE_PATTERN[i % len(LINE_PATTERN)], 64)
        writer.write(cv2.cvtColor(part.image, cv2.COLOR_RGB2BGR))
    writer.release()
    settings = Settings(
        data_dir=tmp_path / "data",
        camera=OpenCVConfig(file=video, camera_id="video", fps=50),
        initial_model=template_model_file,
        overflow=Overflow.BLOCK,
    )
    with running(settings) as line:
        wait_for(lambda: len(_all(line)) >= 10)
    outcomes = [d.record.decision.value for d in _all(line)]
    expected = ["pass" if LINE_PATTERN[i % len(LINE_PATTERN)] is None else "reject" for i in range(10)]
    assert outcomes == expected


def test_frames_queued_for_one_input_size_are_prepared_again_after_a_hot_swap_to_another(tmp_path: Path) -> None:
    """Acquisition prepares each frame for the active model's input as it queues it; frames still
    queued when a model of another input size becomes active are prepared again for it."""
    from gaikan.models.package import package_bytes

    good = [render_part(0, i, None, 64).image for i in range(8)]
    slow = write_package(template_package(good, version="slow64", reject=2.9, slow_gflop=1), tmp_path / "slow.zip")
    settings = _settings(tmp_path, slow, count=16, fps=None, max_batch=1, queue_size=8, deadline_ms=60_000, overflow=Overflow.BLOCK)
    with running(settings) as line:
        line.registry.upload(package_bytes(template_package(good, version="small32", size=32, reject=2.9)), actor="test")
        wait_for(lambda: line.pipeline.queue_depth >= 4, timeout=30)  # frames waiting, prepared at 64 px
        line.registry.activate("small32", actor="test")
        queued_before_swap = line.pipeline.counters.frames
        wait_for(lambda: len(_all(line)) >= 16, timeout=60)
    decisions = _all(line)
    assert Counter(d.record.reason.value for d in decisions) == Counter({"score": 16})
    swapped = sorted(int(d.record.frame_id.split(":")[1]) for d in decisions if d.record.model_version == "small32")
    assert swapped and swapped[0] < queued_before_swap, "frames queued for the 64 px model were scored by the 32 px one"


def test_under_overload_parts_that_cannot_be_scored_in_time_are_rejected_without_scoring(tmp_path: Path) -> None:
    """Frames queued deeper than the deadline allows are rejected as timeouts before the model
    call instead of after it: each frame decided once, the model called only for the others.
    (~12 GFLOP per frame: tens of ms even on a fast idle CPU; the head of an 8-deep queue has
    waited 8 calls when it is picked, past the 200 ms deadline once its own call is added.)"""
    slow = template_package([render_part(0, i, None, 64).image for i in range(8)], version="slow", reject=2.9, slow_gflop=12)
    model = write_package(slow, tmp_path / "slow.zip")
    settings = _settings(tmp_path, model, count=16, fps=None, max_batch=1, queue_size=8, deadline_ms=200, overflow=Overflow.BLOCK)
    with running(settings) as line:
        wait_for(lambda: len(_all(line)) >= 16, timeout=60)
        scored_by_model = line.pipeline.counters.batches
    decisions = _all(line)
    assert Counter(d.record.frame_id for d in decisions) == Counter({f"replay:{i}:{line.run_id}": 1 for i in range(16)})
    shed = [d.record for d in decisions if d.record.detail and d.record.detail.startswith("not scored")]
    assert shed and all(r.reason.value == "timeout" and r.decision.value == "reject" and r.model_version is None for r in shed)
    assert scored_by_model + len(shed) <= 16  # a rejected frame never reached the model
