"""What the PLC servers may know and do about models: list versions, switch the active one.
The same registry calls the REST model routes make, passed in as callables."""

from __future__ import annotations

import threading
from collections.abc import Callable


class ModelControl:
    def __init__(self, versions: Callable[[], list[str]], activate: Callable[[str, str], str]) -> None:
        """`versions`: every uploaded version, oldest first; `activate(version, actor)`: the active
        version afterwards, audited; raises a DomainError."""
        self._versions = versions
        self.activate = activate
        self._lock = threading.Lock()
        self._known: list[str] = []  # versions are only ever added: re-read when one is not known

    def index(self, version: str | None) -> int:
        """1-based position of `version` in upload order; 0 for none or unknown."""
        if version is None:
            return 0
        with self._lock:
            if version not in self._known:
                self._known = self._versions()
            return self._known.index(version) + 1 if version in self._known else 0
