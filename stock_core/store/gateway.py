"""What the scanner gateway writes besides movements: events, spool exceptions, states."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stock_core.domain.codec import envelope_to_dict
from stock_core.domain.movement import Envelope
from stock_core.errors import StockRejection
from stock_core.store import queries as q
from stock_core.store.connection import Connection

__all__ = [
    "ScannerState",
    "SpoolException",
    "append_events",
    "list_spool_exceptions",
    "record_spool_exceptions",
    "save_scanner_states",
]


@dataclass(frozen=True)
class ScannerState:
    id: str
    gateway: str
    url: str
    state: str
    detail: str
    mode: str | None
    location: str | None
    last_scan_at: datetime | None
    last_code: str | None
    counters: dict[str, int]


@dataclass(frozen=True)
class SpoolException:
    id: int
    key: str
    scanner: str | None
    scan_seq: int | None
    command: dict[str, Any]
    problem_type: str
    reason: str
    spooled_at: datetime | None
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


async def append_events(conn: Connection, events: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Events that change no stock (``scan.rejected``, ``scanner.status``) into the outbox."""
    if events:
        await conn.executemany(q.INSERT_EVENT, [(t, json.dumps(p)) for t, p in events])


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
                )
                for s in states
            ],
        )


async def list_spool_exceptions(
    conn: Connection, *, include_resolved: bool = False, after: int = 0, limit: int = 100
) -> list[SpoolException]:
    rows = await conn.fetch(q.LIST_SPOOL_EXCEPTIONS, include_resolved, after, limit)
    return [
        SpoolException(
            id=r["id"],
            key=r["key"],
            scanner=r["scanner"],
            scan_seq=r["scan_seq"],
            command=json.loads(r["command"]),
            problem_type=r["problem_type"],
            reason=r["reason"],
            spooled_at=r["spooled_at"],
            created_at=r["created_at"],
            resolved_at=r["resolved_at"],
            resolved_by=r["resolved_by"],
            resolution=r["resolution"],
        )
        for r in rows
    ]
