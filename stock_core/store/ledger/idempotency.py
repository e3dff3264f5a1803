"""Idempotency keys: a replayed key answers its first outcome and changes nothing."""

from __future__ import annotations

import json

import asyncpg

from stock_core.domain.movement import MovementKind
from stock_core.domain.movement import MovementOutcome
from stock_core.domain.movement import MovementRecord
from stock_core.errors import IdempotencyConflictError
from stock_core.errors import rejection_from_dict
from stock_core.store.connection import Connection
from stock_core.store.ledger import sql as q
from stock_core.store.records import from_record
from stock_core.types import IdempotencyKey

__all__ = ["record_from_row", "replay"]


def record_from_row(row: asyncpg.Record) -> MovementRecord:
    return from_record(MovementRecord, row, kind=MovementKind(row["kind"]))


async def replay(conn: Connection, key: IdempotencyKey, fingerprint: str) -> MovementOutcome:
    """The first outcome of ``key``: its ledger rows, or its rejection raised again."""
    stored = await conn.fetchrow(q.FIND_IDEMPOTENCY_KEY, key)
    assert stored is not None, "replay() of a key that was never stored"
    if stored["fingerprint"] != fingerprint:
        raise IdempotencyConflictError(key)
    if stored["rejection"] is not None:
        raise rejection_from_dict(json.loads(stored["rejection"]))
    rows = await conn.fetch(q.MOVEMENTS_BY_KEY, key)
    return MovementOutcome(key, tuple(record_from_row(r) for r in rows), replayed=True)
