"""The MQTT topic layout and payloads.

    <root>/<line>/state                          retained: is the line online, fail-safe, camera, model
    <root>/<line>/<station>/<camera>/decision    one message per decision, QoS 1, in seq order

`<root>` is `[mqtt] topic_root` ("gaikan"), `<line>` the settings' `line_id`. `<station>` and
`<camera>` come from the decision itself: a station's part decision (it has `views`) goes to
`<station id>/part`; a camera's own decision to `[mqtt] station` / its `camera_id`. A decision's payload
is the reject stream's item as the REST reject stream returns it (JSON), so whatever that model
carries reaches MQTT unchanged. Subscribers: `<root>/+/state`, `<root>/<line>/#`, `<root>/+/+/+/decision`.
"""

from __future__ import annotations

import json
import re
import time

from pydantic import BaseModel

from gaikan.service.reject_stream import LineState

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")  # '/', '+', '#' and the rest: a topic level stays one level


def level(name: str) -> str:
    """`name` as one topic level."""
    return _UNSAFE.sub("_", name) or "_"


def state_topic(root: str, line: str) -> str:
    return f"{root}/{level(line)}/state"


def decision_topic(root: str, line: str, default_station: str, item: BaseModel) -> str:
    if getattr(item, "views", None):  # a station's part decision: its camera_id is the station's id
        return f"{root}/{level(line)}/{level(str(item.camera_id))}/part/decision"  # type: ignore[attr-defined]
    station = getattr(item, "station", None) or default_station
    camera = getattr(item, "camera_id", None) or "part"
    return f"{root}/{level(line)}/{level(str(station))}/{level(str(camera))}/decision"


def state_payload(line: str, state: LineState | None, *, online: bool, reason: str | None = None, stamped: bool = True) -> bytes:
    """The retained state message; `state` None when offline (the last will, a clean stop). The
    last will is written at connect time, so it carries no time (`stamped` False)."""
    body: dict[str, object] = {"line_id": line, "online": online}
    if stamped:
        body["at"] = round(time.time(), 3)
    if reason:
        body["reason"] = reason
    if state is not None:
        body |= {
            "fail_safe": list(state.fail_safe),
            "camera_state": state.camera_state,
            "active_model": state.active_model,
            "active_model_calibrated": state.active_model_calibrated,
        }
    return json.dumps(body, separators=(",", ":")).encode()
