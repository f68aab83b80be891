"""Build a `FrameSource` from its configuration."""

from __future__ import annotations

from gaikan.camera.config import CameraConfig, GenICamConfig, OpenCVConfig, ReplayConfig
from gaikan.camera.source import FrameSource


def open_source(config: CameraConfig) -> FrameSource:
    """A new, not yet started source for `config` (backends are imported only when used)."""
    if isinstance(config, ReplayConfig):
        from gaikan.camera.replay import ReplaySource

        return ReplaySource(config.path, camera_id=config.camera_id, fps=config.fps, loop=config.loop)
    if isinstance(config, GenICamConfig):
        from gaikan.camera.genicam import GenICamSource

        return GenICamSource(config)
    if isinstance(config, OpenCVConfig):
        from gaikan.camera.opencv import open_opencv_source

        return open_opencv_source(config)
    raise ValueError(f"unsupported camera kind {config.kind!r}")
