"""Several cameras in one real server: a station's fused part decisions through the reject
stream (REST, Modbus, OPC UA with a real asyncua client) and MQTT (a real mosquitto), every view's
pictures served per view, a missing view rejected with its reason, a camera fault that stops no
other camera, each camera with its own thresholds. One server for the module (its start is the
cost)."""

from __future__ import annotations

import asyncio
import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from asyncua import Client, ua
from pymodbus.client import ModbusTcpClient

from gaikan.service.pipeline import Overflow
from gaikan.service.plc.opcua import _RESULT_FIELDS, NAMESPACE
from gaikan.service.plc.modbus import OLDEST_SEQ, REASON, REASON_CODES, VERDICT_CODES, VIEW_REGISTERS, VIEW_VERDICTS
from gaikan.service.settings import Settings
from tests.conftest import write_test_line
from tests.live_server import LiveServer, free_port, wait_for
from tests.mqtt_broker import Broker, Subscriber, mosquitto_binary

PARTS = 10
OPCUA_START_S = 300.0  # asyncua builds its address space at start: ~2 s, far more on a loaded machine
BACK_PARTS = 6  # the back camera delivers only the first parts: the rest miss that view


def _camera(camera_id: str, path: Path, loop: bool = False, **entry: object) -> dict[str, object]:
    return {"camera": {"kind": "replay", "camera_id": camera_id, "path": str(path), "fps": 20, "loop": loop}, **entry}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if mosquitto_binary() is None:
        pytest.skip("the mosquitto broker is not installed (Debian: apt-get install mosquitto; `make test-deps`)")
    broker = Broker(tmp_path_factory.mktemp("mosquitto")).start()
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def subscriber(broker: Broker) -> Iterator[Subscriber]:
    """Subscribed before the line starts: it gets every decision the line publishes."""
    subscriber = Subscriber(broker, "gaikan/press-3/#", client_id="multicam-test", durable=True)
    wait_for(lambda: subscriber._client.is_connected(), timeout=10)
    yield subscriber
    subscriber.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, template_model_file: Path, broker: Broker, subscriber: Subscriber) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("multicam")
    line = write_test_line(root / "line", PARTS)
    short = root / "short"
    short.mkdir()
    for image in sorted(line.iterdir())[:BACK_PARTS]:
        shutil.copy(image, short / image.name)
    settings = Settings(
        data_dir=root / "data",
        line_id="press-3",
        cameras=[
            _camera("cam-top", line),
            _camera("cam-side", line),
            _camera("cam-back", short),
            _camera("cam-b", line, loop=True, thresholds={"reject": 1e6}),  # decides its own parts, passes everything it scores
            _camera("cam-c", root / "later"),  # cannot start until its folder exists
        ],
        stations=[
            {
                "station_id": "st1",
                "views": [{"name": "top", "camera": "cam-top"}, {"name": "side", "camera": "cam-side"}, {"name": "back", "camera": "cam-back"}],
                "deadline_ms": 3000,  # generous: a loaded test machine must not turn a slow view into a missing one
            }
        ],
        initial_model=template_model_file,
        overflow=Overflow.BLOCK,
        deadline_ms=3000,
        plc={"modbus": {"enabled": True, "port": free_port()}, "opcua": {"enabled": True, "port": free_port()}},
        mqtt={"enabled": True, "port": broker.port},
    )
    with LiveServer(settings, start_timeout_s=OPCUA_START_S) as live:
        yield live


def _stream(client) -> list[dict]:  # noqa: ANN001
    return client.get("/api/v1/reject", params={"after": 0, "limit": 500}).json()["items"]


def test_a_station_of_three_views_decides_each_part_from_all_of_them(server: LiveServer, subscriber: Subscriber) -> None:
    with server.client() as client:
        wait_for(lambda: sum(d["camera_id"] == "st1" for d in _stream(client)) >= PARTS, timeout=60)
        # A part rejected on its scores keeps the pictures of the view that rejected it (written
        # by the evidence process after the decision is stored).
        wait_for(lambda: (rejects := [d for d in _stream(client) if d["camera_id"] == "st1" and d["reason"] == "score" and d["decision"] == "reject"]) and all(d["has_image"] for d in rejects))
        parts = [d for d in _stream(client) if d["camera_id"] == "st1"]
        status = wait_for(lambda: (s := client.get("/api/v1/status").json())["stations"][0]["parts"] == PARTS and s)
        # The Modbus map carries the oldest waiting part's verdict per view (registers 12-19).
        assert client.post("/api/v1/reject/ack", json={"seq": parts[0]["seq"] - 1}).status_code == 200
        plc = ModbusTcpClient("127.0.0.1", port=server.settings.plc.modbus.port)
        assert plc.connect()
        try:
            registers = plc.read_holding_registers(0, count=VIEW_VERDICTS + VIEW_REGISTERS, device_id=1).registers
        finally:
            plc.close()
    # MQTT: each part decision, with its views, on the station's topic, as REST lists it.
    topic = "gaikan/press-3/st1/part/decision"
    published = wait_for(lambda: len(p := [b for t, b, _ in list(subscriber.messages) if t == topic]) >= PARTS and p)
    by_seq = {b["seq"]: b for b in published}
    assert [by_seq[p["seq"]]["views"] for p in parts] == [p["views"] for p in parts]
    oldest = parts[0]
    assert registers[OLDEST_SEQ + 1] == oldest["seq"] and registers[REASON] == REASON_CODES[oldest["reason"]]
    assert registers[VIEW_VERDICTS : VIEW_VERDICTS + VIEW_REGISTERS] == [VERDICT_CODES[v["decision"]] for v in oldest["views"]] + [0] * 5
    assert len(parts) == PARTS, [p["frame_id"] for p in parts]  # one decision per part, none per view
    for part in parts:
        views = part["views"]
        assert [v["view"] for v in views] == ["top", "side", "back"]
        number = int(part["frame_id"].split(":")[1])
        if number >= BACK_PARTS:  # the back view never came: rejected for it, whatever the others said
            assert (part["decision"], part["reason"]) == ("reject", "view_missing"), part
            assert views[2]["reason"] == "view_missing" and views[2]["frame_id"] is None
            continue
        assert {v["frame_id"].split(":")[1] for v in views} == {str(number)}, "the views of one part share its trigger count"
        expected = "reject" if any(v["decision"] == "reject" for v in views) else "pass"
        defective = "_good" not in part["source"]
        assert part["decision"] == expected and (expected == "reject") == defective, part
        assert part["model_version"] == "t1" and all(v["score"] is not None for v in views)
    cameras = {c["camera_id"]: c for c in status["cameras"]}
    assert list(cameras) == ["cam-top", "cam-side", "cam-back", "cam-b", "cam-c"]
    assert all(cameras[c]["station"] == "st1" and cameras[c]["model_version"] == "t1" for c in ("cam-top", "cam-side", "cam-back"))
    station = status["stations"][0]
    assert station["missing"] == PARTS - BACK_PARTS
    assert station["views"] == {"top": "cam-top", "side": "cam-side", "back": "cam-back"}


def _pictured(part: dict) -> bool:
    """Every view that was scored has its image and heatmap kept (written after the decision)."""
    return all(p["has_image"] and p["has_heatmap"] for p, v in zip(part["view_pictures"], part["views"], strict=True) if v["score"] is not None)


def test_every_view_of_a_rejected_part_keeps_its_pictures_served_per_view(server: LiveServer) -> None:
    line = sorted(Path(server.settings.cameras[0].camera.path).iterdir())
    with server.client() as client:
        rejects = wait_for(
            lambda: len(r := [d for d in _stream(client) if d["camera_id"] == "st1" and d["decision"] == "reject"]) >= PARTS - BACK_PARTS
            and all(_pictured(d) for d in r)
            and r
        )
        scored = next(d for d in rejects if d["reason"] == "score")
        seq, number = scored["seq"], int(scored["frame_id"].split(":")[1])
        assert [p["view"] for p in scored["view_pictures"]] == ["top", "side", "back"]
        images = {view: client.get(f"/api/v1/results/{seq}/views/{view}/image") for view in ("top", "side", "back")}
        heatmap = client.get(f"/api/v1/results/{seq}/views/back/heatmap")
        part_image = client.get(f"/api/v1/results/{seq}/image")
        missing = next(d for d in rejects if d["reason"] == "view_missing")
        no_back = client.get(f"/api/v1/results/{missing['seq']}/views/back/image")
        side_of_missing = client.get(f"/api/v1/results/{missing['seq']}/views/side/image")
        unknown = client.get(f"/api/v1/results/{seq}/views/front/image")
        invalid = client.get(f"/api/v1/results/{seq}/views/a%20b/image")
        single = next(d for d in _stream(client) if d["camera_id"] == "cam-b")
        of_single = client.get(f"/api/v1/results/{single['seq']}/views/top/heatmap")
        openapi = client.get("/openapi.json").json()["paths"]["/api/v1/results/{seq}/views/{view}/image"]["get"]["responses"]
    source = cv2.imread(str(line[number]), cv2.IMREAD_UNCHANGED)
    for view, answer in images.items():
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png", view
        assert np.array_equal(cv2.imdecode(np.frombuffer(answer.content, np.uint8), cv2.IMREAD_UNCHANGED), source), f"{view}: its own frame, lossless"
    assert heatmap.status_code == 200 and heatmap.headers["content-type"] == "image/jpeg" and heatmap.content[:2] == b"\xff\xd8"
    assert part_image.content in [a.content for a in images.values()], "the part's own image is one of its views'"
    assert side_of_missing.status_code == 200, "a part missing a view keeps the pictures of the views it has"
    assert no_back.status_code == 404 and "no image kept for view back" in no_back.json()["detail"]
    assert unknown.status_code == 404 and unknown.json()["detail"] == f"result {seq} has no view 'front'; its views: top, side, back"
    assert invalid.status_code == 422
    assert single["view_pictures"] == [] and of_single.status_code == 404 and "one camera's decision" in of_single.json()["detail"]
    assert {"200", "404", "422"} <= set(openapi)


def test_an_opcua_client_reads_each_views_camera_verdict_and_score_of_a_part(server: LiveServer) -> None:
    with server.client() as client:
        parts = wait_for(lambda: len(p := [d for d in _stream(client) if d["camera_id"] == "st1"]) >= PARTS and p)
    complete = next(p for p in parts if p["reason"] == "score")
    missing = next(p for p in parts if p["reason"] == "view_missing")

    async def read(seqs: list[int]) -> tuple[list[list[object]], str]:
        async with Client(f"opc.tcp://127.0.0.1:{server.settings.plc.opcua.port}/gaikan/", timeout=30) as opcua:  # a loaded machine answers late
            ns = await opcua.get_namespace_index(NAMESPACE)
            vision = await opcua.nodes.objects.get_child(f"{ns}:VisionSystem")
            results = [await vision.call_method(f"{ns}:GetResultById", ua.Variant(seq, ua.VariantType.Int64)) for seq in seqs]
            try:
                await vision.call_method(f"{ns}:GetResultById", ua.Variant(10**9, ua.VariantType.Int64))
                unknown = "found"
            except ua.UaStatusCodeError as error:
                unknown = type(error).__name__
            return results, unknown

    results, unknown = asyncio.run(read([complete["seq"], missing["seq"]]))
    names = [name for name, _, _ in _RESULT_FIELDS]
    assert missing["views"][2]["score"] is None, "the missing back view was never scored"
    for part, values in zip((complete, missing), results, strict=True):
        fields = dict(zip(names, values, strict=True))
        assert (fields["ResultId"], fields["CameraId"], fields["Verdict"]) == (part["seq"], "st1", part["decision"])
        views = part["views"]
        assert fields["ViewNames"] == ["top", "side", "back"]
        assert fields["ViewCameraIds"] == [v["camera_id"] for v in views] == ["cam-top", "cam-side", "cam-back"]
        assert fields["ViewVerdicts"] == [v["decision"] for v in views] and fields["ViewReasons"] == [v["reason"] for v in views]
        scores = [None if math.isnan(score) else pytest.approx(score) for score in fields["ViewScores"]]
        assert scores == [v["score"] for v in views], "NaN for a view not scored"
    assert unknown == "BadNotFound"


def test_a_camera_fault_stops_no_other_camera_and_each_keeps_its_thresholds(server: LiveServer) -> None:
    with server.client() as client:
        def cameras() -> dict[str, dict]:
            return {c["camera_id"]: c for c in client.get("/api/v1/status").json()["cameras"]}

        faulted = wait_for(lambda: (c := cameras()) and c["cam-b"]["decided"] >= PARTS and c)
        assert faulted["cam-c"]["state"] == "faulted" and "camera_fault" in faulted["cam-c"]["fail_safe"]
        assert faulted["cam-b"]["fail_safe"] == []
        beat = client.get("/api/v1/reject/heartbeat").json()
        assert "camera_fault" in beat["fail_safe"] and beat["camera_state"] == "faulted", "the PLC sees the faulted camera"
        later = Path(server.settings.cameras[4].camera.path)
        write_test_line(later.with_name("later.partial"), 3).rename(later)  # whole at once: the camera comes back and decides its parts too
        wait_for(lambda: cameras()["cam-c"]["decided"] >= 3, timeout=30)
        # Stored a moment after the line counts it decided: wait for the stream to list it.
        items = wait_for(lambda: (i := _stream(client)) and sum(d["camera_id"] == "cam-c" for d in i) >= 4 and i, timeout=10)
        frames_c = 'gaikan_frames_total{camera="cam-c",line="press-3"} 3.0'
        # The line's counters reach /metrics with its next snapshot (5 Hz), a moment after status.
        metrics = wait_for(lambda: (lambda text: text if frames_c in text else None)(client.get("/metrics").text), timeout=10)
    b = [d for d in items if d["camera_id"] == "cam-b"]
    assert len(b) >= PARTS and all(d["decision"] == "pass" and d["thresholds"]["reject"] == 1e6 for d in b)
    c = [d for d in items if d["camera_id"] == "cam-c"]
    assert c[0]["reason"] == "camera_fault", "the outage shows in the stream once"
    assert sum(d["reason"] == "score" for d in c) == 3, c
    assert frames_c in metrics
