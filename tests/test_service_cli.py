"""The `gaikan` command line as a whole: help generated from the registries, the exit-code
convention (0 done, 1 the operation failed, 2 the command line is wrong), and its entry points."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gaikan.camera.config import CAMERA_KINDS, camera_kinds
from gaikan.models.architectures import ARCHITECTURES
from gaikan.service.cli import app
from gaikan.service.cli.exits import ExitCode


def run(*args: object) -> object:
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"}, terminal_width=200)


def flat(text: str) -> str:
    """Help text without rich's box drawing and line wrapping."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def test_train_help_lists_every_architecture_with_its_summary() -> None:
    result = run("train", "--help")
    assert result.exit_code == ExitCode.OK
    for entry in ARCHITECTURES:
        assert f"{entry.name}: {entry.summary}" in flat(result.output)


@pytest.mark.parametrize("command", ["grab", "cameras"])
def test_camera_help_lists_every_camera_kind(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == ExitCode.OK
    assert len(camera_kinds()) == len(CAMERA_KINDS) == 3
    for kind, description in camera_kinds().items():
        assert f"{kind}: {description}" in flat(result.output)
    assert "[camera] table" in flat(result.output)


def test_unknown_architecture_is_a_usage_error_naming_the_known_ones(tmp_path: Path) -> None:
    result = run("train", "--data", tmp_path, "--arch", "resnet", "--out", tmp_path / "m.zip")
    assert result.exit_code == ExitCode.USAGE
    assert "unknown architecture 'resnet'" in result.output
    assert all(entry.name in flat(result.output) for entry in ARCHITECTURES)


def test_missing_input_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run("eval", tmp_path / "missing.zip", "--data", tmp_path)
    assert result.exit_code == ExitCode.USAGE and "does not exist" in result.output
    missing_data = run("data", "check", tmp_path / "nowhere")
    assert missing_data.exit_code == ExitCode.USAGE and "does not exist" in missing_data.output


def test_bad_values_are_usage_errors(tmp_path: Path) -> None:
    assert run("grab", "--out", tmp_path, "--count", 0, "--device", "0").exit_code == ExitCode.USAGE
    bad_set = run("grab", "--out", tmp_path, "--device", "0", "--set", "Width")
    assert bad_set.exit_code == ExitCode.USAGE and "expected KEY=VALUE" in bad_set.output
    bad_camera = run("demo", "--camera", "webcam")
    assert bad_camera.exit_code == ExitCode.USAGE and "replay or genicam" in bad_camera.output
    assert run("no-such-command").exit_code == ExitCode.USAGE


def test_a_failing_operation_exits_1_with_the_reason_on_stderr(tmp_path: Path) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"not a zip")
    result = run("eval", broken, "--data", tmp_path)
    assert result.exit_code == ExitCode.FAILED
    assert result.stderr.startswith("error: ") and "broken.zip" in result.stderr
    empty = run("data", "check", tmp_path)
    assert empty.exit_code == ExitCode.FAILED and "no images in train/good" in empty.stderr


def test_a_settings_file_that_does_not_validate_fails_with_its_reason(tmp_path: Path) -> None:
    settings = tmp_path / "gaikan.toml"
    settings.write_text('[camera]\nkind = "webcam"\n')
    result = run("grab", "--config", settings, "--out", tmp_path / "out")
    assert result.exit_code == ExitCode.FAILED and "webcam" in result.stderr


def test_data_synth_writes_what_data_check_counts(tmp_path: Path) -> None:
    out = tmp_path / "parts"
    made = run("data", "synth", out, "--train-good", 3, "--test-good", 2, "--test-per-defect", 1, "--size", 64)
    assert made.exit_code == ExitCode.OK, made.output
    checked = run("data", "check", out)
    assert checked.exit_code == ExitCode.OK, checked.output
    rows = {line.split()[0]: line.split()[1:] for line in checked.output.splitlines()[2:]}
    assert rows["train/good"] == ["3"] and rows["test/good"] == ["2", "0"]
    assert rows["test/scratch"] == ["1", "1"]


def test_the_installed_entry_points_run_the_same_app() -> None:
    for command in ([sys.executable, "-m", "gaikan.service", "--help"], [str(Path(sys.executable).parent / "gaikan"), "--help"]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        assert "calibrate" in result.stdout and "cameras" in result.stdout and "data" in result.stdout


def test_help_never_imports_torch_or_the_service() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from gaikan.service.cli import app; "
        "[CliRunner().invoke(app, [c, '--help']) for c in ('train', 'eval', 'grab', 'serve')]; "
        "print(sorted(m for m in ('torch', 'onnxruntime', 'fastapi') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_serve_with_settings_that_do_not_validate_fails_before_serving(tmp_path: Path) -> None:
    settings = tmp_path / "gaikan.toml"
    settings.write_text('host = "0.0.0.0"\nport = "eighty"\n')
    result = run("serve", "--config", settings)
    assert result.exit_code == ExitCode.FAILED and "port" in result.stderr
    assert "serving on" not in result.output


def test_usage_errors_raised_by_commands_exit_like_clicks_own() -> None:
    assert typer.BadParameter("x").exit_code == ExitCode.USAGE
