"""How far each PLC client has acknowledged the decision stream."""

from __future__ import annotations

import time

from sqlalchemy import Engine, select, update
from sqlalchemy import insert as sql_insert

from gaikan.service.storage.schema import plc_acks


class AckStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def acknowledge(self, client: str, seq: int) -> int:
        """Record that `client` has handled every decision up to `seq`. Acks never move backwards:
        returns the client's acknowledged seq afterwards."""
        with self._engine.begin() as connection:
            current = connection.execute(select(plc_acks.c.seq).where(plc_acks.c.client == client)).scalar()
            if current is None:
                connection.execute(sql_insert(plc_acks).values(client=client, seq=seq, at=time.time()))
                return seq
            if seq > current:
                connection.execute(update(plc_acks).where(plc_acks.c.client == client).values(seq=seq, at=time.time()))
                return seq
            return int(current)

    def acknowledged(self, client: str) -> int:
        with self._engine.connect() as connection:
            return int(connection.execute(select(plc_acks.c.seq).where(plc_acks.c.client == client)).scalar() or 0)

    def all(self) -> dict[str, tuple[int, float]]:
        with self._engine.connect() as connection:
            return {r.client: (r.seq, r.at) for r in connection.execute(select(plc_acks))}
