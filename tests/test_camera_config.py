"""Camera kinds come from one table (`CAMERA_KINDS`): settings parse exactly those kinds, and each
opens its own source."""

from __future__ import annotations

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
