"""Frame ids stay unique across restarts: each start of the line has its own run id."""

from __future__ import annotations

from pathlib import Path

from gaikan.camera.config import ReplayConfig
from gaikan.service.line import Line
from gaikan.service.run_id import new_run_id
from gaikan.service.settings import Settings
from tests.conftest import write_test_line
from tests.live_server import wait_for


def test_run_ids_differ_and_sort_by_start_time() -> None:
    ids = [new_run_id(1_764_000_000.0 + step) for step in (0, 0.001, 1, 3600)]
    assert len(set(ids)) == 4 and ids == sorted(ids)
    assert all(len(run) == 8 and run.isalnum() for run in ids)


def test_a_restart_keeps_frame_ids_unique(tmp_path: Path, template_model_file: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        camera=ReplayConfig(path=write_test_line(tmp_path / "line", 6), fps=50, loop=False),
        initial_model=template_model_file,
    )
    runs = []
    for _ in range(2):
        line = Line(settings)
        line.start()
        try:
            wait_for(lambda line=line: len(line.stores.decisions.page(limit=100)) >= 6 * (len(runs) + 1), timeout=60)
        finally:
            line.stop()
        runs.append(line.run_id)
    frame_ids = [d.record.frame_id for d in line.stores.decisions.page(limit=100, ascending=True)]
    assert len(frame_ids) == 12 and len(set(frame_ids)) == 12
    assert runs[0] != runs[1]
    assert frame_ids[0] == f"replay:0:{runs[0]}" and frame_ids[6] == f"replay:0:{runs[1]}"
