"""Settings from a TOML file, the environment and explicit overrides, in that order of strength."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaikan.service.settings import load_settings


def test_file_then_environment_then_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "gaikan.toml"
    config.write_text(
        'port = 9000\ndeadline_ms = 250\n[camera]\nkind = "replay"\npath = "/parts"\nfps = 12.5\n'
        '[[api_keys]]\nname = "line-plc"\nkey = "plc-key-0123456789abc"\nrole = "plc"\n'
    )
    monkeypatch.setenv("GAIKAN_DEADLINE_MS", "300")
    settings = load_settings(config, port=9100)
    assert settings.port == 9100
    assert settings.deadline_ms == 300
    assert settings.camera.fps == 12.5 and settings.camera.path == Path("/parts")
    assert settings.api_keys[0].role == "plc"
    assert "plc-key" not in repr(settings), "keys are secrets"


def test_config_file_from_environment_and_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "g.toml"
    config.write_text("deadline_ms = -5\n")
    monkeypatch.setenv("GAIKAN_CONFIG", str(config))
    with pytest.raises(ValueError, match="deadline_ms"):
        load_settings()
    config.write_text("unknown_setting = 1\n")
    with pytest.raises(ValueError, match="unknown_setting"):
        load_settings()
    with pytest.raises(FileNotFoundError, match="nowhere.toml"):
        load_settings(tmp_path / "nowhere.toml")


def test_plc_servers_from_the_toml_file_and_the_demo_ports(tmp_path: Path) -> None:
    from gaikan.service.demo import demo_plc

    config = tmp_path / "gaikan.toml"
    config.write_text(
        '[[api_keys]]\nname = "line-plc"\nkey = "plc-key-0123456789"\nrole = "plc"\n'
        '[plc]\nsilence_s = 5\nwatch = ["line-plc"]\n'
        '[plc.opcua]\nenabled = true\nhost = "0.0.0.0"\nclient = "line-plc"\n'
        '[plc.modbus]\nenabled = true\nport = 502\n'
    )
    settings = load_settings(config)
    assert settings.plc.opcua.is_secure and settings.plc.opcua.port == 4840 and settings.plc.opcua.client == "line-plc"
    assert settings.plc.modbus.port == 502 and settings.plc.watch == ["line-plc"]
    assert not load_settings(None).plc.opcua.enabled, "off unless configured"
    assert load_settings(config, plc=demo_plc(0, 5021)).plc.modbus.port == 5021, "the demo's ports override the file"
    assert not load_settings(config, plc=demo_plc(0, 5021)).plc.opcua.enabled

    config.write_text('[plc.opcua]\nenabled = true\nsecure = true\n')
    with pytest.raises(ValueError, match="secure OPC UA server needs api_keys"):
        load_settings(config)
