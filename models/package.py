"""The model package: one zip file holding `model.onnx` and `manifest.json`.

The manifest says everything serving needs to feed the graph and read its outputs; the
package is validated on every read and the error names the exact mismatch.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gaikan.models.thresholds import Thresholds

SCHEMA_VERSION = 1
MODEL_ENTRY = "model.onnx"
MANIFEST_ENTRY = "manifest.json"
PACKAGE_SUFFIX = ".zip"


class PackageError(ValueError):
    """A model package is unreadable, incomplete or inconsistent; the message says where."""


class Normalisation(BaseModel):
    """How the graph turns uint8 pixels into network input: (x - mean) / std per channel,
    in 0..255 units. Applied inside the graph (`in_graph`), recorded here for people and
    for other runtimes."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    mean: list[float]
    std: list[float]
    in_graph: bool = True


class InputSpec(BaseModel):
    """The graph input: a uint8 image batch, NHWC, of a fixed height and width.

    Frames are brought to this size outside the graph by `gaikan.models.preprocess`
    (the one implementation shared by training, evaluation and serving) using `resize`:
    `stretch` scales the whole frame to (height, width); `center_crop` scales the shorter
    side to fit and crops the centre.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = "image"
    height: int = Field(gt=0, le=4096)
    width: int = Field(gt=0, le=4096)
    colour: Literal["rgb", "gray"]
    dtype: Literal["uint8"] = "uint8"
    layout: Literal["NHWC"] = "NHWC"
    resize: Literal["stretch", "center_crop"] = "stretch"
    normalisation: Normalisation

    @property
    def channels(self) -> int:
        return 3 if self.colour == "rgb" else 1


class OutputSpec(BaseModel):
    """Graph output names: `score` is (N,) float32, `anomaly_map` is (N, H, W) float32
    at the input resolution."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    score: str = "score"
    anomaly_map: str = "anomaly_map"


class ScoreStats(BaseModel):
    """Image-score statistics on good images held back from training."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    count: int = Field(ge=0)
    mean: float
    std: float
    min: float
    p50: float
    p85: float | None = Field(None, description="absent in packages written before the review level moved to it")
    p95: float
    p99: float
    max: float


class DataFingerprint(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    file_count: int = Field(ge=0)
    sha256: str = Field(description="sha256 over the sorted relative paths and contents of the training files")


class TrainingInfo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    data: DataFingerprint | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    seconds: float | None = None


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    version: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
    architecture: str = Field(min_length=1)
    description: str = ""
    created_at: datetime
    input: InputSpec
    outputs: OutputSpec = OutputSpec()
    thresholds: Thresholds
    calibrated: bool = Field(
        default=False,
        description="True when the thresholds were set with defective images (`gaikan calibrate`); "
        "False for the safe defaults from good images only. Manifests without the field read as False.",
    )
    score_stats: ScoreStats | None = None
    training: TrainingInfo = TrainingInfo()
    graph_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ModelPackage:
    """A validated package held in memory."""

    manifest: Manifest
    onnx_bytes: bytes

    @property
    def version(self) -> str:
        return self.manifest.version


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_manifest(onnx_bytes: bytes, **fields: Any) -> Manifest:
    """A manifest for `onnx_bytes`, with `graph_sha256` and `created_at` filled in."""
    fields.setdefault("created_at", datetime.now(UTC))
    return Manifest(graph_sha256=sha256_hex(onnx_bytes), **fields)


def package_bytes(package: ModelPackage) -> bytes:
    """Serialise a package to the bytes of its zip file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST_ENTRY, package.manifest.model_dump_json(indent=2))
        archive.writestr(MODEL_ENTRY, package.onnx_bytes)
    return buffer.getvalue()


def write_package(package: ModelPackage, path: Path) -> Path:
    """Write a package file atomically (temporary file, then rename). Returns the path."""
    verify(package)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_bytes(package_bytes(package))
    temporary.replace(path)
    return path


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """What a package zip may hold: a few members, each and all together at most so many bytes
    once decompressed (a small zip can inflate to gigabytes). Members are read in chunks and the
    reading stops at the limit, whatever the zip's headers claim."""

    max_members: int = 16
    max_member_bytes: int = 2 * 1024**3
    max_total_bytes: int = 2 * 1024**3
    max_manifest_bytes: int = 1024**2


class PackageTooLarge(PackageError):
    """A package exceeds `ZipLimits` (HTTP 413)."""


_CHUNK = 1024 * 1024


def _read_member(archive: zipfile.ZipFile, name: str, limit: int, source: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise PackageTooLarge(f"{source}: {name} inflates to {info.file_size} bytes; the limit is {limit}")
    chunks, size = [], 0
    with archive.open(info) as member:
        while chunk := member.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise PackageTooLarge(f"{source}: {name} inflates past the {limit}-byte limit")
            chunks.append(chunk)
    return b"".join(chunks)


def _read_archive(archive: zipfile.ZipFile, source: str, limits: ZipLimits) -> ModelPackage:
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise PackageTooLarge(f"{source}: {len(members)} zip members; a package has at most {limits.max_members}")
    names = {member.filename for member in members}
    for required in (MANIFEST_ENTRY, MODEL_ENTRY):
        if required not in names:
            raise PackageError(f"{source}: missing {required} (has: {', '.join(sorted(names)[:20]) or 'nothing'})")
    try:
        manifest_text = _read_member(archive, MANIFEST_ENTRY, limits.max_manifest_bytes, source)
        model_limit = min(limits.max_member_bytes, limits.max_total_bytes - len(manifest_text))
        onnx_bytes = _read_member(archive, MODEL_ENTRY, model_limit, source)
    except PackageTooLarge:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as error:
        raise PackageError(f"{source}: damaged zip entry ({error})") from error
    try:
        manifest = Manifest.model_validate(json.loads(manifest_text))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PackageError(f"{source}: {MANIFEST_ENTRY} is not valid JSON ({error})") from error
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or 'manifest'}: {item['msg']}" for item in error.errors()
        )
        raise PackageError(f"{source}: invalid {MANIFEST_ENTRY}: {problems}") from error
    package = ModelPackage(manifest=manifest, onnx_bytes=onnx_bytes)
    verify(package, source=source)
    return package


def _open_zip(file: Path | io.BytesIO, source: str, limits: ZipLimits) -> ModelPackage:
    try:
        archive = zipfile.ZipFile(file)
    except zipfile.BadZipFile as error:
        raise PackageError(f"{source}: not a zip file ({error})") from error
    except OSError as error:
        raise PackageError(f"{source}: cannot read ({error.strerror or error})") from error
    with archive:
        return _read_archive(archive, source, limits)


def read_package_bytes(data: bytes, *, source: str = "package", limits: ZipLimits = ZipLimits()) -> ModelPackage:
    """Parse and validate package bytes; raises `PackageError` naming what is wrong."""
    return _open_zip(io.BytesIO(data), source, limits)


def read_package(path: Path, *, source: str | None = None, limits: ZipLimits = ZipLimits()) -> ModelPackage:
    """Parse and validate a package file without reading more of it than the limits allow."""
    return _open_zip(Path(path), source or str(path), limits)


def verify(package: ModelPackage, *, source: str = "package") -> None:
    """Check the graph bytes against the manifest's sha256."""
    actual = sha256_hex(package.onnx_bytes)
    if actual != package.manifest.graph_sha256:
        raise PackageError(
            f"{source}: {MODEL_ENTRY} sha256 {actual} does not match manifest graph_sha256 "
            f"{package.manifest.graph_sha256}"
        )


def with_changes(package: ModelPackage, **manifest_updates: Any) -> ModelPackage:
    """A new package with manifest fields replaced (e.g. a new version and thresholds)."""
    data = package.manifest.model_dump()
    data.update(manifest_updates)
    return ModelPackage(manifest=Manifest.model_validate(data), onnx_bytes=package.onnx_bytes)
