"""Image acquisition: frames and the sources that produce them.

Nothing here knows about models or the service.
"""

from gaikan.camera.frame import Frame, PixelFormat
from gaikan.camera.source import (
    CameraConfigError,
    CameraFault,
    CameraState,
    CameraStats,
    FrameSource,
    FramesLost,
)

__all__ = [
    "CameraConfigError",
    "CameraFault",
    "CameraState",
    "CameraStats",
    "Frame",
    "FrameSource",
    "FramesLost",
    "PixelFormat",
]
