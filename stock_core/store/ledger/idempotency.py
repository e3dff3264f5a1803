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
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import MovementId
from stock_core.types import Sku

__all__ = ["record_from_row", "replay"]


def record_from_row(row: asyncpg.Record) -> MovementRecord:
    return MovementRecord(
        id=MovementId(row["id"]),
        ts=row["ts"],
        kind=MovementKind(row["kind"]),
        sku=Sku(row["sku"]),
        location=LocationCode(row["location"]),
        lot=row["lot"],
        delta=row["delta"],
        on_hand_after=row["on_hand_after"],
        scanner=row["scanner"],
        scan_seq=row["scan_seq"],
        actor=row["actor"],
        note=row["note"],
        reverses=row["reverses"],
        operator=row["operator"],
        reason=row["reason"],
        serial=row["serial"],
        warehouse=row["warehouse"],
    )


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
