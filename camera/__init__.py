"""Image acquisition: frames and the sources that produce them.

Nothing here knows about models or the service.
"""

from gaikan.camera.frame import Frame, PixelFormat
from gaikan.camera.source import CameraFault, CameraState, CameraStats, FrameSource

__all__ = ["CameraFault", "CameraState", "CameraStats", "Frame", "FrameSource", "PixelFormat"]
