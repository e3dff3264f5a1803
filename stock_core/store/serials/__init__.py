"""Serial numbers: where each serial of a serial-tracked product is.

The ledger writer keeps the ``serials`` table in step with every row that carries a
serial, in the same transaction (:mod:`stock_core.store.ledger.writer`); the rules are
:mod:`stock_core.domain.serial`'s.
"""

from __future__ import annotations

import asyncpg

from stock_core.domain.serial import SerialState
from stock_core.domain.serial import SerialStatus
from stock_core.store.connection import Connection
from stock_core.store.records import from_record
from stock_core.store.serials import sql as q

__all__ = [
    "find_serial",
    "last_transfer",
    "lock_serial",
    "lock_serials_at",
    "serial_before",
    "set_serial",
]


def _state(row: asyncpg.Record) -> SerialState:
    return from_record(SerialState, row, status=SerialStatus(row["status"]))


async def lock_serial(conn: Connection, product_id: int, serial: str) -> SerialState | None:
    row = await conn.fetchrow(q.LOCK_SERIAL, product_id, serial)
    return None if row is None else _state(row)


async def find_serial(
    conn: Connection, product_id: int, serial: str
) -> tuple[SerialState, str | None] | None:
    """The serial and its location's type (``None`` when not in stock)."""
    row = await conn.fetchrow(q.FIND_SERIAL, product_id, serial)
    return None if row is None else (_state(row), row["location_type"])


async def last_transfer(conn: Connection, product_id: int, serial: str) -> int | None:
    """The transfer (id) the serial's latest ledger row names, if any."""
    value: int | None = await conn.fetchval(q.LAST_TRANSFER_OF_SERIAL, product_id, serial)
    return value


async def lock_serials_at(conn: Connection, product_id: int, location_id: int) -> list[SerialState]:
    return [_state(r) for r in await conn.fetch(q.LOCK_SERIALS_AT, product_id, location_id)]


async def set_serial(
    conn: Connection,
    product_id: int,
    serial: str,
    status: SerialStatus | None,
    location_id: int | None,
    lot: str,
) -> None:
    """Record where ``serial`` is now; ``status`` ``None`` forgets it (it never was)."""
    if status is None:
        await conn.execute(q.DELETE_SERIAL, product_id, serial)
        return
    await conn.execute(q.SET_SERIAL, product_id, serial, status.value, location_id, lot)


async def serial_before(
    conn: Connection, product_id: int, serial: str, before_id: int
) -> asyncpg.Record | None:
    """The serial's latest unreversed ledger row before ``before_id`` (for an undo)."""
    return await conn.fetchrow(q.SERIAL_BEFORE, product_id, serial, before_id)
