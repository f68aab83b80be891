"""The example settings file in deploy/ stays valid."""

from __future__ import annotations

from pathlib import Path

from gaikan.service.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_example_settings_load() -> None:
    settings = load_settings(ROOT / "deploy" / "gaikan.example.toml")
    assert {key.role for key in settings.api_keys} == {"plc", "operator", "engineer"}
    assert settings.camera is not None
