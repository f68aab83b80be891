"""GenICam feature nodes: set any node by name from configuration (clear errors naming the node
and what the device accepts) and read them back for display."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from genicam import genapi

from gaikan.camera.config import NodeValue
from gaikan.camera.source import CameraConfigError

# What `gaikan cameras --device` shows by default (those the device has).
MAIN_NODES = (
    "DeviceVendorName",
    "DeviceModelName",
    "DeviceSerialNumber",
    "DeviceUserID",
    "DeviceFirmwareVersion",
    "Width",
    "Height",
    "OffsetX",
    "OffsetY",
    "PixelFormat",
    "ExposureAuto",
    "ExposureTime",
    "ExposureTimeAbs",
    "GainAuto",
    "Gain",
    "GainRaw",
    "AcquisitionMode",
    "AcquisitionFrameRateEnable",
    "AcquisitionFrameRate",
    "AcquisitionFrameRateAbs",
    "TriggerSelector",
    "TriggerMode",
    "TriggerSource",
    "TriggerActivation",
    "PayloadSize",
    "GevSCPSPacketSize",
    "DeviceLinkThroughputLimit",
)

_WRITABLE = (genapi.EAccessMode.WO, genapi.EAccessMode.RW)
_READABLE = (genapi.EAccessMode.RO, genapi.EAccessMode.RW)
_VALUE_TYPES = ("Integer", "Float", "Boolean", "Enumeration", "String")


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """One feature node as a person reads it."""

    name: str
    kind: str  # Integer, Float, Boolean, Enumeration, String, Command
    access: str  # RW, RO, WO, NA (not available now), NI (not implemented)
    value: str | None
    allowed: str | None  # "100..800 step 4 px", "Mono8, RGBa8", …


def _kind(node: Any) -> str:
    return type(node).__name__.removeprefix("I")


def _access(node: Any) -> genapi.EAccessMode:
    return genapi.EAccessMode(node.node.get_access_mode())


def _reason(error: Exception) -> str:
    """GenApi's message without the file/line trailer."""
    return str(error).split(" : ")[0].strip() or type(error).__name__


def _allowed(node: Any) -> str | None:
    kind = _kind(node)
    try:
        if kind == "Enumeration":
            return ", ".join(node.symbolics)
        if kind in ("Integer", "Float"):
            unit = f" {node.unit}" if getattr(node, "unit", "") else ""
            step = ""
            if kind == "Integer" and node.inc != 1:
                step = f" step {node.inc}"
            return f"{node.min}..{node.max}{step}{unit}"
    except Exception:  # ranges can be unavailable while a node is locked
        return None
    return None


def _coerce(node: Any, name: str, value: NodeValue, device: str) -> NodeValue:
    """`value` (typed, or text from the command line) as the node's type."""
    kind = _kind(node)
    problem = f"{device}: {name} is a{'n' if kind[0] in 'AEIOU' else ''} {kind} node; cannot use {value!r}"
    if kind == "Integer":
        if isinstance(value, bool):
            raise CameraConfigError(problem)
        if isinstance(value, str):
            try:
                return int(value, 0)
            except ValueError:
                raise CameraConfigError(problem) from None
        if isinstance(value, float) and not value.is_integer():
            raise CameraConfigError(problem)
        return int(value)
    if kind == "Float":
        if isinstance(value, bool):
            raise CameraConfigError(problem)
        try:
            return float(value)
        except ValueError:
            raise CameraConfigError(problem) from None
    if kind == "Boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "on", "yes"):
            return True
        if text in ("false", "0", "off", "no"):
            return False
        raise CameraConfigError(problem)
    return str(value)


def set_node(node_map: Any, name: str, value: NodeValue, *, device: str) -> None:
    """Set one feature node; a command node is executed when `value` is true (or "execute").

    Raises CameraConfigError naming the node when the device lacks it, it is not writable now,
    or the device refuses the value (with what it accepts).
    """
    if not node_map.has_node(name):
        raise CameraConfigError(f"{device} has no GenICam node {name!r}")
    node = node_map.get_node(name)
    kind = _kind(node)
    access = _access(node)
    if access not in _WRITABLE:
        raise CameraConfigError(f"{device}: node {name!r} is not writable (access {access.name})")
    if kind == "Command":
        if value is True or str(value).lower() in ("execute", "true", "1"):
            try:
                node.execute()
            except Exception as error:
                raise CameraConfigError(f"{device} refused to execute {name}: {_reason(error)}") from error
            return
        raise CameraConfigError(f"{device}: {name} is a command; set it to true (or 'execute') to run it")
    if kind not in _VALUE_TYPES:
        raise CameraConfigError(f"{device}: node {name!r} is a {kind} node, which cannot be set from configuration")
    typed = _coerce(node, name, value, device)
    if kind == "Enumeration" and typed not in node.symbolics:
        raise CameraConfigError(f"{device} refused {name}={typed!r}: allowed values are {', '.join(node.symbolics)}")
    try:
        node.value = typed
    except Exception as error:
        allowed = _allowed(node)
        hint = f" (allowed {allowed})" if allowed else ""
        raise CameraConfigError(f"{device} refused {name}={typed!r}: {_reason(error)}{hint}") from error


def apply_nodes(node_map: Any, nodes: Mapping[str, NodeValue], *, device: str) -> None:
    """Set nodes in the order given (selectors before the features they select)."""
    for name, value in nodes.items():
        set_node(node_map, name, value, device=device)


def read_node(node_map: Any, name: str) -> NodeInfo | None:
    """The node as a person reads it, or None when the device lacks it (or it is not a feature)."""
    if not node_map.has_node(name):
        return None
    node = node_map.get_node(name)
    kind = _kind(node)
    if kind not in (*_VALUE_TYPES, "Command"):
        return None
    access = _access(node)
    value: str | None = None
    if kind != "Command" and access in _READABLE:
        try:
            value = str(node.value).lower() if kind == "Boolean" else node.to_string()
        except Exception as error:
            value = f"<{_reason(error)}>"
    return NodeInfo(name=name, kind=kind, access=access.name, value=value, allowed=_allowed(node))


def describe_nodes(node_map: Any, names: Iterable[str] | None = None) -> list[NodeInfo]:
    """`names` (default: every feature the device has, in its own order, without the helper
    nodes behind them) that exist."""
    if names is None:
        names = [node.node.name for node in node_map.nodes if node.node.is_feature()]
    infos = (read_node(node_map, name) for name in names)
    return [info for info in infos if info is not None]
