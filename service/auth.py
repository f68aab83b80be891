"""API keys with roles. Without configured keys (allowed only on loopback) every caller is a
local engineer."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from gaikan.service.settings import ApiKey, Role


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: Role


LOCAL = Principal(name="local", role=Role.ENGINEER)


class Authenticator:
    def __init__(self, keys: list[ApiKey]) -> None:
        self._keys = list(keys)

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def identify(self, presented: str | None) -> Principal | None:
        """The holder of `presented`, or None if it matches no key (constant-time comparison)."""
        if not self.enabled:
            return LOCAL
        if not presented:
            return None
        found = None
        for key in self._keys:
            if hmac.compare_digest(key.key.get_secret_value().encode(), presented.encode()):
                found = Principal(name=key.name, role=key.role)
        return found
