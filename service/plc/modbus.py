"""Modbus TCP server over the reject stream (pymodbus): a holding-register map with a result
handshake. The map and a worked handshake are in the README (section PLC integration).

Every read is answered from the reject stream at that moment (no copy that could go stale); the
PLC acknowledges by writing the seq it handled to registers 20-21 in one request (function 16).
"""

from __future__ import annotations

import logging

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from gaikan.service.decision import Outcome, Reason
from gaikan.service.plc.models import ModelControl
from gaikan.service.reject_stream import PLC_BACKLOG, AckBeyondNewest, Buffer, RejectStream
from gaikan.service.settings import ModbusSettings

log = logging.getLogger(__name__)

# Holding-register addresses (0-based, as on the wire). 32-bit values: high word first.
RESULT_COUNTER = 0  # 0-1: newest seq
OLDEST_SEQ = 2  # 2-3: seq of the oldest unacknowledged result, 0 when none waits
VERDICT = 4
REASON = 5
WAITING = 6  # unacknowledged results (saturates at 65535)
HEARTBEAT = 7  # seconds since start, wraps at 65536
FAIL_SAFE = 8  # bit field, see FAIL_SAFE_BITS
MODEL_INDEX = 9  # 1-based index of the active model in upload order, 0 = none
ACKED_SEQ = 10  # 10-11: this client's acknowledged seq
STATUS_REGISTERS = 12
VIEW_VERDICTS = 12  # 12-19: the oldest result's verdict per view of its station, in the station's order; 0 = no such view
VIEW_REGISTERS = 8
ACK = 20  # 20-21: write the seq handled (function 16, both words); reads back the acked seq
ACK_REGISTERS = 2

VERDICT_CODES = {Outcome.PASS: 1, Outcome.REVIEW: 2, Outcome.REJECT: 3}  # 0: no result waiting
REASON_CODES = {Reason.SCORE: 1, Reason.TIMEOUT: 2, Reason.NO_MODEL: 3, Reason.CAMERA_FAULT: 4, Reason.ERROR: 5, Reason.VIEW_MISSING: 6}
OTHER_REASON = 255
FAIL_SAFE_BITS = {"no_model": 0, "no_camera": 1, "camera_fault": 2, "pipeline_stopped": 3, PLC_BACKLOG: 4}
OTHER_FAIL_SAFE_BIT = 15  # any reason not listed above


def words(value: int) -> list[int]:
    value &= 0xFFFFFFFF
    return [value >> 16, value & 0xFFFF]


def fail_safe_bits(reasons: tuple[str, ...]) -> int:
    bits = 0
    for reason in reasons:
        bits |= 1 << FAIL_SAFE_BITS.get(reason, OTHER_FAIL_SAFE_BIT)
    return bits


def view_registers(buffer: Buffer) -> list[int]:
    """Registers 12-19: the verdict code of each view of the oldest result (a station's part
    decision; all 0 for a one-camera decision or when none waits)."""
    views = buffer.items[0].record.views if buffer.items else ()
    codes = [VERDICT_CODES[view.decision] for view in views[:VIEW_REGISTERS]]
    return codes + [0] * (VIEW_REGISTERS - len(codes))


def status_registers(buffer: Buffer, model_index: int) -> list[int]:
    """Registers 0-11 for one client's buffer."""
    beat = buffer.heartbeat
    oldest = buffer.items[0] if buffer.items else None
    return [
        *words(beat.last_seq),
        *words(oldest.seq if oldest else 0),
        VERDICT_CODES[oldest.record.decision] if oldest else 0,
        REASON_CODES.get(oldest.record.reason, OTHER_REASON) if oldest else 0,
        min(beat.pending, 0xFFFF),
        beat.beat & 0xFFFF,
        fail_safe_bits(beat.fail_safe),
        model_index,
        *words(beat.acked_seq),
    ]


class ModbusAdapter:
    """One Modbus TCP server serving one client name's view of the reject stream."""

    def __init__(self, settings: ModbusSettings, stream: RejectStream, models: ModelControl) -> None:
        self._settings = settings
        self._stream = stream
        self._models = models
        self._server: ModbusTcpServer | None = None

    async def start(self) -> None:
        device = SimDevice(
            id=self._settings.unit_id,
            simdata=[
                SimData(0, count=STATUS_REGISTERS, datatype=DataType.REGISTERS, readonly=True),
                SimData(VIEW_VERDICTS, count=VIEW_REGISTERS, datatype=DataType.REGISTERS, readonly=True),
                SimData(ACK, count=ACK_REGISTERS, datatype=DataType.REGISTERS),
            ],
            action=self._access,
        )
        self._server = ModbusTcpServer(device, address=(self._settings.host, self._settings.port))
        await self._server.serve_forever(background=True)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None

    async def _access(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """Called by pymodbus before every read or write of the map."""
        client = self._settings.client
        if set_values:
            if address != ACK or count != ACK_REGISTERS:
                return ExcCodes.ILLEGAL_ADDRESS  # the ack is one 32-bit write of both registers
            seq = (int(set_values[0]) << 16) | int(set_values[1])
            try:
                self._stream.acknowledge(client, seq)
            except AckBeyondNewest as error:
                log.warning("Modbus ack refused for %s: %s", client, error)
                return ExcCodes.ILLEGAL_VALUE
            return None
        buffer = self._stream.buffer(client, 1)
        values = status_registers(buffer, self._models.index(buffer.heartbeat.active_model))
        registers[0 - start_address : STATUS_REGISTERS - start_address] = values
        registers[VIEW_VERDICTS - start_address : VIEW_VERDICTS + VIEW_REGISTERS - start_address] = view_registers(buffer)
        registers[ACK - start_address : ACK + ACK_REGISTERS - start_address] = values[ACKED_SEQ : ACKED_SEQ + 2]
        return None

