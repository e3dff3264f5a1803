"""Read models: stock levels and location lookups."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from stock_core.errors import UnknownProductError
from stock_core.errors import WrongWarehouseError
from stock_core.model import LocationStock
from stock_core.model import ProductStock
from stock_core.model import StockLevel
from stock_core.model import StockRow
from stock_core.model import WarehouseStock
from stock_core.store.connection import Connection
from stock_core.store.outbox import sql as outbox_sql
from stock_core.store.records import from_record
from stock_core.store.stock import sql as q
from stock_core.store.warehouses import require_warehouse

__all__ = [
    "find_location",
    "floor_snapshot",
    "list_stock",
    "simulation_catalog",
    "stock_of",
]


async def stock_of(conn: Connection, sku: str) -> StockLevel:
    rows = await conn.fetch(q.STOCK_OF_SKU, sku)
    if not rows:
        raise UnknownProductError(sku)
    figures = await conn.fetchrow(q.PRODUCT_ORDER_FIGURES, sku)
    assert figures is not None
    return StockLevel(
        sku=sku,
        on_order=int(figures["on_order"]),
        backordered=int(figures["backordered"]),
        locations=tuple(from_record(LocationStock, r) for r in rows if r["location"] is not None),
    )


async def find_location(
    conn: Connection, code_or_gln: str, warehouse: str | None = None
) -> str | None:
    """The location code for a code or a GLN, or ``None``; with ``warehouse`` (a
    scanner's), a location of another warehouse is :class:`WrongWarehouseError`."""
    row = await conn.fetchrow(q.FIND_LOCATION, code_or_gln)
    if row is None:
        return None
    if warehouse is not None and row["warehouse"] != warehouse:
        raise WrongWarehouseError(
            row["code"], row["warehouse"], warehouse, f": this scanner works in {warehouse}"
        )
    return str(row["code"])


def _snapshot_line(r: asyncpg.Record) -> dict[str, Any]:
    line = {
        "sku": r["sku"],
        "name": r["name"],
        "category": r["category"],
        "reorder_point": r["reorder_point"],
        "on_hand": r["on_hand"],
        "reserved": r["reserved"],
        "available": r["on_hand"] - r["reserved"] - r["expired"] - r["quarantined"],
        "expired": r["expired"],
        "quarantined": r["quarantined"],
        "zones": list(r["zones"]),
    }
    if "locations" in r:
        line["locations"] = json.loads(r["locations"])
    return line


async def floor_snapshot(
    conn: Connection, *, products: int = 5000, recent: int = 30, warehouse: str | None = None
) -> dict[str, Any]:
    """Everything a floor display shows, consistent with one feed ``seq``; with
    ``warehouse``, that warehouse's stock (and per location), scans and rejections."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        seq = int(await conn.fetchval(outbox_sql.FEED_HEAD))
        if warehouse is None:
            rows = await conn.fetch(q.SNAPSHOT_STOCK, products)
        else:
            rows = await conn.fetch(q.SNAPSHOT_STOCK_IN_WAREHOUSE, products, warehouse)
        stock = [_snapshot_line(r) for r in rows]
        alerts = [
            {**dict(r), "raised_at": r["raised_at"].isoformat()}
            for r in await conn.fetch(q.SNAPSHOT_ALERTS)
        ]
        scanners = [
            {
                **dict(r),
                "counters": json.loads(r["counters"]),
                "last_scan_at": r["last_scan_at"].isoformat() if r["last_scan_at"] else None,
                "updated_at": r["updated_at"].isoformat(),
            }
            for r in await conn.fetch(q.SNAPSHOT_SCANNERS)
        ]
        kinds = ["stock.changed", "scan.rejected"]
        if warehouse is None:
            recent_rows = await conn.fetch(q.SNAPSHOT_RECENT, kinds, seq, recent * 2)
        else:
            recent_rows = await conn.fetch(
                q.SNAPSHOT_RECENT_IN_WAREHOUSE, kinds, seq, recent * 2, warehouse
            )
    recent_events = [
        {"seq": r["seq"], "type": r["type"], "ts": r["ts"].isoformat(), **json.loads(r["payload"])}
        for r in reversed(recent_rows)
    ]
    snapshot: dict[str, Any] = {
        "seq": seq,
        "stock": stock,
        "alerts": alerts,
        "scanners": scanners,
        "recent": recent_events,
    }
    if warehouse is not None:
        snapshot["warehouse"] = warehouse
    return snapshot


async def simulation_catalog(conn: Connection, limit: int = 200) -> tuple[list[str], list[str]]:
    """GTINs of unit barcodes with stock, and the locations holding them (for simulators)."""
    rows = await conn.fetch(q.SIMULATION_CATALOG, limit)
    codes = list(dict.fromkeys(r["code"] for r in rows))
    locations = list(dict.fromkeys(r["location"] for r in rows))
    return codes, locations


async def list_stock(
    conn: Connection,
    *,
    sku: str | None = None,
    location: str | None = None,
    zone: str | None = None,
    below_reorder_point: bool = False,
    after: int = 0,
    limit: int = 100,
    search: str | None = None,
    warehouse: str | None = None,
) -> list[ProductStock]:
    """Stock per product (keyset on product id) with its rows at the kept locations.

    ``search`` keeps products whose SKU or name contains it (any case) or that have it
    as a barcode (a GTIN in any length); ``warehouse`` keeps that warehouse's locations
    (and, without ``sku``, products with stock there or on their way to it) and scopes
    every figure to it: an unknown one is :class:`UnknownWarehouseError` (404).
    """
    if warehouse is not None:
        await require_warehouse(conn, warehouse)
    one_sku = (
        sku is not None
        and location is None
        and zone is None
        and search is None
        and not below_reorder_point
        and after == 0
        and limit > 0
    )
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        if one_sku:  # GET /api/v1/stock/{sku}: a statement PostgreSQL plans once
            products = await conn.fetch(q.LIST_STOCK_OF_SKU, sku, warehouse)
        else:
            products = await conn.fetch(
                q.LIST_STOCK_PRODUCTS,
                after,
                sku,
                location,
                zone,
                below_reorder_point,
                limit,
                search,
                warehouse,
            )
        ids = [p["id"] for p in products]
        rows = await conn.fetch(q.STOCK_ROWS_OF_PRODUCTS, ids, location, zone, warehouse)
        per_warehouse = await conn.fetch(q.PRODUCT_WAREHOUSES, ids, warehouse)
    warehouses: dict[int, list[WarehouseStock]] = {}
    for r in per_warehouse:
        warehouses.setdefault(r["product_id"], []).append(from_record(WarehouseStock, r))
    by_product: dict[int, list[StockRow]] = {}
    for r in rows:
        by_product.setdefault(r["product_id"], []).append(
            from_record(StockRow, r, past_expiry=r["expired"], in_quarantine=r["quarantined"])
        )
    return [
        from_record(
            ProductStock,
            p,
            locations=tuple(by_product.get(p["id"], ())),
            warehouses=tuple(warehouses.get(p["id"], ())),
        )
        for p in products
    ]
