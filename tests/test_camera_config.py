"""Camera kinds come from one table (`CAMERA_KINDS`): settings parse exactly those kinds, and each
opens its own source."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from gaikan.camera.config import CAMERA_KINDS, camera_kinds, parse_camera_config
from gaikan.camera.factory import open_source
from gaikan.camera.replay import ReplaySource
from tests.conftest import write_test_line


def test_settings_accept_exactly_the_registered_kinds(tmp_path: Path) -> None:
    assert list(camera_kinds()) == ["replay", "opencv", "genicam"] == [k.model_fields["kind"].default for k in CAMERA_KINDS]
    examples = {"replay": {"path": str(tmp_path)}, "opencv": {"device": 0}, "genicam": {"cti": ["viky"]}}
    for kind, config_class in zip(camera_kinds(), CAMERA_KINDS, strict=True):
        assert type(parse_camera_config({"kind": kind, **examples[kind]})) is config_class
    with pytest.raises(ValidationError, match="'replay', 'opencv', 'genicam'"):
        parse_camera_config({"kind": "webcam"})


def test_a_kind_opens_its_own_source(tmp_path: Path) -> None:
    line = write_test_line(tmp_path / "line", 2)
    source = open_source(parse_camera_config({"kind": "replay", "path": str(line), "fps": None, "loop": False}))
    assert isinstance(source, ReplaySource)
    source.start()
    try:
        assert source.read(timeout=5.0) is not None
    finally:
        source.stop()


def test_a_settings_file_can_say_unpaced(tmp_path: Path) -> None:
    """TOML has no null: `fps = "unpaced"` plays the replay as fast as it is read; a file without
    `fps` keeps the paced default, and a rate must still be positive."""
    from gaikan.service.settings import load_settings

    line = write_test_line(tmp_path / "line", 3)
    config = tmp_path / "gaikan.toml"
    config.write_text(f'[camera]\nkind = "replay"\npath = "{line}"\nfps = "unpaced"\nloop = true\n')
    camera = load_settings(config).camera
    assert camera is not None and camera.fps is None
    assert parse_camera_config({"kind": "replay", "path": str(line)}).fps == 10.0
    assert parse_camera_config({"kind": "opencv", "file": "run.mp4", "fps": "Unpaced"}).fps is None
    for wrong in ("fast", 0):
        with pytest.raises(ValidationError):
            parse_camera_config({"kind": "replay", "path": str(line), "fps": wrong})
    source = open_source(camera)
    source.start()
    try:
        started = time.monotonic()
        frames = [source.read(timeout=5.0) for _ in range(30)]
        elapsed = time.monotonic() - started
    finally:
        source.stop()
    assert all(frame is not None for frame in frames)
    assert elapsed < 2.5  # paced at the default 10 fps, 30 frames take at least 2.9 s
