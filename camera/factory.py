"""Build a `FrameSource` from its configuration."""

from __future__ import annotations

from gaikan.camera.config import CameraConfig
from gaikan.camera.source import FrameSource


def open_source(config: CameraConfig) -> FrameSource:
    """A new, not yet started source for `config` (backends are imported only when used; every
    kind is listed in `gaikan.camera.config.CAMERA_KINDS`)."""
    return config.open()
