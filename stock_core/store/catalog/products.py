"""Products one at a time: listed (keyset pages), looked up, created and changed.

Products created one at a time follow the same rules as the CSV import (barcodes
normalised by :func:`~stock_core.domain.catalog.parse_barcodes`). A duplicate SKU or
barcode is a :class:`~stock_core.errors.CatalogConflictError`; a value the database
refuses is an :class:`~stock_core.errors.InvalidCatalogEntryError`. Neither changes
anything."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import asyncpg

from stock_core.domain.catalog import parse_barcodes
from stock_core.errors import CatalogConflictError
from stock_core.errors import ConflictError
from stock_core.errors import InvalidCatalogEntryError
from stock_core.errors import UnknownProductError
from stock_core.model import Barcode
from stock_core.model import Product
from stock_core.model import ProductSpec
from stock_core.store._boundary import catalog_refusals
from stock_core.store.catalog import sql as catalog_sql
from stock_core.store.connection import Connection
from stock_core.store.orders.reservation import LockedProduct
from stock_core.store.orders.reservation import refresh_alerts
from stock_core.store.records import from_record

__all__ = [
    "create_product",
    "list_products",
    "product_by_sku",
    "product_tracking",
    "update_product",
]


def _product(row: asyncpg.Record) -> Product:
    barcodes = tuple(Barcode(b["code"], b["pack_size"]) for b in json.loads(row["barcodes"]))
    return from_record(Product, row, barcodes=barcodes)


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


async def product_tracking(conn: Connection, barcode: str | None, sku: str | None) -> str | None:
    """The tracking of the product a scan names (``None``: no such product)."""
    value: str | None = await conn.fetchval(catalog_sql.PRODUCT_TRACKING, barcode, sku)
    return value


def _normalise_barcodes(barcodes: tuple[Barcode, ...]) -> tuple[Barcode, ...]:
    if any("|" in b.code or "*" in b.code for b in barcodes):
        raise InvalidCatalogEntryError("barcodes", "a code cannot contain '|' or '*'")
    text = "|".join(f"{b.code}*{b.pack_size}" for b in barcodes)
    try:
        return parse_barcodes(text)
    except ValueError as exc:
        raise InvalidCatalogEntryError("barcodes", str(exc)) from exc


def _product_args(spec: ProductSpec) -> tuple[object, ...]:
    return (
        spec.name,
        spec.category,
        spec.unit_cost,
        spec.weight_g,
        spec.length_mm,
        spec.width_mm,
        spec.height_mm,
        spec.reorder_point,
        spec.reorder_qty,
        spec.lead_time_days,
        spec.safety_stock,
        spec.backorder_allowed,
        spec.tracking,
    )


async def _replace_barcodes(
    conn: Connection, product_id: int, barcodes: tuple[Barcode, ...]
) -> None:
    codes = [b.code for b in barcodes]
    owners = await conn.fetch(catalog_sql.BARCODE_OWNERS, codes, product_id)
    if owners:
        taken = ", ".join(f"{o['code']} ({o['sku']})" for o in owners)
        raise CatalogConflictError(f"barcode already registered to another product: {taken}")
    await conn.execute(catalog_sql.DELETE_PRODUCT_BARCODES, product_id)
    await conn.execute(
        catalog_sql.INSERT_PRODUCT_BARCODES, product_id, codes, [b.pack_size for b in barcodes]
    )


async def create_product(conn: Connection, spec: ProductSpec) -> Product:
    spec = dataclasses.replace(spec, barcodes=_normalise_barcodes(spec.barcodes))
    with catalog_refusals(f"product {spec.sku}"):  # a lost race for a barcode, too
        async with conn.transaction():
            product_id = await conn.fetchval(
                catalog_sql.INSERT_PRODUCT, spec.sku, *_product_args(spec)
            )
            if product_id is None:
                raise CatalogConflictError(f"product {spec.sku} already exists")
            await _replace_barcodes(conn, product_id, spec.barcodes)
    view = await product_by_sku(conn, spec.sku)
    assert view is not None
    return view


async def update_product(conn: Connection, sku: str, changes: Mapping[str, Any]) -> Product:
    """Change the given fields of product ``sku``; ``barcodes``, when given, replace all."""
    with catalog_refusals(f"product {sku}"):
        async with conn.transaction():
            current = await product_by_sku(conn, sku, lock=True)
            if current is None:
                raise UnknownProductError(sku)
            fields = {f.name for f in dataclasses.fields(ProductSpec)} - {"sku", "barcodes"}
            spec = ProductSpec(
                sku=sku,
                **{name: getattr(current, name) for name in fields},
                barcodes=tuple(Barcode(b.code, b.pack_size) for b in current.barcodes),
            )
            spec = dataclasses.replace(spec, **changes)
            if spec.tracking != current.tracking:
                on_hand = await conn.fetchval(catalog_sql.PRODUCT_ON_HAND, current.id)
                if on_hand:
                    raise ConflictError(
                        f"{sku} has {on_hand} units on hand: its tracking changes only "
                        "while it has none"
                    )
            await conn.execute(catalog_sql.UPDATE_PRODUCT, current.id, *_product_args(spec))
            if "barcodes" in changes:
                barcodes = _normalise_barcodes(spec.barcodes)
                await _replace_barcodes(conn, current.id, barcodes)
            if spec.reorder_point != current.reorder_point:
                # low_stock rises or clears against the new point, in this transaction
                await refresh_alerts(conn, LockedProduct(current.id, sku, spec.reorder_point))
    view = await product_by_sku(conn, sku)
    assert view is not None
    return view
