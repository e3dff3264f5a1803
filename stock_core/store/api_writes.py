"""Catalog edits and acknowledgements from the HTTP API, one transaction each.

Products and locations created one at a time follow the same rules as the CSV import
(barcodes normalised by :func:`~stock_core.domain.catalog.parse_barcodes`, GLNs with a
valid check digit). A duplicate SKU, location code, GLN or barcode is a
:class:`CatalogConflictError`; a value the database refuses is an
:class:`InvalidCatalogEntryError`. Neither changes anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import asyncpg

from stock_core.domain.catalog import parse_barcodes
from stock_core.domain.gtin import normalize_gtin
from stock_core.errors import CatalogConflictError, InvalidCatalogEntryError, UnknownProductError
from stock_core.model import (
    Alert,
    Barcode,
    Location,
    LocationSpec,
    Product,
    ProductSpec,
    SpoolException,
)
from stock_core.store import api_reads
from stock_core.store.alerts import sql as alerts_sql
from stock_core.store.catalog import sql as catalog_sql
from stock_core.store.connection import Connection
from stock_core.store.gateway import sql as gateway_sql
from stock_core.store.orders.reservation import LockedProduct, refresh_alerts

__all__ = [
    "acknowledge_alert",
    "create_location",
    "create_product",
    "resolve_spool_exception",
    "update_product",
]


def _refused(exc: asyncpg.PostgresError) -> InvalidCatalogEntryError:
    """A value PostgreSQL refused (a CHECK or a numeric overflow) as a 422 rejection."""
    column = getattr(exc, "column_name", None) or getattr(exc, "constraint_name", None)
    return InvalidCatalogEntryError(column or "body", str(exc))


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
    try:
        async with conn.transaction():
            product_id = await conn.fetchval(
                catalog_sql.INSERT_PRODUCT, spec.sku, *_product_args(spec)
            )
            if product_id is None:
                raise CatalogConflictError(f"product {spec.sku} already exists")
            await _replace_barcodes(conn, product_id, spec.barcodes)
    except asyncpg.UniqueViolationError as exc:  # lost a race for a barcode
        raise CatalogConflictError(f"product {spec.sku} conflicts: {exc.detail}") from exc
    except (asyncpg.CheckViolationError, asyncpg.DataError) as exc:
        raise _refused(exc) from exc
    view = await api_reads.product_by_sku(conn, spec.sku)
    assert view is not None
    return view


async def update_product(conn: Connection, sku: str, changes: Mapping[str, Any]) -> Product:
    """Change the given fields of product ``sku``; ``barcodes``, when given, replace all."""
    try:
        async with conn.transaction():
            current = await api_reads.product_by_sku(conn, sku, lock=True)
            if current is None:
                raise UnknownProductError(sku)
            fields = {f.name for f in dataclasses.fields(ProductSpec)} - {"sku", "barcodes"}
            spec = ProductSpec(
                sku=sku,
                **{name: getattr(current, name) for name in fields},
                barcodes=tuple(Barcode(b.code, b.pack_size) for b in current.barcodes),
            )
            spec = dataclasses.replace(spec, **changes)
            await conn.execute(catalog_sql.UPDATE_PRODUCT, current.id, *_product_args(spec))
            if "barcodes" in changes:
                barcodes = _normalise_barcodes(spec.barcodes)
                await _replace_barcodes(conn, current.id, barcodes)
            if spec.reorder_point != current.reorder_point:
                # low_stock rises or clears against the new point, in this transaction
                await refresh_alerts(conn, LockedProduct(current.id, sku, spec.reorder_point))
    except asyncpg.UniqueViolationError as exc:
        raise CatalogConflictError(f"product {sku} conflicts: {exc.detail}") from exc
    except (asyncpg.CheckViolationError, asyncpg.DataError) as exc:
        raise _refused(exc) from exc
    view = await api_reads.product_by_sku(conn, sku)
    assert view is not None
    return view


async def create_location(conn: Connection, spec: LocationSpec) -> Location:
    if spec.gln is not None:
        try:
            normalize_gtin(spec.gln)  # a GLN uses the GTIN mod-10 check digit
        except ValueError as exc:
            raise InvalidCatalogEntryError("gln", str(exc)) from exc
    try:
        async with conn.transaction():
            location_id = await conn.fetchval(
                catalog_sql.INSERT_LOCATION,
                spec.code,
                spec.zone,
                spec.name,
                spec.gln,
                spec.max_weight_g,
                spec.max_volume_cm3,
                spec.type,
            )
    except (asyncpg.CheckViolationError, asyncpg.DataError) as exc:
        raise _refused(exc) from exc
    if location_id is None:
        if await api_reads.location_by_code(conn, spec.code) is not None:
            raise CatalogConflictError(f"location {spec.code} already exists")
        raise CatalogConflictError(f"gln {spec.gln} already belongs to another location")
    view = await api_reads.location_by_code(conn, spec.code)
    assert view is not None
    return view


async def acknowledge_alert(conn: Connection, alert_id: int, by: str) -> Alert | None:
    """Acknowledge (once: the first acknowledgement stands); ``None`` for no such alert."""
    async with conn.transaction():
        await conn.execute(alerts_sql.ACKNOWLEDGE_ALERT, alert_id, by)
        return await api_reads.alert_by_id(conn, alert_id)


async def resolve_spool_exception(
    conn: Connection, exception_id: int, by: str, resolution: str
) -> SpoolException | None:
    """Mark resolved (the first resolution stands); ``None`` for no such exception."""
    async with conn.transaction():
        found = await conn.fetchval(
            gateway_sql.RESOLVE_SPOOL_EXCEPTION, exception_id, by, resolution
        )
        if found is None:
            return None
        return await api_reads.spool_exception_by_id(conn, exception_id)
