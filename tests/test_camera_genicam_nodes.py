"""Setting GenICam nodes and trigger modes on a real GenApi node map whose nodes live in memory
(the simulated camera has no trigger, exposure or boolean nodes)."""

from __future__ import annotations

from typing import Any

import pytest
from genicam.genapi import NodeMap

from gaikan.camera.config import GenICamConfig
from gaikan.camera.genicam import apply_trigger
from gaikan.camera.genicam_nodes import apply_nodes, describe_nodes, read_node, set_node
from gaikan.camera.source import CameraConfigError

FEATURES = ("TriggerSelector", "TriggerMode", "TriggerSource", "TriggerActivation", "TriggerSoftware",
            "Width", "ExposureTime", "ReverseX", "DeviceUserID", "PayloadSize")  # fmt: skip


def _enumeration(name: str, entries: list[str], value: int) -> str:
    items = "".join(f'<EnumEntry Name="{e}" NameSpace="Standard"><Value>{i}</Value></EnumEntry>' for i, e in enumerate(entries))
    return f'<Enumeration Name="{name}" NameSpace="Standard">{items}<Value>{value}</Value></Enumeration>'


XML = f"""<?xml version="1.0" encoding="utf-8"?>
<RegisterDescription ModelName="InMemory" VendorName="Gaikan" StandardNameSpace="None"
  SchemaMajorVersion="1" SchemaMinorVersion="1" SchemaSubMinorVersion="0" MajorVersion="1" MinorVersion="0"
  SubMinorVersion="0" ProductGuid="11111111-2222-3333-4444-555555555555" VersionGuid="11111111-2222-3333-4444-555555555556"
  xmlns="http://www.genicam.org/GenApi/Version_1_1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.genicam.org/GenApi/Version_1_1 http://www.genicam.org/GenApi/GenApiSchema_Version_1_1.xsd">
  <Category Name="Root" NameSpace="Standard">{"".join(f"<pFeature>{f}</pFeature>" for f in FEATURES)}</Category>
  {_enumeration("TriggerSelector", ["AcquisitionStart", "FrameStart"], 0)}
  {_enumeration("TriggerMode", ["Off", "On"], 0)}
  {_enumeration("TriggerSource", ["Line1", "Line2", "Software"], 0)}
  {_enumeration("TriggerActivation", ["RisingEdge", "FallingEdge"], 1)}
  <Integer Name="SoftwareTriggers"><Value>0</Value></Integer>
  <Command Name="TriggerSoftware" NameSpace="Standard"><pValue>SoftwareTriggers</pValue><CommandValue>1</CommandValue></Command>
  <Integer Name="Width" NameSpace="Standard"><Value>640</Value><Min>16</Min><Max>1920</Max><Inc>16</Inc></Integer>
  <Float Name="ExposureTime" NameSpace="Standard"><Value>1000</Value><Min>10</Min><Max>100000</Max><Unit>us</Unit></Float>
  <Boolean Name="ReverseX" NameSpace="Standard"><Value>0</Value><OnValue>1</OnValue><OffValue>0</OffValue></Boolean>
  <String Name="DeviceUserID" NameSpace="Standard"><Value>top</Value></String>
  <Integer Name="PayloadSize" NameSpace="Standard"><ImposedAccessMode>RO</ImposedAccessMode><Value>5</Value></Integer>
  <Port Name="Device" NameSpace="Standard"/>
</RegisterDescription>
"""


@pytest.fixture
def nodes() -> Any:
    node_map = NodeMap()
    node_map.load_xml_from_string(XML)
    return node_map


def trigger_state(node_map: Any) -> list[str]:
    return [node_map.get_node(n).value for n in ("TriggerSelector", "TriggerMode", "TriggerSource", "TriggerActivation")]


def config(**fields: Any) -> GenICamConfig:
    return GenICamConfig(cti=["viky"], **fields)


def test_hardware_trigger_arms_frame_start_on_the_line(nodes: Any) -> None:
    apply_trigger(nodes, config(trigger="hardware", trigger_source="Line2", trigger_activation="RisingEdge"), device="cam")
    assert trigger_state(nodes) == ["FrameStart", "On", "Line2", "RisingEdge"]


def test_software_trigger_then_free_run(nodes: Any) -> None:
    apply_trigger(nodes, config(trigger="software"), device="cam")
    assert trigger_state(nodes) == ["FrameStart", "On", "Software", "FallingEdge"]
    apply_trigger(nodes, config(trigger="free_run"), device="cam")
    assert trigger_state(nodes)[:2] == ["FrameStart", "Off"]


def test_a_trigger_input_the_camera_lacks_is_refused_with_the_choices(nodes: Any) -> None:
    with pytest.raises(CameraConfigError, match="refused TriggerSource='Line9': allowed values are Line1, Line2, Software"):
        apply_trigger(nodes, config(trigger="hardware", trigger_source="Line9"), device="cam")


def test_values_from_text_are_converted_to_the_node_type(nodes: Any) -> None:
    apply_nodes(nodes, {"Width": "0x100", "ExposureTime": "250.5", "ReverseX": "true", "DeviceUserID": "left"}, device="cam")
    assert [nodes.get_node(n).value for n in ("Width", "ExposureTime", "ReverseX", "DeviceUserID")] == [256, 250.5, True, "left"]


def test_a_command_node_set_to_true_is_executed(nodes: Any) -> None:
    set_node(nodes, "TriggerSoftware", True, device="cam")
    assert nodes.get_node("SoftwareTriggers").value == 1
    with pytest.raises(CameraConfigError, match="TriggerSoftware is a command"):
        set_node(nodes, "TriggerSoftware", 5, device="cam")


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("Width", 1000, r"refused Width=1000: .*Inc = 16.*\(allowed 16\.\.1920 step 16\)"),
        ("Width", 2000, r"refused Width=2000: .*Max = 1920"),
        ("Width", 1.5, "Width is an Integer node; cannot use 1.5"),
        ("ExposureTime", 5.0, r"refused ExposureTime=5\.0: .*\(allowed 10\.0\.\.100000\.0 us\)"),
        ("ReverseX", "maybe", "ReverseX is a Boolean node; cannot use 'maybe'"),
        ("PayloadSize", 3, "'PayloadSize' is not writable"),
        ("Gain", 1.0, "cam has no GenICam node 'Gain'"),
    ],
)
def test_refusals_name_the_node_and_what_it_accepts(nodes: Any, name: str, value: Any, message: str) -> None:
    with pytest.raises(CameraConfigError, match=message):
        set_node(nodes, name, value, device="cam")


def test_describe_lists_features_with_values_and_ranges(nodes: Any) -> None:
    described = {info.name: info for info in describe_nodes(nodes)}
    assert list(described) == list(FEATURES)  # helper nodes (SoftwareTriggers) are not features
    assert described["Width"].allowed == "16..1920 step 16"
    assert described["ExposureTime"].allowed == "10.0..100000.0 us"
    assert described["ReverseX"].value == "false"
    assert described["PayloadSize"].access == "RO"
    assert read_node(nodes, "Nope") is None
