"""OPC UA server over the reject stream (asyncua), modelled on the Machine Vision companion
specification (OPC 40100) as far as it fits. The address space is in the README (section PLC
integration).

The server looks at the reject stream every `poll_ms` (two cheap queries); when a decision was
stored or acknowledged it refreshes the variables and fires one `ResultReady` event per new
decision. It never touches the line: the stream reads the store.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from datetime import UTC, datetime
from pathlib import Path

from asyncua import Node, Server, ua
from asyncua.common.callback import CallbackType, ServerItemCallback
from asyncua.server.address_space import NodeData

from gaikan.service.auth import Authenticator
from gaikan.service.plc.models import ModelControl
from gaikan.service.plc.opcua_security import (
    APPLICATION_URI,
    ApiKeyUsers,
    GaikanUser,
    RoleRules,
    caller_may,
    ensure_certificate,
)
from gaikan.service.records import StoredDecision
from gaikan.service.errors import DomainError, NotFound
from gaikan.service.reject_stream import AckBeyondNewest, Buffer, RejectStream
from gaikan.service.settings import OpcUaSettings, Role

log = logging.getLogger(__name__)

NAMESPACE = "urn:gaikan:machine-vision"
_UNSET = object()
FULL_REFRESH_S = 1.0  # state and heartbeat are refreshed at least this often

_PREOPERATIONAL = {"no_model", "no_camera"}  # not set up yet
_HALTED = {"pipeline_stopped"}


def vision_state(fail_safe: tuple[str, ...]) -> str:
    """OPC 40100 system state from the line's fail-safe reasons: none → Operational; only
    "not set up yet" reasons → Preoperational; a stopped pipeline → Halted; anything else (camera
    fault, PLC backlog, any reason not known here) → Error."""
    reasons = set(fail_safe)
    if not reasons:
        return "Operational"
    if reasons <= _PREOPERATIONAL:
        return "Preoperational"
    if reasons <= _HALTED | _PREOPERATIONAL:
        return "Halted"
    return "Error"


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class OpcUaAdapter:
    """One OPC UA server serving one client name's view of the reject stream."""

    def __init__(
        self, settings: OpcUaSettings, stream: RejectStream, models: ModelControl, authenticator: Authenticator, pki_dir: Path
    ) -> None:
        self._settings = settings
        self._stream = stream
        self._models = models
        self._authenticator = authenticator
        self._pki_dir = pki_dir
        self._server: Server | None = None
        self._values: dict[str, Node] = {}  # the variables the server keeps up to date, by path
        self._written: dict[str, object] = {}  # the value last written to each
        self._event = None
        self._refresh_task: asyncio.Task[None] | None = None
        self._emitted_upto = 0
        self._seen: tuple[int, int] = (-1, -1)
        self._last_full = 0.0
        self._own_ack_value: ua.DataValue | None = None  # one-shot: the next AckSeq write is the server's own

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://{self._settings.host}:{self._settings.port}/gaikan/"

    async def start(self) -> None:
        secure = self._settings.is_secure
        server = Server(user_manager=ApiKeyUsers(self._authenticator, allow_anonymous=not secure))
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("Gaikan vision system")
        await server.set_application_uri(APPLICATION_URI)
        if secure:
            cert, key = await ensure_certificate(self._pki_dir, self._settings.host)
            await server.load_certificate(str(cert))
            await server.load_private_key(str(key))
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt], permission_ruleset=RoleRules())
            server.set_identity_tokens([ua.UserNameIdentityToken])
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity], permission_ruleset=RoleRules())
            server.set_identity_tokens([ua.AnonymousIdentityToken, ua.UserNameIdentityToken])
        await self._build(server)
        server.subscribe_server_callback(CallbackType.PostRead, self._on_read)
        await server.start()
        self._server = server
        self._emitted_upto = self._stream.last_seq()  # events are live: none for decisions made before
        for decision in self._stream.since(self._emitted_upto - 1, 1):
            await self._show_last(decision)
        await self._refresh(force=True)
        self._refresh_task = asyncio.create_task(self._refresh_loop(), name="opcua-refresh")

    async def stop(self) -> None:
        if self._refresh_task is not None:
            self._refresh_task.cancel()
            try:
                await self._refresh_task
            except asyncio.CancelledError:
                pass
        if self._server is not None:
            await self._server.stop()
            self._server = None

    async def _build(self, server: Server) -> None:
        ns = await server.register_namespace(NAMESPACE)
        vs = await server.nodes.objects.add_object(ns, "VisionSystem")
        await vs.write_attribute(
            ua.AttributeIds.EventNotifier, ua.DataValue(ua.Variant(ua.EventNotifier.SubscribeToEvents, ua.VariantType.Byte))
        )
        values = self._values

        async def variable(parent: Node, name: str, value: object, kind: ua.VariantType) -> Node:
            node = await parent.add_variable(ns, name, ua.Variant(value, kind))
            values[name if parent is vs else f"{await _name(parent)}.{name}"] = node
            return node

        await variable(vs, "SystemState", "Preoperational", ua.VariantType.String)
        await variable(vs, "FailSafeReasons", [], ua.VariantType.String)
        await variable(vs, "ActiveRecipe", "", ua.VariantType.String)
        await variable(vs, "Heartbeat", 0, ua.VariantType.UInt32)
        await variable(vs, "ResultCounter", 0, ua.VariantType.Int64)
        await variable(vs, "ResultsWaiting", 0, ua.VariantType.UInt32)
        await variable(vs, "PlcSilent", [], ua.VariantType.String)
        ack_seq = await variable(vs, "AckSeq", 0, ua.VariantType.Int64)
        await ack_seq.set_writable()
        server.iserver.aspace.set_attribute_value_setter(ack_seq.nodeid, ua.AttributeIds.Value, self._write_ack)

        last = await vs.add_object(ns, "LastResult")
        for name, kind, value in _RESULT_FIELDS:
            await variable(last, name, value, kind)
        buffer = await vs.add_object(ns, "Buffer")
        for name, kind in (("ResultIds", ua.VariantType.Int64), ("PartIds", ua.VariantType.String), ("Verdicts", ua.VariantType.String), ("Reasons", ua.VariantType.String)):
            await variable(buffer, name, [], kind)

        await vs.add_method(ns, "Acknowledge", self._acknowledge, [ua.VariantType.Int64], [ua.VariantType.Int64])
        await vs.add_method(ns, "ActivateRecipe", self._activate_recipe, [ua.VariantType.String], [ua.VariantType.String])
        result_id = ua.Argument(Name="ResultId", DataType=ua.NodeId(ua.VariantType.Int64.value), ValueRank=-1)
        await vs.add_method(ns, "GetResultById", self._get_result_by_id, [result_id], _result_arguments())
        event_type = await server.create_custom_event_type(
            ns,
            "ResultReadyEventType",
            ua.ObjectIds.BaseEventType,
            [(name, kind) for name, kind, _ in _RESULT_FIELDS],
        )
        self._event = await server.get_event_generator(event_type, vs)

    # --- refresh -------------------------------------------------------------------------

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.poll_ms / 1000)
            try:
                await self._refresh()
            except Exception:
                log.exception("OPC UA refresh failed; retrying")

    async def _refresh(self, force: bool = False) -> None:
        client = self._settings.client
        seen = (self._stream.last_seq(), self._stream.acknowledged(client))
        now = time.monotonic()
        if not force and seen == self._seen and now - self._last_full < FULL_REFRESH_S:
            return
        self._seen, self._last_full = seen, now
        buffer = self._stream.buffer(client, self._settings.buffer_view, poll=False)
        await self._publish_state(buffer)
        await self._publish_new_results(buffer.heartbeat.last_seq)

    async def _publish_state(self, buffer: Buffer) -> None:
        beat = buffer.heartbeat
        items = buffer.items
        await self._set("SystemState", vision_state(beat.fail_safe), ua.VariantType.String)
        await self._set("FailSafeReasons", list(beat.fail_safe), ua.VariantType.String)
        await self._set("ActiveRecipe", beat.active_model or "", ua.VariantType.String)
        await self._set("Heartbeat", beat.beat & 0xFFFFFFFF, ua.VariantType.UInt32)
        await self._set("ResultCounter", beat.last_seq, ua.VariantType.Int64)
        await self._set("ResultsWaiting", min(beat.pending, 0xFFFFFFFF), ua.VariantType.UInt32)
        await self._set("PlcSilent", list(beat.plc_silent), ua.VariantType.String)
        await self._set("AckSeq", beat.acked_seq, ua.VariantType.Int64)
        await self._set("Buffer.ResultIds", [d.seq for d in items], ua.VariantType.Int64)
        await self._set("Buffer.PartIds", [d.record.frame_id for d in items], ua.VariantType.String)
        await self._set("Buffer.Verdicts", [d.record.decision.value for d in items], ua.VariantType.String)
        await self._set("Buffer.Reasons", [d.record.reason.value for d in items], ua.VariantType.String)

    async def _publish_new_results(self, last_seq: int) -> None:
        while self._emitted_upto < last_seq:
            batch = self._stream.since(self._emitted_upto, 500)
            if not batch:
                break
            for decision in batch:
                await self._fire(decision)
            self._emitted_upto = batch[-1].seq
            await self._show_last(batch[-1])

    async def _show_last(self, decision: StoredDecision) -> None:
        for name, kind, value in _result_values(decision):
            await self._set(f"LastResult.{name}", value, kind)

    async def _fire(self, decision: StoredDecision) -> None:
        assert self._event is not None
        for name, kind, value in _result_values(decision):
            setattr(self._event.event, name, ua.Variant(value, kind))
        await self._event.trigger(message=f"result {decision.seq}: {decision.record.decision.value}")

    async def _set(self, name: str, value: object, kind: ua.VariantType) -> None:
        """Write a variable if its value changed, straight into the address space (subscribers
        are notified; no session, no write callbacks)."""
        if self._written.get(name, _UNSET) == value:
            return
        self._written[name] = value
        assert self._server is not None
        now = datetime.now(UTC)
        data = ua.DataValue(ua.Variant(value, kind), SourceTimestamp=now, ServerTimestamp=now)
        if name == "AckSeq":  # the setter runs before write_attribute_value first yields: no other write interleaves
            self._own_ack_value = data
        await self._server.iserver.aspace.write_attribute_value(self._values[name].nodeid, ua.AttributeIds.Value, data)

    # --- client actions ------------------------------------------------------------------

    def _on_read(self, event: ServerItemCallback, _dispatcher: object) -> None:
        if event.is_external and isinstance(event.user, GaikanUser):
            self._stream.record_poll(self._settings.client)

    def _write_ack(self, node: NodeData, attr: ua.AttributeIds, value: ua.DataValue) -> None:
        """A client wrote AckSeq (the permission ruleset admitted only plc and engineer), or the
        server refreshed it."""
        if self._own_ack_value is not None:
            node.attributes[attr].value, self._own_ack_value = self._own_ack_value, None
            return
        seq = value.Value.Value if value.Value is not None else None
        if not isinstance(seq, int):
            raise ua.UaStatusCodeError(ua.StatusCodes.BadTypeMismatch)
        try:
            acked = self._stream.acknowledge(self._settings.client, seq)
        except AckBeyondNewest as error:
            log.warning("OPC UA ack refused: %s", error)
            raise ua.UaStatusCodeError(ua.StatusCodes.BadOutOfRange) from error
        node.attributes[attr].value = ua.DataValue(ua.Variant(acked, ua.VariantType.Int64))

    async def _acknowledge(self, parent: ua.NodeId, seq: ua.Variant) -> list[ua.Variant] | ua.StatusCode:
        if caller_may(Role.PLC) is None:
            return ua.StatusCode(ua.StatusCodes.BadUserAccessDenied)
        try:
            acked = self._stream.acknowledge(self._settings.client, int(seq.Value))
        except AckBeyondNewest:
            return ua.StatusCode(ua.StatusCodes.BadOutOfRange)
        await self._refresh(force=True)
        return [ua.Variant(acked, ua.VariantType.Int64)]

    async def _get_result_by_id(self, parent: ua.NodeId, result_id: ua.Variant) -> list[ua.Variant] | ua.StatusCode:
        """Any result still in the store, by its ResultId (as OPC 40100's GetResultById): the fields
        of LastResult, views included. Reading: every role may."""
        seq = int(result_id.Value)
        found = self._stream.since(seq - 1, 1) if seq >= 1 else []
        if not found or found[0].seq != seq:
            return ua.StatusCode(ua.StatusCodes.BadNotFound)
        return [ua.Variant(value, kind) for _, kind, value in _result_values(found[0])]

    async def _activate_recipe(self, parent: ua.NodeId, version: ua.Variant) -> list[ua.Variant] | ua.StatusCode:
        """Switch the active model, audited like `POST /api/v1/models/{version}/activate`."""
        caller = caller_may()
        if caller is None:
            return ua.StatusCode(ua.StatusCodes.BadUserAccessDenied)
        loop = asyncio.get_running_loop()
        try:  # loading a model takes a while: off this loop
            active = await loop.run_in_executor(None, self._models.activate, str(version.Value), caller.name)
        except DomainError as error:
            log.warning("OPC UA ActivateRecipe %s by %s refused: %s", version.Value, caller.name, error)
            return ua.StatusCode(ua.StatusCodes.BadNotFound if isinstance(error, NotFound) else ua.StatusCodes.BadInvalidArgument)
        await self._refresh(force=True)
        return [ua.Variant(active, ua.VariantType.String)]


_RESULT_FIELDS: tuple[tuple[str, ua.VariantType, object], ...] = (
    ("ResultId", ua.VariantType.Int64, 0),
    ("PartId", ua.VariantType.String, ""),
    ("CameraId", ua.VariantType.String, ""),
    ("Verdict", ua.VariantType.String, ""),
    ("Reason", ua.VariantType.String, ""),
    ("Score", ua.VariantType.Double, math.nan),
    ("ModelVersion", ua.VariantType.String, ""),
    ("CaptureTime", ua.VariantType.DateTime, _utc(0)),
    ("DecisionTime", ua.VariantType.DateTime, _utc(0)),
    # a station's part decision: each view's name, camera, verdict, reason and score (NaN: not
    # scored), in the station's order (empty for one camera)
    ("ViewNames", ua.VariantType.String, []),
    ("ViewCameraIds", ua.VariantType.String, []),
    ("ViewVerdicts", ua.VariantType.String, []),
    ("ViewReasons", ua.VariantType.String, []),
    ("ViewScores", ua.VariantType.Double, []),
)


def _result_arguments() -> list[ua.Argument]:
    """The result fields as a method's output arguments (arrays where the field is one)."""
    arguments = []
    for name, kind, default in _RESULT_FIELDS:
        argument = ua.Argument(Name=name, DataType=ua.NodeId(kind.value), ValueRank=1 if isinstance(default, list) else -1)
        if isinstance(default, list):
            argument.ArrayDimensions = [0]
        arguments.append(argument)
    return arguments


def _result_values(decision: StoredDecision) -> list[tuple[str, ua.VariantType, object]]:
    record = decision.record
    values = {
        "ResultId": decision.seq,
        "PartId": record.frame_id,
        "CameraId": record.camera_id,
        "Verdict": record.decision.value,
        "Reason": record.reason.value,
        "Score": record.score if record.score is not None else math.nan,
        "ModelVersion": record.model_version or "",
        "CaptureTime": _utc(record.captured_at),
        "DecisionTime": _utc(record.decided_at),
        "ViewNames": [view.view for view in record.views],
        "ViewCameraIds": [view.camera_id for view in record.views],
        "ViewVerdicts": [view.decision.value for view in record.views],
        "ViewReasons": [view.reason.value for view in record.views],
        "ViewScores": [view.score if view.score is not None else math.nan for view in record.views],
    }
    return [(name, kind, values[name]) for name, kind, _ in _RESULT_FIELDS]


async def _name(node: Node) -> str:
    return (await node.read_browse_name()).Name
