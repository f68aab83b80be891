"""The OPC UA server: a real asyncua client against the real service on loopback."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest
from asyncua import Client, Node, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography.x509.oid import ExtendedKeyUsageOID

from gaikan.camera.config import ReplayConfig
from gaikan.service.plc.opcua import _RESULT_FIELDS, NAMESPACE, _result_values, vision_state
from gaikan.service.settings import ApiKey, Role, Settings
from tests.conftest import write_test_line
from tests.live_server import LiveServer, free_port, wait_for

OPCUA_START_S = 300.0  # asyncua builds the standard address space at start: ~2 s, far more on a loaded machine
KEYS = {
    "line-plc": ("plc-key-0123456789", Role.PLC),
    "viewer": ("operator-key-0123456789", Role.OPERATOR),
    "eng": ("engineer-key-0123456789", Role.ENGINEER),
}


class Vision:
    """The VisionSystem object seen by one client session."""

    def __init__(self, client: Client, ns: int, node: Node) -> None:
        self.client, self.ns, self.node = client, ns, node

    @classmethod
    async def open(cls, client: Client) -> Vision:
        ns = await client.get_namespace_index(NAMESPACE)
        return cls(client, ns, await client.nodes.objects.get_child(f"{ns}:VisionSystem"))

    async def read(self, *path: str) -> object:
        return await (await self.node.get_child([f"{self.ns}:{p}" for p in path])).read_value()

    async def call(self, method: str, *args: object) -> object:
        return await self.node.call_method(f"{self.ns}:{method}", *args)

    async def write_ack(self, seq: int) -> None:
        await (await self.node.get_child(f"{self.ns}:AckSeq")).write_value(ua.Variant(seq, ua.VariantType.Int64))


class Events:
    def __init__(self) -> None:
        self.result_ids: list[int] = []

    def event_notification(self, event: object) -> None:
        self.result_ids.append(event.ResultId)  # type: ignore[attr-defined]


def endpoint(settings: Settings) -> str:
    return f"opc.tcp://127.0.0.1:{settings.plc.opcua.port}/gaikan/"


def test_subscriber_gets_result_ready_and_dequeues_the_buffer_with_acknowledge(tmp_path: Path, template_model_file: Path) -> None:
    line = write_test_line(tmp_path / "line", 5)
    settings = Settings(
        data_dir=tmp_path / "data",
        camera=ReplayConfig(path=line, fps=4, loop=True),
        initial_model=template_model_file,
        plc={"opcua": {"enabled": True, "port": free_port()}},
    )

    async def session() -> tuple[list[int], list[int], str, int]:
        async with Client(endpoint(settings)) as client:
            vision = await Vision.open(client)
            events = Events()
            subscription = await client.create_subscription(20, events)
            event_type = await client.nodes.base_event_type.get_child(f"{vision.ns}:ResultReadyEventType")
            await subscription.subscribe_events(vision.node, event_type)
            handled: list[int] = []
            while len(handled) < 8:  # dequeue: read the buffer, act on each new result, acknowledge the last
                ids = [i for i in await vision.read("Buffer", "ResultIds") if not handled or i > handled[-1]]
                if ids:
                    handled.extend(ids)
                    assert await vision.call("Acknowledge", ua.Variant(ids[-1], ua.VariantType.Int64)) == ids[-1]
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)
            return handled, events.result_ids, await vision.read("SystemState"), await vision.read("AckSeq")

    with LiveServer(settings, start_timeout_s=OPCUA_START_S) as server, server.client() as http:
        handled, events, state, ack_seq = asyncio.run(session())
        rest = [d["seq"] for d in http.get("/api/v1/reject", params={"after": 0, "limit": len(handled)}).json()["items"]]
        heartbeat = http.get("/api/v1/reject/heartbeat").json()
    assert handled == rest, "every result dequeued exactly once, in order, as REST lists them"
    assert events and events == sorted(set(events)), "ResultReady once per decision, in order"
    live = [seq for seq in rest if seq >= events[0]]  # events are live: none for decisions before the subscription
    assert events[: len(live)] == live, "no decision skipped between events"
    assert state == "Operational"
    assert heartbeat["acked_seq"] == ack_seq >= handled[-1], "the OPC UA ack is the client's one acked seq"


@pytest.fixture(scope="module")
def client_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("opcua-client")
    cert, key = folder / "client.der", folder / "client.pem"
    asyncio.run(
        setup_self_signed_certificate(key, cert, "urn:gaikan:test-client", "localhost", [ExtendedKeyUsageOID.CLIENT_AUTH], {"commonName": "test"})
    )
    return cert, key


def secure_client(settings: Settings, certificate: tuple[Path, Path], user: str | None, password: str | None = None) -> Client:
    client = Client(endpoint(settings))
    client.application_uri = "urn:gaikan:test-client"
    if user is not None:
        client.set_user(user)
        client.set_password(password if password is not None else KEYS[user][0])
    return client


def test_secure_endpoint_refuses_wrong_credentials_and_writes_without_the_role(
    tmp_path: Path, template_model_file: Path, client_certificate: tuple[Path, Path]
) -> None:
    line = write_test_line(tmp_path / "line", 4)
    settings = Settings(
        data_dir=tmp_path / "data",
        camera=ReplayConfig(path=line, fps=None, loop=False),
        initial_model=template_model_file,
        api_keys=[ApiKey(name=name, key=key, role=role) for name, (key, role) in KEYS.items()],
        plc={"opcua": {"enabled": True, "port": free_port(), "secure": True, "client": "line-plc"}},
    )
    cert, key = client_certificate

    async def connect(user: str | None, password: str | None = None) -> Client:
        client = secure_client(settings, client_certificate, user, password)
        await client.set_security(SecurityPolicyBasic256Sha256, str(cert), str(key), mode=ua.MessageSecurityMode.SignAndEncrypt)
        await client.connect()
        return client

    async def scenario() -> dict[str, object]:
        outcome: dict[str, object] = {}
        for user, password in (("line-plc", "wrong-password-000"), ("nobody", "plc-key-0123456789"), (None, None)):
            with pytest.raises(ua.UaError):
                await (await connect(user, password)).disconnect()
        unencrypted = Client(endpoint(settings))
        with pytest.raises((ua.UaError, OSError)):
            await unencrypted.connect()  # there is no NoSecurity endpoint, so no anonymous one

        viewer = await connect("viewer")
        try:
            vision = await Vision.open(viewer)
            outcome["viewer_reads"] = await vision.read("ResultCounter")
            with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                await vision.write_ack(1)
            with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                await vision.call("Acknowledge", ua.Variant(1, ua.VariantType.Int64))
        finally:
            await viewer.disconnect()

        plc = await connect("line-plc")
        try:
            vision = await Vision.open(plc)
            await vision.write_ack(2)
            outcome["plc_acked"] = await vision.read("AckSeq")
            with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                await vision.call("ActivateRecipe", "t1")
        finally:
            await plc.disconnect()

        engineer = await connect("eng")
        try:
            vision = await Vision.open(engineer)
            outcome["recipe"] = await vision.call("ActivateRecipe", "t1")
            with pytest.raises(ua.uaerrors.BadNotFound):
                await vision.call("ActivateRecipe", "no-such-version")
        finally:
            await engineer.disconnect()
        return outcome

    with LiveServer(settings, start_timeout_s=OPCUA_START_S) as server, server.client(KEYS["eng"][0]) as http:
        wait_for(lambda: http.get("/api/v1/status").json()["last_seq"] >= 4)
        outcome = asyncio.run(scenario())
        rest_ack = http.get("/api/v1/status").json()["plc"]
        audit = http.get("/api/v1/audit", params={"action": "model.activate"}).json()
    assert outcome["viewer_reads"] == 4
    assert outcome["plc_acked"] == 2
    assert next(c for c in rest_ack if c["client"] == "line-plc")["acked_seq"] == 2, "status shows the OPC UA ack"
    assert outcome["recipe"] == "t1"
    assert (Path(settings.data_dir) / "opcua" / "server-certificate.der").is_file(), "certificate generated on first start"
    assert audit[0]["actor"] == "eng" and audit[0]["new"] == "t1", "audited like REST, with the OPC UA user"


@pytest.mark.parametrize(
    ("reasons", "state"),
    [((), "Operational"), (("no_model",), "Preoperational"), (("pipeline_stopped",), "Halted"), (("camera_fault",), "Error"), (("storage_fault",), "Error")],
)
def test_system_state_follows_the_fail_safe_reasons(reasons: tuple[str, ...], state: str) -> None:
    assert vision_state(reasons) == state


def test_system_state_is_error_while_the_camera_is_faulted_and_operational_once_it_is_back(tmp_path: Path, template_model_file: Path) -> None:
    # The camera lives in the line process: a replay folder that is not there yet is a camera that
    # cannot start (a fault, retried); writing the parts is the camera coming back.
    parts = tmp_path / "line"
    camera = ReplayConfig(path=parts, fps=20, loop=True)
    settings = Settings(
        data_dir=tmp_path / "data", camera=camera, initial_model=template_model_file, deadline_ms=5000,
        plc={"opcua": {"enabled": True, "port": free_port()}},
    )

    async def watch() -> list[str]:
        async with Client(endpoint(settings)) as client:
            vision = await Vision.open(client)
            states = [await vision.read("SystemState")]
            for _ in range(600):
                if states[-1] == "Error":
                    break
                await asyncio.sleep(0.05)
                states.append(await vision.read("SystemState"))
            write_test_line(parts, 5)
            for _ in range(1200):
                states.append(await vision.read("SystemState"))
                if states[-1] == "Operational":
                    break
                await asyncio.sleep(0.05)
            return states

    with LiveServer(settings, start_timeout_s=OPCUA_START_S) as server, server.client() as http:
        wait_for(lambda: "camera_fault" in http.get("/api/v1/status").json()["fail_safe"], timeout=60)
        states = asyncio.run(watch())
    assert "Error" in states and states[-1] == "Operational", states


def test_a_part_decision_carries_each_views_result_in_the_result_fields() -> None:
    from gaikan.models.thresholds import Outcome
    from gaikan.service.decision import Reason
    from gaikan.service.records import DecisionRecord, StoredDecision, ViewResult

    views = (
        ViewResult(view="top", camera_id="a", frame_id="a:3", decision=Outcome.PASS, reason=Reason.SCORE, score=1.0),
        ViewResult(view="side", camera_id="b", decision=Outcome.REJECT, reason=Reason.VIEW_MISSING),
    )
    record = DecisionRecord(
        frame_id="st1:3", camera_id="st1", captured_at=1.0, decided_at=1.1, decision=Outcome.REJECT, reason=Reason.VIEW_MISSING, views=views
    )
    values = {name: value for name, _kind, value in _result_values(StoredDecision(seq=7, record=record))}
    assert [name for name, _, _ in _RESULT_FIELDS] == list(values)
    assert (values["CameraId"], values["Verdict"], values["Reason"]) == ("st1", "reject", "view_missing")
    assert values["ViewNames"] == ["top", "side"]
    assert values["ViewVerdicts"] == ["pass", "reject"] and values["ViewReasons"] == ["score", "view_missing"]
    assert values["ViewCameraIds"] == ["a", "b"]
    assert values["ViewScores"][0] == 1.0 and math.isnan(values["ViewScores"][1]), "a missing view has no score"
