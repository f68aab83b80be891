"""Service settings from (highest first) explicit overrides, environment (`GAIKAN_…`), a TOML
file (`--config` or `GAIKAN_CONFIG`), then defaults."""

from __future__ import annotations

import enum
import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, TomlConfigSettingsSource

from gaikan.camera.config import CameraConfig
from gaikan.service.pipeline import Overflow


class Role(enum.StrEnum):
    OPERATOR = "operator"  # reads everything
    PLC = "plc"  # reads the reject stream, acknowledges, heartbeat
    ENGINEER = "engineer"  # everything, including thresholds and models


class ApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, description="Who holds the key; recorded in the audit trail")
    key: SecretStr = Field(min_length=16)
    role: Role


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAIKAN_", env_nested_delimiter="__", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    data_dir: Path = Path("gaikan-data")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")

    camera: CameraConfig | None = None
    initial_model: Path | None = Field(
        default=None, description="Model package imported and activated at start when no model is active yet"
    )

    deadline_ms: float = Field(default=1000.0, gt=0, description="A part not decided this long after capture is rejected")
    inference_stall_ms: float | None = Field(
        default=None, gt=0, description="One model call running longer than this is hung (fail-safe); default twice the deadline, at least 1 s"
    )
    queue_size: int = Field(default=8, ge=1)
    max_batch: int = Field(default=4, ge=1)
    overflow: Overflow = Overflow.DROP_OLDEST

    providers: list[str] | None = Field(default=None, description="ONNX Runtime providers; default TensorRT > CUDA > CPU")
    intra_op_threads: int = Field(default=0, ge=0, description="0 = ONNX Runtime's default (all cores)")
    inter_op_threads: int = Field(default=1, ge=1)
    ort_spinning: bool = Field(
        default=False, description="Let idle ONNX Runtime threads spin (lower latency alone on a machine, worse beside the pipeline)"
    )

    image_budget_mb: float = Field(default=500.0, gt=0, description="Disk budget for saved part images")
    keep_pass_fraction: float = Field(default=0.02, ge=0, le=1, description="Share of passed parts whose images are kept")
    max_upload_mb: float = Field(default=200.0, gt=0)

    api_keys: list[ApiKey] = Field(default_factory=list)
    api_niceness: int = Field(
        default=5, ge=0, le=19, description="How much nicer than the line process the API's request threads run (Linux)"
    )

    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @model_validator(mode="after")
    def _keys_off_loopback(self) -> Settings:
        if not self.api_keys and not is_loopback(self.host):
            raise ValueError(
                f"refusing to serve on {self.host} without API keys: configure api_keys or bind to 127.0.0.1"
            )
        return self

    @property
    def database(self) -> str:
        from gaikan.service.storage.database import sqlite_url

        return self.database_url or sqlite_url(self.data_dir / "gaikan.db")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Settings with `overrides` on top of the environment, the TOML file and the defaults."""
    path = config_file or (Path(os.environ["GAIKAN_CONFIG"]) if os.environ.get("GAIKAN_CONFIG") else None)
    overrides = {key: value for key, value in overrides.items() if value is not None}
    if path is None:
        return Settings(**overrides)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")

    class FileSettings(Settings):
        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):  # noqa: ANN001, ANN206
            return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=path))

    return FileSettings(**overrides)
