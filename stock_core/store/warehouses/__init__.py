"""Warehouses: kept by managers (API), or made by a ``locations.csv`` naming a new one."""

from __future__ import annotations

import asyncpg

from stock_core.errors import UnknownWarehouseError
from stock_core.model import Warehouse
from stock_core.store._boundary import checked
from stock_core.store.connection import Connection
from stock_core.store.warehouses import sql

__all__ = ["list_warehouses", "require_warehouse", "save_warehouse", "warehouse_by_code"]


def _warehouse(row: asyncpg.Record) -> Warehouse:
    return Warehouse(row["code"], row["name"], row["created_at"], row["updated_at"])


async def list_warehouses(conn: Connection, *, after: str, limit: int) -> list[Warehouse]:
    return [_warehouse(r) for r in await conn.fetch(sql.LIST_WAREHOUSES, after, limit)]


async def warehouse_by_code(conn: Connection, code: str) -> Warehouse | None:
    row = await conn.fetchrow(sql.WAREHOUSE_BY_CODE, code)
    return None if row is None else _warehouse(row)


async def require_warehouse(conn: Connection, code: str) -> Warehouse:
    """The warehouse, or :class:`UnknownWarehouseError`."""
    found = await warehouse_by_code(conn, code)
    if found is None:
        raise UnknownWarehouseError(code)
    return found


async def save_warehouse(conn: Connection, code: str, name: str) -> tuple[Warehouse, bool]:
    """Create or rename a warehouse; ``True`` when it was created."""
    with checked():  # the rules were checked before: a broken CHECK is a bug, refused
        row = await conn.fetchrow(sql.UPSERT_WAREHOUSE, code, name)
    assert row is not None
    return _warehouse(row), bool(row["inserted"])
