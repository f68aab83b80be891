"""Camera actions carried out by the line process."""

from __future__ import annotations

from gaikan.service.line_protocol import Trigger
from gaikan.service.services.context import ApiContext


class CameraService:
    def __init__(self, context: ApiContext) -> None:
        self._line = context.line

    def trigger(self) -> str:
        """Fire the software trigger; the camera id."""
        camera_id = self._line.execute(Trigger())
        assert isinstance(camera_id, str)
        return camera_id
