"""What the PLC servers may know and do about models: list versions, switch the active one.
The same registry calls the REST model routes make, passed in as callables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelControl:
    versions: Callable[[], list[str]]  # every uploaded version, oldest first
    activate: Callable[[str, str], str]  # (version, actor) -> the active version; audited; raises RegistryError

    def index(self, version: str | None) -> int:
        """1-based position of `version` in upload order; 0 for none or unknown."""
        if version is None:
            return 0
        versions = self.versions()
        return versions.index(version) + 1 if version in versions else 0
