"""Operators: kept by managers (API and ``stockd import operators``), named by badges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from stock_core.model import Operator
from stock_core.model import OperatorActivity
from stock_core.store._boundary import checked
from stock_core.store.connection import Connection
from stock_core.store.operators import sql

__all__ = [
    "find_operator",
    "list_operators",
    "load_operators",
    "operator_report",
    "save_operator",
]


def _operator(row: asyncpg.Record) -> Operator:
    return Operator(row["code"], row["name"], row["created_at"], row["updated_at"])


async def list_operators(conn: Connection, *, after: str = "", limit: int = 100) -> list[Operator]:
    return [_operator(r) for r in await conn.fetch(sql.LIST_OPERATORS, after, limit)]


async def find_operator(conn: Connection, code: str) -> Operator | None:
    """The operator a badge names, or ``None`` (a scanner's ``USR:`` check)."""
    row = await conn.fetchrow(sql.OPERATOR_BY_CODE, code)
    return None if row is None else _operator(row)


async def save_operator(conn: Connection, code: str, name: str) -> tuple[Operator, bool]:
    """Create or rename an operator; ``True`` when it was created."""
    with checked():  # the rules were checked before: a broken CHECK is a bug, refused
        row = await conn.fetchrow(sql.UPSERT_OPERATOR, code, name)
    assert row is not None
    return _operator(row), bool(row["inserted"])


async def load_operators(conn: Connection, rows: Sequence[tuple[str, str]]) -> tuple[int, int]:
    """Upsert (code, name) pairs in one transaction: (created, updated)."""
    async with conn.transaction():
        results = await conn.fetch(
            sql.UPSERT_OPERATORS, [code for code, _ in rows], [name for _, name in rows]
        )
    created = sum(1 for r in results if r["inserted"])
    return created, len(results) - created


async def operator_report(
    conn: Connection, start: datetime, end: datetime
) -> list[OperatorActivity]:
    return [
        OperatorActivity(r["operator"], r["name"], r["movements"], r["units"])
        for r in await conn.fetch(sql.REPORT_OPERATORS, start, end)
    ]
