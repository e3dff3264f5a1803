"""Stock alerts, listed and acknowledged.

They are raised and cleared in the transaction that changes the stock
(:func:`stock_core.store.orders.reservation.refresh_alerts`, and the set-based batch).
"""

from __future__ import annotations

import json

import asyncpg

from stock_core.model import Alert
from stock_core.store.alerts import sql as q
from stock_core.store.connection import Connection
from stock_core.store.records import from_record

__all__ = ["acknowledge_alert", "alert_by_id", "list_alerts"]


def _alert(row: asyncpg.Record) -> Alert:
    return from_record(Alert, row, detail=json.loads(row["detail"]))


async def list_alerts(
    conn: Connection,
    *,
    include_cleared: bool = False,
    kind: str | None = None,
    sku: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[Alert]:
    rows = await conn.fetch(q.LIST_ALERTS, after, include_cleared, kind, sku, limit)
    return [_alert(r) for r in rows]


async def alert_by_id(conn: Connection, alert_id: int) -> Alert | None:
    row = await conn.fetchrow(q.ALERT_BY_ID, alert_id)
    return None if row is None else _alert(row)


async def acknowledge_alert(conn: Connection, alert_id: int, by: str) -> Alert | None:
    """Acknowledge (once: the first acknowledgement stands); ``None`` for no such alert."""
    async with conn.transaction():
        await conn.execute(q.ACKNOWLEDGE_ALERT, alert_id, by)
        return await alert_by_id(conn, alert_id)
