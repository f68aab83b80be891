"""The PLC protocol servers configured in `[plc]`, started and stopped with the service."""

from __future__ import annotations

import logging
from pathlib import Path

from gaikan.service.auth import Authenticator
from gaikan.service.plc.loop_thread import ServerThread
from gaikan.service.plc.models import ModelControl
from gaikan.service.reject_stream import RejectStream
from gaikan.service.settings import PlcSettings

log = logging.getLogger(__name__)


class PlcServers:
    def __init__(
        self, settings: PlcSettings, stream: RejectStream, models: ModelControl, authenticator: Authenticator, data_dir: Path
    ) -> None:
        self._threads: list[ServerThread] = []
        if settings.opcua.enabled:
            from gaikan.service.plc.opcua import OpcUaAdapter

            pki_dir = settings.opcua.pki_dir or Path(data_dir) / "opcua"
            adapter = OpcUaAdapter(settings.opcua, stream, models, authenticator, pki_dir)
            self._threads.append(ServerThread("plc-opcua", adapter))
        if settings.modbus.enabled:
            from gaikan.service.plc.modbus import ModbusAdapter

            self._threads.append(ServerThread("plc-modbus", ModbusAdapter(settings.modbus, stream, models)))

    def start(self) -> None:
        """Start every configured server; if one cannot listen, stop the others and raise."""
        started: list[ServerThread] = []
        try:
            for thread in self._threads:
                thread.start()
                started.append(thread)
        except BaseException:
            for thread in reversed(started):
                thread.stop()
            raise

    def stop(self) -> None:
        for thread in reversed(self._threads):
            thread.stop()
