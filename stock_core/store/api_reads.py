"""Read models for the HTTP API: products, locations, stock, movements, scanners, alerts.

Every list is keyset-paginated: callers pass the last id they saw (``after``) and a
``limit``; a page of ``limit + 1`` rows tells them whether there is more. The movement
export streams through a server-side cursor inside one read-only transaction, so it
never holds more than one prefetch batch in memory.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Sequence

import asyncpg

from stock_core.domain.movement import MovementRecord
from stock_core.model import (
    Alert,
    Barcode,
    Location,
    MovementFilter,
    Product,
    ProductStock,
    ScannerState,
    ScannerView,
    SpoolException,
    StockRow,
)
from stock_core.store.alerts import sql as alerts_sql
from stock_core.store.catalog import sql as catalog_sql
from stock_core.store.connection import Connection
from stock_core.store.gateway import sql as gateway_sql
from stock_core.store.ledger import sql as ledger_sql
from stock_core.store.ledger.idempotency import record_from_row
from stock_core.store.stock import sql as stock_sql

__all__ = [
    "EXPORT_BATCH",
    "MAX_ID",
    "alert_by_id",
    "export_movements",
    "list_alerts",
    "list_locations",
    "list_movements",
    "list_products",
    "list_scanner_states",
    "list_stock",
    "location_by_code",
    "location_by_gln",
    "movement_by_id",
    "product_by_sku",
    "spool_exception_by_id",
]

MAX_ID = 2**63 - 1
EXPORT_BATCH = 1000
"""Rows fetched per round trip by the export cursor (the most held in memory)."""


def _filter_args(f: MovementFilter) -> tuple[object, ...]:
    return (f.sku, f.location, f.kind, f.scanner, f.since, f.until, f.operator)


def _product(row: asyncpg.Record) -> Product:
    return Product(
        id=row["id"],
        sku=row["sku"],
        name=row["name"],
        category=row["category"],
        unit_cost=row["unit_cost"],
        weight_g=row["weight_g"],
        length_mm=row["length_mm"],
        width_mm=row["width_mm"],
        height_mm=row["height_mm"],
        reorder_point=row["reorder_point"],
        reorder_qty=row["reorder_qty"],
        lead_time_days=row["lead_time_days"],
        safety_stock=row["safety_stock"],
        backorder_allowed=row["backorder_allowed"],
        barcodes=tuple(Barcode(b["code"], b["pack_size"]) for b in json.loads(row["barcodes"])),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _location(row: asyncpg.Record) -> Location:
    return Location(
        id=row["id"],
        code=row["code"],
        warehouse=row["warehouse"],
        zone=row["zone"],
        name=row["name"],
        gln=row["gln"],
        type=row["type"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        max_weight_g=row["max_weight_g"],
        max_volume_cm3=row["max_volume_cm3"],
    )


def _alert(row: asyncpg.Record) -> Alert:
    return Alert(
        id=row["id"],
        kind=row["kind"],
        sku=row["sku"],
        name=row["name"],
        raised_at=row["raised_at"],
        available=row["available"],
        threshold=row["threshold"],
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=row["acknowledged_by"],
        cleared_at=row["cleared_at"],
        detail=json.loads(row["detail"]),
    )


def _spool_exception(row: asyncpg.Record) -> SpoolException:
    return SpoolException(
        id=row["id"],
        key=row["key"],
        scanner=row["scanner"],
        scan_seq=row["scan_seq"],
        command=json.loads(row["command"]),
        problem_type=row["problem_type"],
        reason=row["reason"],
        spooled_at=row["spooled_at"],
        created_at=row["created_at"],
        resolved_at=row["resolved_at"],
        resolved_by=row["resolved_by"],
        resolution=row["resolution"],
    )


async def list_products(
    conn: Connection, *, category: str | None, after: int, limit: int
) -> list[Product]:
    return [
        _product(r) for r in await conn.fetch(catalog_sql.LIST_PRODUCTS, after, category, limit)
    ]


async def product_by_sku(conn: Connection, sku: str, *, lock: bool = False) -> Product | None:
    row = await conn.fetchrow(
        catalog_sql.LOCK_PRODUCT_BY_SKU if lock else catalog_sql.PRODUCT_BY_SKU, sku
    )
    return None if row is None else _product(row)


async def list_locations(
    conn: Connection, *, zone: str | None, after: int, limit: int
) -> list[Location]:
    return [_location(r) for r in await conn.fetch(catalog_sql.LIST_LOCATIONS, after, zone, limit)]


async def location_by_code(conn: Connection, code: str) -> Location | None:
    row = await conn.fetchrow(catalog_sql.LOCATION_BY_CODE, code)
    return None if row is None else _location(row)


async def location_by_gln(conn: Connection, gln: str) -> Location | None:
    row = await conn.fetchrow(catalog_sql.LOCATION_BY_GLN, gln)
    return None if row is None else _location(row)


async def list_stock(
    conn: Connection,
    *,
    sku: str | None,
    location: str | None,
    zone: str | None,
    below_reorder_point: bool,
    after: int,
    limit: int,
    search: str | None = None,
) -> list[ProductStock]:
    """Stock per product (keyset on product id) with its rows at the kept locations.

    ``search`` keeps products whose SKU or name contains it (any case) or that have it
    as a barcode (a GTIN in any length).
    """
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        products = await conn.fetch(
            stock_sql.LIST_STOCK_PRODUCTS,
            after,
            sku,
            location,
            zone,
            below_reorder_point,
            limit,
            search,
        )
        rows = await conn.fetch(
            stock_sql.STOCK_ROWS_OF_PRODUCTS, [p["id"] for p in products], location, zone
        )
    by_product: dict[int, list[StockRow]] = {}
    for r in rows:
        by_product.setdefault(r["product_id"], []).append(
            StockRow(
                r["location"],
                r["zone"],
                r["lot"],
                r["expiry"],
                r["on_hand"],
                r["reserved"],
                r["expired"],
                r["quarantined"],
            )
        )
    return [
        ProductStock(
            id=p["id"],
            sku=p["sku"],
            name=p["name"],
            reorder_point=p["reorder_point"],
            product_available=p["product_available"],
            on_order=p["on_order"],
            backordered=p["backordered"],
            locations=tuple(by_product.get(p["id"], ())),
        )
        for p in products
    ]


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
        for r in await conn.fetch(gateway_sql.LIST_SCANNER_STATES)
    ]


async def list_alerts(
    conn: Connection,
    *,
    include_cleared: bool,
    kind: str | None,
    sku: str | None,
    after: int,
    limit: int,
) -> list[Alert]:
    rows = await conn.fetch(alerts_sql.LIST_ALERTS, after, include_cleared, kind, sku, limit)
    return [_alert(r) for r in rows]


async def alert_by_id(conn: Connection, alert_id: int) -> Alert | None:
    row = await conn.fetchrow(alerts_sql.ALERT_BY_ID, alert_id)
    return None if row is None else _alert(row)


async def spool_exception_by_id(conn: Connection, exception_id: int) -> SpoolException | None:
    row = await conn.fetchrow(gateway_sql.SPOOL_EXCEPTION_BY_ID, exception_id)
    return None if row is None else _spool_exception(row)
