"""Service settings from (highest first) explicit overrides, environment (`GAIKAN_…`), a TOML
file (`--config` or `GAIKAN_CONFIG`), then defaults."""

from __future__ import annotations

import enum
import ipaddress
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, TomlConfigSettingsSource

from gaikan.camera.config import CameraConfig
from gaikan.models.package import ZipLimits
from gaikan.service.pipeline import Overflow
from gaikan.service.storage.migrate import MigrateMode
from gaikan.service.rechecks import DEFECT_TYPE_PATTERN
from gaikan.service.stations import CameraEntry, StationConfig, check_line


class Role(enum.StrEnum):
    OPERATOR = "operator"  # reads everything
    PLC = "plc"  # reads the reject stream, acknowledges, heartbeat
    ENGINEER = "engineer"  # everything, including thresholds and models


class ApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, description="Who holds the key; recorded in the audit trail")
    key: SecretStr = Field(min_length=16)
    role: Role


class PlcServerSettings(BaseModel):
    """What every PLC protocol server has: where it listens and whose reject stream it serves."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)
    client: str = Field(default="local", min_length=1, description="The client name whose acked seq this server shows and moves")


class OpcUaSettings(PlcServerSettings):
    """`[plc.opcua]`: the OPC UA server (Machine Vision companion spec, OPC 40100, as far as it fits)."""

    port: int = Field(default=4840, ge=0, le=65535)
    secure: bool | None = Field(
        default=None,
        description="Basic256Sha256 SignAndEncrypt with user/password only; default: on unless bound to loopback "
        "(anonymous is only ever offered on loopback)",
    )
    pki_dir: Path | None = Field(default=None, description="Application certificate and key; default <data_dir>/opcua")
    buffer_view: int = Field(default=32, ge=1, le=1000, description="Unacknowledged results shown in the Buffer arrays")
    poll_ms: float = Field(default=20.0, gt=0, description="How often the server looks for new decisions")

    @property
    def is_secure(self) -> bool:
        return self.secure if self.secure is not None else not is_loopback(self.host)


class ModbusSettings(PlcServerSettings):
    """`[plc.modbus]`: the Modbus TCP server (holding-register map in the README)."""

    port: int = Field(default=5020, ge=0, le=65535)
    unit_id: int = Field(default=1, ge=0, le=247, description="Modbus unit (device) id; 0 answers every unit id")
    trusted_network: bool = Field(
        default=False, description="Modbus TCP has no authentication: set to serve on a non-loopback address (an isolated cell network)"
    )

    @model_validator(mode="after")
    def _unauthenticated_off_loopback(self) -> ModbusSettings:
        if self.enabled and not is_loopback(self.host) and not self.trusted_network:
            raise ValueError(
                f"refusing Modbus TCP on {self.host}: Modbus has no authentication; bind to 127.0.0.1 "
                "or set plc.modbus.trusted_network = true for an isolated cell network"
            )
        return self


class PlcSettings(BaseModel):
    """`[plc]`: protocol servers over the reject stream, and PLC liveness."""

    model_config = ConfigDict(extra="forbid")
    opcua: OpcUaSettings = Field(default_factory=OpcUaSettings)
    modbus: ModbusSettings = Field(default_factory=ModbusSettings)
    silence_s: float = Field(default=10.0, gt=0, description="A PLC client silent this long is reported in status, heartbeat, metrics")
    watch: list[str] = Field(default_factory=list, description="PLC client names reported silent even before they first poll")
    buffer_limit: int = Field(
        default=10_000, ge=1, description="More unacknowledged decisions than this for a client: its heartbeat says fail-safe plc_backlog"
    )


class MqttSettings(BaseModel):
    """`[mqtt]`: decisions and line state published to an MQTT broker (topics in the README)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    tls: bool = Field(default=False, description="TLS to the broker (port 8883 by convention)")
    ca_file: Path | None = Field(default=None, description="CA certificate(s) the broker's certificate is checked against; default the system's")
    username: str | None = None
    password: SecretStr | None = None
    topic_root: str = Field(default="gaikan", pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", description="First topic level(s)")
    station: str = Field(
        default="station-1", pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="The station level of decision topics when a decision names none"
    )
    qos: Literal[1, 2] = Field(default=1, description="Delivery of decisions and state: 1 at least once (the seq tells repeats apart)")
    client_id: str | None = Field(default=None, description="MQTT client id; default gaikan-<line_id>")
    keepalive_s: int = Field(default=10, ge=2, le=3600, description="The broker publishes the last will this long (x1.5) after the service vanishes")
    cursor: str = Field(
        default="mqtt", min_length=1, max_length=100, description="The reject-stream client name under which the published seq is stored"
    )
    window: int = Field(default=100, ge=1, le=10_000, description="Decisions published and not yet confirmed by the broker, at most")
    history: bool = Field(default=False, description="On first start, publish the decisions stored before MQTT was enabled")
    required: bool = Field(
        default=False, description="Broker unreachable for down_after_s: fail-safe `mqtt_down` (every part rejected); default: reported only"
    )
    down_after_s: float = Field(default=10.0, gt=0, description="How long the broker may be unreachable before it counts as down")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAIKAN_", env_nested_delimiter="__", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    line_id: str = Field(default="line-1", pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="This line's id: stored with every decision, a label on every metric, the MQTT topic root")
    data_dir: Path = Path("gaikan-data")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")
    migrate: MigrateMode = Field(
        default="auto",
        description="A database with an older schema: upgrade it at start (auto) or refuse to start (refuse; run `gaikan db upgrade`)",
    )

    camera: CameraConfig | None = Field(default=None, description="The line's one camera (or list several under `cameras`)")
    cameras: list[CameraEntry] = Field(
        default_factory=list, description="Several cameras, each with its own model version and thresholds (instead of `camera`)"
    )
    stations: list[StationConfig] = Field(default_factory=list, description="Parts seen by several cameras: views, matching, fusion")
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
    intra_op_threads: int = Field(
        default=1,
        ge=0,
        description="ONNX Runtime intra-op threads of the active model; 0 = all cores (only for a line alone on its machine): "
        "beside the API, evidence process and other work, one thread costs less CPU per part and decides faster (README, Performance)",
    )
    inter_op_threads: int = Field(default=1, ge=1)
    shadow_hang_s: float = Field(
        default=30.0, gt=0, description="A shadow process that answers nothing this long while frames wait is ended and started again"
    )
    ort_spinning: bool = Field(
        default=False, description="Let idle ONNX Runtime threads spin (lower latency alone on a machine, worse beside the pipeline)"
    )

    image_budget_mb: float = Field(default=500.0, gt=0, description="Disk budget for saved part images")
    keep_pass_fraction: float = Field(default=0.02, ge=0, le=1, description="Share of passed parts whose images are kept")
    min_free_disk_mb: float = Field(
        default=1024.0, ge=0, description="Free space the image writer leaves on its disk for the database (MiB)"
    )
    min_free_disk_percent: float = Field(
        default=5.0, ge=0, le=100, description="Free space (percent of the disk) the image writer leaves for the database"
    )
    persist_deadline_ms: float = Field(
        default=2000.0, gt=0, description="A decision not stored this long after it was made is stored as a storage reject"
    )
    max_persist_backlog: int = Field(
        default=10_000, ge=1, description="Decisions that may wait to be stored; more are counted and recorded as one storage reject"
    )
    timeout_alarm_window: int = Field(default=50, ge=1, description="Recent decisions watched for a burst of timeouts")
    timeout_alarm_fraction: float = Field(
        default=0.2, gt=0, le=1, description="fail_safe lists `timeouts` when more than this share of the window timed out"
    )
    max_upload_mb: float = Field(default=200.0, gt=0, description="Largest model package upload (the zip, MiB)")
    max_package_mb: float = Field(
        default=2048.0, gt=0, description="Largest a package may inflate to (model.onnx and manifest together, MiB)"
    )
    max_package_members: int = Field(default=16, ge=2, description="Most files a package zip may hold")
    defect_types: dict[str, list[Annotated[str, StringConstraints(pattern=DEFECT_TYPE_PATTERN)]]] = Field(
        default_factory=dict,
        description="Defect types an operator may pick when re-checking, per model name ('*': every model without its own list)",
    )

    api_keys: list[ApiKey] = Field(default_factory=list)
    plc: PlcSettings = Field(default_factory=PlcSettings)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    api_niceness: int = Field(
        default=10,
        ge=0,
        le=19,
        description="How much nicer than the line process the API's request threads run (Linux): readers are served from what the line leaves idle",
    )

    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @model_validator(mode="after")
    def _keys_off_loopback(self) -> Settings:
        if not self.api_keys and not is_loopback(self.host):
            raise ValueError(
                f"refusing to serve on {self.host} without API keys: configure api_keys or bind to 127.0.0.1"
            )
        if self.plc.opcua.enabled and self.plc.opcua.is_secure and not self.api_keys:
            raise ValueError("a secure OPC UA server needs api_keys: its users are the key names, their passwords the keys")
        return self

    @model_validator(mode="after")
    def _cameras(self) -> Settings:
        if self.camera is not None and self.cameras:
            raise ValueError("set either `camera` (one camera) or `cameras` (several), not both")
        check_line(self.camera_entries, self.stations)
        return self

    @property
    def camera_entries(self) -> list[CameraEntry]:
        """Every camera of the line: `camera` is a line of one camera with the line's model."""
        return [CameraEntry(camera=self.camera)] if self.camera is not None else list(self.cameras)

    @property
    def package_limits(self) -> ZipLimits:
        """What a model package zip may hold (uploads and the initial model alike)."""
        size = int(self.max_package_mb * 1024 * 1024)
        return ZipLimits(max_members=self.max_package_members, max_member_bytes=size, max_total_bytes=size)

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
