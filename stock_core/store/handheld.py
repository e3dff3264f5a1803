"""Handheld scanners (the ``/scan/`` page): each one's session and its recent replies.

A handheld's session lives in the web node while its socket is open and is written
here after every scan, in one transaction with the reply that scan got, the
handheld's scanner state and its ``scan.rejected`` event, if any. A scan that arrives
again (its reply was lost, or the node restarted) is answered from
``handheld_replies``; a scan the node took but could not record is taken again from
the session as it was before it, and its idempotency key makes the store answer the
first outcome. Either way a scan changes stock once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import Final

from stock_core.domain.movement import Envelope
from stock_core.errors import StockRejection
from stock_core.model import ScannerState
from stock_core.store.connection import Connection
from stock_core.store.gateway import record_spool_exceptions
from stock_core.store.gateway import save_scanner_states
from stock_core.store.outbox import sql as outbox_sql

__all__ = [
    "DELETE_OLD_HANDHELD_REPLIES",
    "HANDHELD_REPLY",
    "HANDHELD_SESSION",
    "INSERT_HANDHELD_REPLY",
    "REPLIES_KEPT",
    "UPSERT_HANDHELD_SESSION",
    "HandheldSession",
    "handheld_reply",
    "handheld_session",
    "save_handheld_scan",
    "save_handheld_status",
]

REPLIES_KEPT: Final = 512
"""Replies kept per handheld: far more than a page has in flight at once."""

HANDHELD_SESSION: Final = """
SELECT scanner, session::text AS session, last_seq, worker, updated_at
FROM handheld_sessions WHERE scanner = $1
"""

HANDHELD_REPLY: Final = """
SELECT reply::text AS reply FROM handheld_replies WHERE scanner = $1 AND seq = $2
"""

UPSERT_HANDHELD_SESSION: Final = """
INSERT INTO handheld_sessions (scanner, session, last_seq, worker, updated_at)
VALUES ($1, $2::jsonb, $3, $4, now())
ON CONFLICT (scanner) DO UPDATE SET
    session = excluded.session,
    last_seq = greatest(handheld_sessions.last_seq, excluded.last_seq),
    worker = excluded.worker,
    updated_at = excluded.updated_at
"""

INSERT_HANDHELD_REPLY: Final = """
INSERT INTO handheld_replies (scanner, seq, reply) VALUES ($1, $2, $3::jsonb)
ON CONFLICT (scanner, seq) DO NOTHING
"""

DELETE_OLD_HANDHELD_REPLIES: Final = """
DELETE FROM handheld_replies WHERE scanner = $1 AND seq <= $2
"""


@dataclass(frozen=True)
class HandheldSession:
    """What is kept of one handheld: its session's snapshot and the last scan it took."""

    scanner: str
    session: dict[str, Any]
    last_seq: int
    worker: str | None


async def handheld_session(conn: Connection, scanner: str) -> HandheldSession | None:
    """What is kept of a handheld scanner (its session, its last scan), if anything."""
    row = await conn.fetchrow(HANDHELD_SESSION, scanner)
    if row is None:
        return None
    return HandheldSession(
        row["scanner"], json.loads(row["session"]), row["last_seq"], row["worker"]
    )


async def handheld_reply(conn: Connection, scanner: str, seq: int) -> dict[str, Any] | None:
    """The reply scan ``seq`` of ``scanner`` got, if it is still kept."""
    text = await conn.fetchval(HANDHELD_REPLY, scanner, seq)
    if text is None:
        return None
    reply: dict[str, Any] = json.loads(text)
    return reply


async def save_handheld_scan(
    conn: Connection,
    state: ScannerState,
    session: dict[str, Any],
    seq: int,
    reply: dict[str, Any],
    worker: str | None,
    events: Sequence[tuple[str, dict[str, Any]]] = (),
    refused_late: Sequence[tuple[Envelope, StockRejection, datetime | None]] = (),
) -> None:
    """One scan taken: the session after it, its reply, the scanner's state and events;
    a scan the device took offline and the store refused now is a spool exception for a
    manager (``refused_late``), as a serial gateway's spooled scan refused on replay is."""
    async with conn.transaction():
        await conn.execute(UPSERT_HANDHELD_SESSION, state.id, json.dumps(session), seq, worker)
        await conn.execute(INSERT_HANDHELD_REPLY, state.id, seq, json.dumps(reply))
        await conn.execute(DELETE_OLD_HANDHELD_REPLIES, state.id, seq - REPLIES_KEPT)
        await save_scanner_states(conn, [state])
        if events:
            await conn.executemany(outbox_sql.INSERT_EVENT, [(t, json.dumps(p)) for t, p in events])
        await record_spool_exceptions(conn, refused_late)


async def save_handheld_status(
    conn: Connection, state: ScannerState, event: tuple[str, dict[str, Any]]
) -> None:
    """A handheld connected or went away: its scanner state and ``scanner.status``."""
    async with conn.transaction():
        await save_scanner_states(conn, [state])
        await conn.execute(outbox_sql.INSERT_EVENT, event[0], json.dumps(event[1]))
