"""How far each PLC client has acknowledged the decision stream of one line."""

from __future__ import annotations

import time

from sqlalchemy import Engine, select, update
from sqlalchemy import insert as sql_insert

from gaikan.service.storage.schema import plc_acks


class AckStore:
    def __init__(self, engine: Engine, *, line: str) -> None:
        self._engine = engine
        self._line = line
        self._mine = plc_acks.c.line_id == line

    def acknowledge(self, client: str, seq: int) -> int:
        """Record that `client` has handled every decision up to `seq`. Acks never move backwards:
        returns the client's acknowledged seq afterwards."""
        with self._engine.begin() as connection:
            current = connection.execute(select(plc_acks.c.seq).where(self._mine, plc_acks.c.client == client)).scalar()
            if current is None:
                connection.execute(sql_insert(plc_acks).values(line_id=self._line, client=client, seq=seq, at=time.time()))
                return seq
            if seq > current:
                connection.execute(update(plc_acks).where(self._mine, plc_acks.c.client == client).values(seq=seq, at=time.time()))
                return seq
            return int(current)

    def known(self, client: str) -> bool:
        """Whether `client` has acknowledged anything (even seq 0) on this line."""
        with self._engine.connect() as connection:
            return connection.execute(select(plc_acks.c.seq).where(self._mine, plc_acks.c.client == client)).first() is not None

    def acknowledged(self, client: str) -> int:
        with self._engine.connect() as connection:
            return int(connection.execute(select(plc_acks.c.seq).where(self._mine, plc_acks.c.client == client)).scalar() or 0)

    def all(self) -> dict[str, tuple[int, float]]:
        with self._engine.connect() as connection:
            return {r.client: (r.seq, r.at) for r in connection.execute(select(plc_acks).where(self._mine))}
