"""Storage faults are fail-safe and visible: a real SQLite store made to fail the way a full disk
does (SQLITE_FULL, through `max_page_count`), and a real full tmpfs under the whole line."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, event

from gaikan.service.decision import Outcome, Reason
from gaikan.service.line import Stores
from gaikan.service.metrics import Metrics
from gaikan.service.recorder import Recorder, stored_late
from gaikan.service.records import DecisionRecord
from tests.live_server import wait_for


class DiskFull:
    """Makes the real SQLite store answer 'database or disk is full' while `full` is set."""

    def __init__(self, stores: Stores) -> None:
        self.full = False
        event.listen(stores.engine, "begin", self._limit)

    def _limit(self, connection: Connection) -> None:
        if self.full:
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
            connection.exec_driver_sql(f"PRAGMA max_page_count = {pages}")
        else:
            connection.exec_driver_sql("PRAGMA max_page_count = 1073741823")


def _record(i: int, outcome: Outcome = Outcome.PASS) -> DecisionRecord:
    now = time.time()
    return DecisionRecord(
        frame_id=f"cam:{i}", camera_id="cam", captured_at=now - 0.01, decided_at=now, decision=outcome,
        reason=Reason.SCORE, score=1.0, detail="d" * 5000,  # bigger than a page: every insert needs a new one
    )  # fmt: skip


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    stores = Stores.open(f"sqlite:///{tmp_path / 'gaikan.db'}")
    yield stores
    stores.engine.dispose()


def _metric(metrics: Metrics, name: str) -> float:
    return metrics.registry.get_sample_value(name) or 0.0


def test_a_pass_stored_after_the_deadline_is_a_storage_reject_and_recovery_is_reported(stores: Stores) -> None:
    disk = DiskFull(stores)
    metrics = Metrics()
    recorder = Recorder(stores.decisions, metrics, deadline_s=0.3)
    recorder.start()
    try:
        recorder.submit(_record(0))
        assert recorder.wait_idle(10)
        assert recorder.health().ok

        disk.full = True
        recorder.submit(_record(1))
        recorder.submit(_record(2, Outcome.REVIEW))
        recorder.submit(_record(3, Outcome.REJECT))
        health = wait_for(lambda: (h := recorder.health()) and not h.ok and h, timeout=5)
        assert "full" in health.error
        assert _metric(metrics, "gaikan_storage_healthy") == 0
        time.sleep(0.6)  # past the persist deadline
        assert stores.decisions.last_seq() == 1, "nothing is served while the store fails"

        disk.full = False
        assert recorder.wait_idle(10)
        assert recorder.health().ok
    finally:
        recorder.stop()
    stored = {d.record.frame_id: d.record for d in stores.decisions.page(limit=10, ascending=True)}
    assert stored["cam:0"].decision is Outcome.PASS
    for late in ("cam:1", "cam:2"):
        assert (stored[late].decision, stored[late].reason) == (Outcome.REJECT, Reason.STORAGE)
        assert "persist deadline" in stored[late].detail and "decided " in stored[late].detail
    assert (stored["cam:3"].decision, stored["cam:3"].reason) == (Outcome.REJECT, Reason.SCORE), "a reject stays a reject"
    assert _metric(metrics, "gaikan_persist_late_total") == 2
    assert _metric(metrics, "gaikan_storage_recoveries_total") == 1
    assert _metric(metrics, "gaikan_persist_failures_total") >= 1
    assert _metric(metrics, "gaikan_storage_healthy") == 1


def test_the_backlog_is_bounded_and_what_overflows_is_counted_and_recorded(stores: Stores) -> None:
    disk = DiskFull(stores)
    metrics = Metrics()
    recorder = Recorder(stores.decisions, metrics, deadline_s=0.2, max_backlog=5, max_group=2)
    recorder.start()
    try:
        disk.full = True
        for i in range(25):
            recorder.submit(_record(i))
        health = recorder.health()
        assert health.backlog <= 5 and health.overflowed == 20 and not health.ok
        assert _metric(metrics, "gaikan_persist_backlog") <= 5
        assert _metric(metrics, "gaikan_persist_overflow_total") == 20
        time.sleep(0.5)  # an outage longer than the persist deadline
        disk.full = False
        assert recorder.wait_idle(10)
        wait_for(lambda: recorder.health().ok, timeout=5)
    finally:
        recorder.stop()
    stored = stores.decisions.page(limit=100, ascending=True)
    assert len(stored) == 6, "five kept decisions and one record of the overflow"
    assert all(d.record.decision is Outcome.REJECT for d in stored), "nothing is served as a pass after an outage"
    overflow = [d.record for d in stored if d.record.frame_id == "cam:storage-overflow"]
    assert len(overflow) == 1 and overflow[0].reason is Reason.STORAGE
    assert "20 decision(s) not stored" in overflow[0].detail and "cam:5" in overflow[0].detail and "cam:24" in overflow[0].detail


def test_a_stalled_store_is_unhealthy_once_the_oldest_decision_waits_past_the_deadline(stores: Stores) -> None:
    recorder = Recorder(stores.decisions, Metrics(), deadline_s=0.2)  # not started: nothing is stored
    assert recorder.health().ok
    recorder.submit(_record(0))
    wait_for(lambda: not recorder.health().ok, timeout=5)
    assert "waiting" in recorder.health().error


def test_stored_late_turns_a_pass_or_review_into_a_storage_reject_only() -> None:
    review = stored_late(_record(1, Outcome.REVIEW), 2.5, 1.0)
    assert (review.decision, review.reason) == (Outcome.REJECT, Reason.STORAGE)
    assert "2500 ms" in review.detail and "decided review" in review.detail and review.score == 1.0
    reject = _record(2, Outcome.REJECT)
    assert stored_late(reject, 5.0, 1.0) is reject


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 16 MiB tmpfs (needs root and mount rights; skipped with the reason otherwise)."""
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip() or result.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


class _DiskFiller:
    """Keeps a disk full: writes a file until the disk has no room, and goes on taking whatever
    room appears (the image writer frees its oldest pictures for the database) until stopped."""

    def __init__(self, folder: Path) -> None:
        import threading

        self.path = folder / "filler"
        self._stop = threading.Event()
        self._out = self.path.open("wb")
        self._take_room()
        self._thread = threading.Thread(target=self._keep_full, daemon=True)
        self._thread.start()

    def _take_room(self) -> None:
        for size in (256 * 1024, 4096, 1):
            try:
                while True:
                    self._out.write(b"\0" * size)
                    self._out.flush()
            except OSError:
                pass

    def _keep_full(self) -> None:
        while not self._stop.wait(0.02):
            self._take_room()

    def release(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self._out.close()
        except OSError:
            pass
        self.path.unlink()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_a_full_disk_puts_the_line_in_fail_safe_and_it_recovers_on_its_own(
    small_disk: Path, tmp_path: Path, template_model_file: Path
) -> None:
    from gaikan.camera.config import ReplayConfig
    from gaikan.service.settings import Settings
    from tests.conftest import write_test_line
    from tests.live_server import LiveServer

    deadline_s = 0.5
    settings = Settings(
        data_dir=small_disk,
        camera=ReplayConfig(path=write_test_line(tmp_path / "line", 10), fps=20, loop=True),
        initial_model=template_model_file,
        persist_deadline_ms=deadline_s * 1000,
        max_persist_backlog=30,
        min_free_disk_mb=1,
        keep_pass_fraction=1.0,
    )
    with LiveServer(settings) as server, server.client() as client:
        beat = lambda: client.get("/api/v1/reject/heartbeat").json()  # noqa: E731
        wait_for(lambda: beat()["last_seq"] >= 20, timeout=60)
        assert beat()["fail_safe"] == []
        line_pid = server.context.line.snapshot.pid  # the recorder runs in the line process
        rss_before = _rss_mb(line_pid)

        filler = _DiskFiller(small_disk)
        full_at = time.time()
        wait_for(lambda: "storage" in beat()["fail_safe"], timeout=10, interval=0.02)
        detected_s = time.time() - full_at
        frozen_seq = beat()["last_seq"]
        time.sleep(3.0)  # 60 parts at 20 fps: more than the backlog holds
        metrics = client.get("/metrics").text
        assert "storage" in beat()["fail_safe"] and beat()["last_seq"] == frozen_seq
        backlog = next(float(row.split()[-1]) for row in metrics.splitlines() if row.startswith("gaikan_persist_backlog{"))
        assert backlog <= 30
        rss_growth = _rss_mb(line_pid) - rss_before

        filler.release()
        recovered_at = time.time()
        wait_for(lambda: "storage" not in beat()["fail_safe"], timeout=20)
        wait_for(lambda: beat()["last_seq"] > frozen_seq + 30, timeout=30)
        metrics_after = client.get("/metrics").text
        stored = client.get("/api/v1/results", params={"limit": 1000}).json()["items"]

    print(f"storage fail-safe {detected_s:.2f} s after the disk filled; RSS growth {rss_growth:.1f} MB during the outage")
    assert detected_s < 2.0, "the heartbeat names the storage fault within a heartbeat (a second, with slack for a loaded machine)"
    assert rss_growth < 50
    assert 'gaikan_persist_overflow_total{line="line-1"} 0.0' not in metrics
    assert 'gaikan_storage_recoveries_total{line="line-1"} 1.0' in metrics_after
    assert 'gaikan_storage_healthy{line="line-1"} 1.0' in metrics_after
    # Everything decided while storage could not take it (up to the persist deadline before the
    # disk came back) is a reject: nothing is served as `pass` late.
    from datetime import datetime

    in_outage = [
        d for d in stored
        if full_at + 0.2 < datetime.fromisoformat(d["decided_at"]).timestamp() < recovered_at - deadline_s - 0.2
    ]  # fmt: skip
    assert in_outage and all(d["decision"] == "reject" for d in in_outage)
    assert any(d["reason"] == "storage" and d["frame_id"].endswith(":storage-overflow") for d in stored)
    assert any(d["reason"] == "storage" and "persist deadline" in (d["detail"] or "") for d in stored)
