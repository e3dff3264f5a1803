"""What the scanner gateway writes besides movements: events, spool exceptions, states."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from stock_core.domain.codec import envelope_to_dict
from stock_core.domain.movement import Envelope
from stock_core.errors import StockRejection
from stock_core.model import GatewayState
from stock_core.model import ScannerState
from stock_core.model import ScannerView
from stock_core.model import SpoolException
from stock_core.store.connection import Connection
from stock_core.store.gateway import sql as q
from stock_core.store.outbox import sql as outbox_sql
from stock_core.store.records import from_record

__all__ = [
    "append_events",
    "gateway_states",
    "list_scanner_states",
    "list_spool_exceptions",
    "record_spool_exceptions",
    "resolve_spool_exception",
    "save_gateway_state",
    "save_scanner_states",
    "spool_exception_by_id",
]


async def append_events(
    conn: Connection,
    events: Sequence[tuple[str, dict[str, Any]]],
    origins: Sequence[str | None] | None = None,
) -> None:
    """Events that change no stock (``scan.rejected``, ``scanner.status``) into the outbox.

    ``origins`` (one per event) make the write safe to repeat: an event whose origin is
    already in the outbox is not written again.
    """
    if events:
        await conn.execute(
            outbox_sql.INSERT_EVENTS_ONCE,
            [t for t, _ in events],
            [json.dumps(p) for _, p in events],
            list(origins) if origins is not None else [None] * len(events),
        )


async def record_spool_exceptions(
    conn: Connection,
    failures: Sequence[tuple[Envelope, StockRejection, datetime | None]],
) -> None:
    """Scans that were acknowledged while offline and refused on replay: kept for a manager."""
    if failures:
        await conn.executemany(
            q.INSERT_SPOOL_EXCEPTION,
            [
                (
                    env.key,
                    env.scanner,
                    env.scan_seq,
                    json.dumps(envelope_to_dict(env)),
                    rejection.problem_type,
                    rejection.reason,
                    spooled_at,
                )
                for env, rejection, spooled_at in failures
            ],
        )


async def save_scanner_states(conn: Connection, states: Sequence[ScannerState]) -> None:
    if states:
        await conn.executemany(
            q.UPSERT_SCANNER_STATE,
            [
                (
                    s.id,
                    s.gateway,
                    s.url,
                    s.state,
                    s.detail,
                    s.mode,
                    s.location,
                    s.last_scan_at,
                    s.last_code,
                    json.dumps(s.counters),
                    s.operator,
                )
                for s in states
            ],
        )


async def list_spool_exceptions(
    conn: Connection, *, include_resolved: bool = False, after: int = 0, limit: int = 100
) -> list[SpoolException]:
    rows = await conn.fetch(q.LIST_SPOOL_EXCEPTIONS, include_resolved, after, limit)
    return [_spool_exception(r) for r in rows]


async def save_gateway_state(conn: Connection, name: str, spool: dict[str, Any]) -> None:
    await conn.execute(q.UPSERT_GATEWAY_STATE, name, json.dumps(spool))


async def gateway_states(conn: Connection) -> list[GatewayState]:
    rows = await conn.fetch(q.GATEWAY_STATES)
    return [GatewayState(r["name"], json.loads(r["spool"]), r["updated_at"]) for r in rows]


def _spool_exception(row: asyncpg.Record) -> SpoolException:
    return from_record(SpoolException, row, command=json.loads(row["command"]))


async def list_scanner_states(conn: Connection) -> list[ScannerView]:
    return [
        ScannerView(
            state=ScannerState(
                id=r["id"],
                gateway=r["gateway"],
                url=r["url"],
                state=r["state"],
                detail=r["detail"],
                mode=r["mode"],
                location=r["location"],
                last_scan_at=r["last_scan_at"],
                last_code=r["last_code"],
                counters=json.loads(r["counters"]),
                operator=r["operator"],
            ),
            updated_at=r["updated_at"],
        )
        for r in await conn.fetch(q.LIST_SCANNER_STATES)
    ]


async def spool_exception_by_id(conn: Connection, exception_id: int) -> SpoolException | None:
    row = await conn.fetchrow(q.SPOOL_EXCEPTION_BY_ID, exception_id)
    return None if row is None else _spool_exception(row)


async def resolve_spool_exception(
    conn: Connection, exception_id: int, by: str, resolution: str
) -> SpoolException | None:
    """Mark resolved (the first resolution stands); ``None`` for no such exception."""
    async with conn.transaction():
        found = await conn.fetchval(q.RESOLVE_SPOOL_EXCEPTION, exception_id, by, resolution)
        if found is None:
            return None
        return await spool_exception_by_id(conn, exception_id)
