"""Reading the ledger: movements by filter (keyset pages, newest or oldest first), one
movement, and the export, which streams through a server-side cursor inside one
read-only transaction so it never holds more than one batch in memory."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from collections.abc import Sequence

from stock_core.domain.movement import MovementRecord
from stock_core.model import MovementFilter
from stock_core.store.connection import Connection
from stock_core.store.ledger import sql as ledger_sql
from stock_core.store.ledger.idempotency import record_from_row

__all__ = ["EXPORT_BATCH", "MAX_ID", "export_movements", "list_movements", "movement_by_id"]


MAX_ID = 2**63 - 1


EXPORT_BATCH = 1000
"""Rows fetched per round trip by the export cursor (the most held in memory)."""


def _filter_args(f: MovementFilter) -> tuple[object, ...]:
    return (f.sku, f.location, f.kind, f.scanner, f.since, f.until, f.operator, f.warehouse)


async def list_movements(
    conn: Connection, filters: MovementFilter, *, after: int | None, limit: int, newest_first: bool
) -> list[MovementRecord]:
    if newest_first:
        query, bound = ledger_sql.LIST_MOVEMENTS_DESC, MAX_ID if after is None else after
    else:
        query, bound = ledger_sql.LIST_MOVEMENTS_ASC, 0 if after is None else after
    rows = await conn.fetch(query, bound, *_filter_args(filters), limit)
    return [record_from_row(r) for r in rows]


async def movement_by_id(conn: Connection, movement_id: int) -> MovementRecord | None:
    row = await conn.fetchrow(ledger_sql.MOVEMENT_BY_ID, movement_id)
    return None if row is None else record_from_row(row)


async def export_movements(
    conn: Connection, filters: MovementFilter, *, batch: int = EXPORT_BATCH
) -> AsyncGenerator[Sequence[MovementRecord], None]:
    """Every matching movement in ledger order, ``batch`` rows at a time (a cursor)."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = await conn.cursor(ledger_sql.EXPORT_MOVEMENTS, 0, *_filter_args(filters))
        while True:
            rows = await cursor.fetch(batch)
            if not rows:
                return
            yield [record_from_row(r) for r in rows]
