"""A sustained burst of timeouts is a fail-safe reason of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaikan.service.decision import Reason
from gaikan.service.timeout_burst import TimeoutBurst
from tests.live_server import wait_for


def test_more_than_the_share_of_the_window_alarms_and_clears_as_it_slides() -> None:
    burst = TimeoutBurst(window=10, max_fraction=0.2)
    for _ in range(2):
        burst.add(Reason.TIMEOUT)
    assert not burst.alarming, "two of ten is not more than 20 %"
    burst.add(Reason.TIMEOUT)
    assert burst.alarming and burst.timeouts == 3
    for _ in range(7):
        burst.add(Reason.SCORE)
    assert burst.alarming, "still 3 timeouts in the last 10"
    burst.add(Reason.SCORE)
    assert not burst.alarming and burst.timeouts == 2


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        TimeoutBurst(window=0)
    with pytest.raises(ValueError):
        TimeoutBurst(max_fraction=0)


def test_a_line_whose_parts_all_miss_the_deadline_reports_timeouts(tmp_path: Path, template_model_file: Path) -> None:
    from gaikan.service.line import Line
    from tests.conftest import replay_settings

    settings = replay_settings(tmp_path, 5, template_model_file, fps=20, loop=True, deadline_ms=0.01, timeout_alarm_window=10)
    line = Line(settings)
    line.start()
    try:
        wait_for(lambda: "timeouts" in line.fail_safe_reasons(), timeout=30)
    finally:
        line.stop()
