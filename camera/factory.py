"""Build a `FrameSource` from its configuration."""

from __future__ import annotations

from gaikan.camera.config import CameraConfig, ReplayConfig
from gaikan.camera.replay import ReplaySource
from gaikan.camera.source import FrameSource


def open_source(config: CameraConfig) -> FrameSource:
    """A new, not yet started source for `config`."""
    if isinstance(config, ReplayConfig):
        return ReplaySource(config.path, camera_id=config.camera_id, fps=config.fps, loop=config.loop)
    raise ValueError(f"unsupported camera kind {config.kind!r}")
