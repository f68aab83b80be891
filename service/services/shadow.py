"""Shadow scoring: started and stopped in the line process, its agreement read from the snapshot."""

from __future__ import annotations

from dataclasses import asdict

from gaikan.service.api.schemas import ShadowOut, utc
from gaikan.service.errors import NotFound
from gaikan.service.line_protocol import SetShadow
from gaikan.service.services.context import ApiContext


class ShadowService:
    def __init__(self, context: ApiContext) -> None:
        self._line = context.line

    def start(self, version: str, *, actor: str) -> ShadowOut:
        self._line.execute(SetShadow(version, actor))
        return self.report(version)

    def stop(self, *, actor: str) -> None:
        self._line.execute(SetShadow(None, actor))

    def report(self, version: str) -> ShadowOut:
        snapshot = self._line.snapshot
        report = snapshot.shadow_reports.get(version) if snapshot else None
        if snapshot is None or report is None:
            raise NotFound(f"version {version!r} has not been run in shadow mode since the line started")
        return ShadowOut(**{**asdict(report), "since": utc(report.since), "shadowing": snapshot.shadow == version})
