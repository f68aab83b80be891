"""`gaikan cameras` and `gaikan grab` against the simulated GenTL producer and a replay camera."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from gaikan.service.cli import app
from tests.conftest import write_test_line


@pytest.fixture(autouse=True)
def no_configured_producer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GENICAM_GENTL64_PATH", raising=False)


def run(*args: object) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_cameras_lists_the_simulated_devices_when_no_producer_is_configured() -> None:
    result = run("cameras")
    assert result.exit_code == 0, result.output
    assert "using the simulated camera" in result.output
    rows = [re.split(r"\s{2,}", line) for line in result.output.splitlines() if line.startswith(("0 ", "1 ", "2 "))]
    assert [(row[2], row[3], row[4]) for row in rows] == [
        ("Viky", "0", "VikyTL_DEV_red"), ("Viky", "1", "VikyTL_DEV_green"), ("Viky", "2", "VikyTL_DEV_blue")
    ]
    assert all(row[1] == "Machine Vision Games Ltd." for row in rows)


def test_cameras_device_shows_main_nodes_with_values() -> None:
    result = run("cameras", "--cti", "viky", "--device", "VikyTL_DEV_green")
    assert result.exit_code == 0, result.output
    assert "Viky VikyTL_DEV_green (serial 1)" in result.output
    lines = {line.split()[0]: line.split()[1:] for line in result.output.splitlines()[3:] if line.strip()}
    assert lines["Width"][:2] == ["400", "RW"]
    assert lines["PixelFormat"][0] == "RGBa8"
    assert "BouncingBallSize" not in lines  # only with --all
    everything = run("cameras", "--cti", "viky", "--device", "1", "--all")
    assert "BouncingBallSize" in everything.output


def test_cameras_names_a_device_it_cannot_find() -> None:
    result = run("cameras", "--cti", "viky", "--device", "nope")
    assert result.exit_code == 1
    assert "no single device named 'nope'" in result.output


def test_grab_saves_frames_from_a_device_with_node_settings(tmp_path: Path) -> None:
    out = tmp_path / "frames"
    result = run("grab", "--device", "2", "--count", 3, "--out", out, "--set", "Width=200",
                 "--set", "Height=120", "--set", "PixelFormat=Mono8", "--quiet")  # fmt: skip
    assert result.exit_code == 0, result.output
    files = sorted(out.glob("VikyTL_DEV_blue_*.png"))
    assert len(files) == 3
    image = cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED)
    assert image.shape == (120, 200)


def test_grab_reports_a_refused_node_value(tmp_path: Path) -> None:
    result = run("grab", "--device", "0", "--out", tmp_path, "--set", "Width=900", "--quiet")
    assert result.exit_code == 1
    assert "refused Width=900" in result.output and "100..800" in result.output


def test_grab_from_the_camera_of_a_settings_file(tmp_path: Path) -> None:
    line = write_test_line(tmp_path / "line", 4)
    settings = tmp_path / "gaikan.toml"
    settings.write_text(f'[camera]\nkind = "replay"\ncamera_id = "line1"\npath = "{line.as_posix()}"\nfps = 50\nloop = false\n')
    result = run("grab", "--config", settings, "--count", 10, "--out", tmp_path / "out", "--quiet")
    assert len(list((tmp_path / "out").glob("line1_*.png"))) == 4
    assert result.exit_code == 1 and "ended after 4 of 10 frames" in result.output


def test_grab_needs_one_camera() -> None:
    result = run("grab", "--out", "x")
    assert result.exit_code == 2 and "either --device" in result.output  # a usage error
