"""Several cameras in one real server: a station's fused part decisions through the reject
stream (REST), a missing view rejected with its reason, a camera fault that stops no other camera."""

from __future__ import annotations

import shutil
from pathlib import Path

from pymodbus.client import ModbusTcpClient

from gaikan.service.pipeline import Overflow
from gaikan.service.plc.modbus import OLDEST_SEQ, REASON, REASON_CODES, VERDICT_CODES, VIEW_REGISTERS, VIEW_VERDICTS
from gaikan.service.settings import Settings
from tests.conftest import write_test_line
from tests.live_server import LiveServer, free_port, wait_for

PARTS = 10


def _camera(camera_id: str, path: Path, loop: bool = False, **entry: object) -> dict[str, object]:
    return {"camera": {"kind": "replay", "camera_id": camera_id, "path": str(path), "fps": 20, "loop": loop}, **entry}


def test_a_station_of_three_views_decides_each_part_from_all_of_them(tmp_path: Path, template_model_file: Path) -> None:
    line = write_test_line(tmp_path / "line", PARTS)
    short = tmp_path / "short"  # the back camera delivers only the first parts: the rest miss that view
    short.mkdir()
    for image in sorted(line.iterdir())[:6]:
        shutil.copy(image, short / image.name)
    settings = Settings(
        data_dir=tmp_path / "data",
        cameras=[_camera("cam-top", line), _camera("cam-side", line), _camera("cam-back", short)],
        stations=[
            {
                "station_id": "st1",
                "views": [{"name": "top", "camera": "cam-top"}, {"name": "side", "camera": "cam-side"}, {"name": "back", "camera": "cam-back"}],
                "deadline_ms": 1500,
            }
        ],
        initial_model=template_model_file,
        overflow=Overflow.BLOCK,
        deadline_ms=1500,
        plc={"modbus": {"enabled": True, "port": free_port()}},
    )
    with LiveServer(settings) as server, server.client() as client:
        wait_for(lambda: client.get("/api/v1/reject/heartbeat").json()["last_seq"] >= PARTS, timeout=60)
        page = client.get("/api/v1/reject", params={"after": 0, "limit": 100}).json()
        status = wait_for(lambda: (s := client.get("/api/v1/status").json())["stations"][0]["parts"] == PARTS and s)
        # The Modbus map carries the oldest part's verdict per view (registers 12-19).
        plc = ModbusTcpClient("127.0.0.1", port=settings.plc.modbus.port)
        assert plc.connect()
        try:
            registers = plc.read_holding_registers(0, count=VIEW_VERDICTS + VIEW_REGISTERS, device_id=1).registers
        finally:
            plc.close()
    parts = page["items"]
    oldest = parts[0]
    assert registers[OLDEST_SEQ + 1] == oldest["seq"] and registers[REASON] == REASON_CODES[oldest["reason"]]
    assert registers[VIEW_VERDICTS : VIEW_VERDICTS + VIEW_REGISTERS] == [VERDICT_CODES[v["decision"]] for v in oldest["views"]] + [0] * 5
    assert len(parts) == PARTS, [p["frame_id"] for p in parts]  # one decision per part, none per view
    assert all(p["camera_id"] == "st1" for p in parts)
    for part in parts:
        views = part["views"]
        assert [v["view"] for v in views] == ["top", "side", "back"]
        number = int(part["frame_id"].split(":")[1])
        if number >= 6:  # the back view never came: rejected for it, whatever the others said
            assert (part["decision"], part["reason"]) == ("reject", "view_missing"), part
            assert views[2]["reason"] == "view_missing" and views[2]["frame_id"] is None
            continue
        sources = {v["frame_id"].split(":")[1] for v in views}
        assert sources == {str(number)}, "the three views of one part are the same trigger count"
        expected = "reject" if any(v["decision"] == "reject" for v in views) else "pass"
        assert part["decision"] == expected
        defective = "_good" not in part["source"]
        assert (part["decision"] == "reject") == defective, part
        assert part["model_version"] == "t1" and all(v["score"] is not None for v in views)
    assert [c["camera_id"] for c in status["cameras"]] == ["cam-top", "cam-side", "cam-back"]
    assert all(c["station"] == "st1" and c["model_version"] == "t1" for c in status["cameras"])
    station = status["stations"][0]
    assert station["missing"] == PARTS - 6
    assert station["views"] == {"top": "cam-top", "side": "cam-side", "back": "cam-back"}


def test_a_camera_fault_stops_no_other_camera_and_each_keeps_its_thresholds(tmp_path: Path, template_model_file: Path) -> None:
    line = write_test_line(tmp_path / "line", PARTS)
    absent = tmp_path / "later"  # this camera cannot start until its folder exists
    settings = Settings(
        data_dir=tmp_path / "data",
        line_id="press-3",
        cameras=[
            _camera("cam-a", line, loop=True),
            _camera("cam-b", line, loop=True, thresholds={"reject": 1e6}),  # this camera passes everything it scores
            _camera("cam-c", absent),
        ],
        initial_model=template_model_file,
        overflow=Overflow.BLOCK,
    )
    with LiveServer(settings) as server, server.client() as client:
        def cameras() -> dict[str, dict]:
            return {c["camera_id"]: c for c in client.get("/api/v1/status").json()["cameras"]}

        faulted = wait_for(lambda: (c := cameras()) and c["cam-a"]["decided"] + c["cam-b"]["decided"] >= 2 * PARTS and c)
        assert faulted["cam-c"]["state"] == "faulted" and "camera_fault" in faulted["cam-c"]["fail_safe"]
        assert faulted["cam-a"]["fail_safe"] == [] and faulted["cam-b"]["fail_safe"] == []
        beat = client.get("/api/v1/reject/heartbeat").json()
        assert "camera_fault" in beat["fail_safe"] and beat["camera_state"] == "faulted", "the PLC sees the faulted camera"
        write_test_line(absent, 3)  # the camera comes back: it decides its parts too
        wait_for(lambda: cameras()["cam-c"]["decided"] >= 3, timeout=30)
        items = client.get("/api/v1/reject", params={"after": 0, "limit": 200}).json()["items"]
        metrics = client.get("/metrics").text
    by_camera: dict[str, list[dict]] = {}
    for item in items:
        by_camera.setdefault(item["camera_id"], []).append(item)
    a, b = by_camera["cam-a"], by_camera["cam-b"]
    assert len(a) >= PARTS and len(b) >= PARTS
    assert any(d["decision"] == "reject" for d in a) and all(d["decision"] == "pass" for d in b)
    assert all(d["thresholds"]["reject"] == 1e6 for d in b)
    c = by_camera["cam-c"]
    assert c[0]["reason"] == "camera_fault", "the outage shows in the stream once"
    assert sum(d["reason"] == "score" for d in c) == 3
    assert 'gaikan_frames_total{camera="cam-c",line="press-3"} 3.0' in metrics
