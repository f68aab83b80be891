"""Model versions: upload (validated before acceptance), activate (hot swap), rollback,
live thresholds, shadow candidate.

The model that scores frames is one immutable `ActiveModel` object, replaced by reference:
a frame is scored entirely by one model and one set of thresholds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from gaikan.models.package import (
    Manifest,
    ModelPackage,
    PackageError,
    PackageTooLarge,
    ZipLimits,
    read_package,
    read_package_bytes,
    write_package,
)
from gaikan.models.runtime import OnnxModel
from gaikan.models.thresholds import Thresholds
from gaikan.service.errors import ImplausibleThresholds, InvalidPackage, NoActiveModel, PackageTooBig, UnknownVersion, VersionConflict
from gaikan.service.storage.audit import AuditLog
from gaikan.service.storage.model_versions import ModelVersionRow, ModelVersionStore
from gaikan.service.storage.thresholds import ThresholdStore
from gaikan.service.threshold_sanity import implausible

__all__ = [
    "ActiveModel",
    "InvalidPackage",
    "ModelRegistry",
    "NoActiveModel",
    "RuntimeOptions",
    "ShadowCandidate",
    "UnknownVersion",
    "VersionConflict",
]


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    providers: Sequence[str] | None = None
    intra_op_threads: int = 0
    inter_op_threads: int = 1
    allow_spinning: bool = False


@dataclass(frozen=True, slots=True)
class ActiveModel:
    """A loaded model with the thresholds in force for it."""

    model: OnnxModel
    thresholds: Thresholds
    thresholds_source: Literal["manifest", "override"]

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def calibrated(self) -> bool:
        """Whether the package's thresholds were calibrated with defective images (manifest flag)."""
        return self.model.manifest.calibrated


@dataclass(frozen=True, slots=True)
class ShadowCandidate:
    """A stored version to score beside the active model: where its package is and the thresholds
    in force for it. No session: the shadow process loads the package (`service/shadow.py`)."""

    version: str
    path: str
    thresholds: Thresholds
    thresholds_source: Literal["manifest", "override"]


class ModelRegistry:
    def __init__(
        self,
        *,
        versions: ModelVersionStore,
        thresholds: ThresholdStore,
        audit: AuditLog,
        models_dir: Path,
        runtime: RuntimeOptions = RuntimeOptions(),
        on_swap: Callable[[ActiveModel | None], None] | None = None,
        limits: ZipLimits = ZipLimits(),
    ) -> None:
        self._versions = versions
        self._thresholds = thresholds
        self._audit = audit
        self._models_dir = Path(models_dir)
        self._runtime = runtime
        self._lock = threading.Lock()  # serialises changes; reading `active` needs no lock
        self._active: ActiveModel | None = None
        self._shadow: ShadowCandidate | None = None
        self._on_swap = on_swap
        self._limits = limits

    @property
    def active(self) -> ActiveModel | None:
        return self._active

    @property
    def shadow(self) -> ShadowCandidate | None:
        return self._shadow

    def versions(self) -> list[ModelVersionRow]:
        return self._versions.all()

    def activation_history(self) -> list[str]:
        return self._versions.activation_stack()

    def _swap(self, active: ActiveModel | None) -> ActiveModel | None:
        self._active = active
        if self._on_swap is not None:
            self._on_swap(active)
        return active

    def _load(self, package: ModelPackage) -> OnnxModel:
        try:
            return OnnxModel(
                package,
                providers=self._runtime.providers,
                intra_op_threads=self._runtime.intra_op_threads,
                inter_op_threads=self._runtime.inter_op_threads,
                allow_spinning=self._runtime.allow_spinning,
            )
        except PackageError as error:
            raise InvalidPackage(str(error)) from error

    def upload(self, data: bytes | Path, *, actor: str, source: str = "upload") -> ModelVersionRow:
        """Validate a package (its bytes, or a file) completely (zip limits, manifest, sha256, ONNX
        Runtime load, signature, finite warm-up) and only then store it. Nothing changes when any
        check fails."""
        try:
            if isinstance(data, Path):
                package = read_package(data, source=source, limits=self._limits)
            else:
                package = read_package_bytes(data, source=source, limits=self._limits)
        except PackageTooLarge as error:
            raise PackageTooBig(str(error)) from error
        except PackageError as error:
            raise InvalidPackage(str(error)) from error
        with self._lock:
            existing = self._versions.get(package.version)
            if existing is not None:
                raise VersionConflict(
                    f"model version {package.version} already exists (sha256 {existing.graph_sha256}); "
                    "give the package a new version"
                )
            self._load(package)
            path = write_package(package, self._models_dir / f"{package.version}.zip")
            self._versions.add(package.manifest, str(path), actor=actor)
            row = self._versions.get(package.version)
        assert row is not None
        return row

    def _stored(self, version: str) -> tuple[ModelVersionRow, ModelPackage]:
        """An uploaded version's row and its package, read back and checked (zip, manifest, sha256)."""
        row = self._versions.get(version)
        if row is None:
            raise UnknownVersion(f"no model version {version!r}")
        try:
            return row, read_package(Path(row.path))
        except PackageError as error:
            raise InvalidPackage(f"stored package for {version} is damaged: {error}") from error

    def _load_version(self, version: str) -> OnnxModel:
        return self._load(self._stored(version)[1])

    def _thresholds_of(self, version: str, manifest: Manifest) -> tuple[Thresholds, Literal["manifest", "override"]]:
        override = self._thresholds.get(version)
        return (override, "override") if override is not None else (manifest.thresholds, "manifest")

    def _with_thresholds(self, model: OnnxModel) -> ActiveModel:
        return ActiveModel(model, *self._thresholds_of(model.version, model.manifest))

    def load(self, version: str) -> ActiveModel:
        """An uploaded version loaded on its own (with its thresholds), for a camera pinned to it;
        the active model does not change."""
        return self._with_thresholds(self._load_version(version))

    def activate(self, version: str, *, actor: str) -> ActiveModel:
        """Load `version` fully, then swap it in between frames."""
        with self._lock:
            active = self._with_thresholds(self._load_version(version))
            previous = self._active.version if self._active else None
            self._versions.record_activation(version, actor=actor, previous=previous)
            self._swap(active)
            return active

    def rollback(self, *, actor: str) -> ActiveModel:
        """Return to the version that was active before the current one."""
        with self._lock:
            stack = self._versions.activation_stack()
            if len(stack) < 2:
                raise NoActiveModel("no earlier model version to roll back to")
            target = stack[-2]
            active = self._with_thresholds(self._load_version(target))
            self._versions.record_activation(target, actor=actor, previous=stack[-1], kind="rollback")
            self._swap(active)
            return active

    def restore(self) -> ActiveModel | None:
        """At start-up: load the version that was active when the service last ran."""
        with self._lock:
            stack = self._versions.activation_stack()
            if stack:
                self._swap(self._with_thresholds(self._load_version(stack[-1])))
            return self._active

    def set_thresholds(self, thresholds: Thresholds, *, actor: str, force: bool = False) -> ActiveModel:
        """Thresholds for the active model, effective from the next frame; audited. Thresholds
        outside the model's plausible score range are refused unless `force` (audited as forced)."""
        with self._lock:
            if self._active is None:
                raise NoActiveModel("no active model: thresholds belong to a model version")
            reason = implausible(thresholds, self._active.model.manifest)
            if reason is not None and not force:
                raise ImplausibleThresholds(reason)
            self._thresholds.set(
                self._active.version, thresholds, actor=actor, old=self._active.thresholds, forced=reason is not None
            )
            active = replace(self._active, thresholds=thresholds, thresholds_source="override")
            self._swap(active)
            return active

    def set_shadow(
        self, version: str | None, *, actor: str, load: Callable[[ShadowCandidate | None], None]
    ) -> ShadowCandidate | None:
        """Score live frames with `version` beside the active model without affecting decisions
        (None: stop). Its stored package is checked here (an unknown version or a damaged package
        is refused and nothing changes), then handed to `load`, which loads it where it scores
        (the shadow process): this process holds no session of it."""
        with self._lock:
            candidate = self._shadow_candidate(version) if version else None
            load(candidate)
            previous = self._shadow.version if self._shadow else None
            self._shadow = candidate
            self._audit.record(actor=actor, action="model.shadow", target=version, old=previous, new=version)
            return candidate

    def _shadow_candidate(self, version: str) -> ShadowCandidate:
        row, package = self._stored(version)
        return ShadowCandidate(version, row.path, *self._thresholds_of(version, package.manifest))
