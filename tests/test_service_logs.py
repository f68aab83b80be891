from __future__ import annotations

import json
import logging

from gaikan.service.logs import JsonFormatter


def test_json_lines_carry_message_level_and_extra_fields() -> None:
    record = logging.LogRecord("gaikan.pipeline", logging.WARNING, __file__, 1, "camera %s lost", ("cam1",), None)
    record.camera_id = "cam1"
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "camera cam1 lost"
    assert entry["level"] == "warning" and entry["logger"] == "gaikan.pipeline"
    assert entry["camera_id"] == "cam1"
