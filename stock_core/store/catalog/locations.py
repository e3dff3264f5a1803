"""Locations one at a time: listed (keyset pages), looked up by code or GLN, created.

A GLN needs a valid check digit; a duplicate code or GLN is a
:class:`~stock_core.errors.CatalogConflictError`."""

from __future__ import annotations

import asyncpg

from stock_core.domain.gtin import normalize_gtin
from stock_core.errors import CatalogConflictError
from stock_core.errors import InvalidCatalogEntryError
from stock_core.model import Location
from stock_core.model import LocationSpec
from stock_core.store._boundary import catalog_refusals
from stock_core.store.catalog import sql as catalog_sql
from stock_core.store.connection import Connection
from stock_core.store.records import from_record
from stock_core.store.warehouses import require_warehouse

__all__ = ["create_location", "list_locations", "location_by_code", "location_by_gln"]


def _location(row: asyncpg.Record) -> Location:
    return from_record(Location, row)


async def list_locations(
    conn: Connection, *, zone: str | None, after: int, limit: int, warehouse: str | None = None
) -> list[Location]:
    rows = await conn.fetch(catalog_sql.LIST_LOCATIONS, after, zone, limit, warehouse)
    return [_location(r) for r in rows]


async def location_by_code(conn: Connection, code: str) -> Location | None:
    row = await conn.fetchrow(catalog_sql.LOCATION_BY_CODE, code)
    return None if row is None else _location(row)


async def location_by_gln(conn: Connection, gln: str) -> Location | None:
    row = await conn.fetchrow(catalog_sql.LOCATION_BY_GLN, gln)
    return None if row is None else _location(row)


async def create_location(conn: Connection, spec: LocationSpec) -> Location:
    if spec.gln is not None:
        try:
            normalize_gtin(spec.gln)  # a GLN uses the GTIN mod-10 check digit
        except ValueError as exc:
            raise InvalidCatalogEntryError("gln", str(exc)) from exc
    await require_warehouse(conn, spec.warehouse)
    with catalog_refusals(f"location {spec.code}"):
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
                spec.warehouse,
            )
    if location_id is None:
        if await location_by_code(conn, spec.code) is not None:
            raise CatalogConflictError(f"location {spec.code} already exists")
        raise CatalogConflictError(f"gln {spec.gln} already belongs to another location")
    view = await location_by_code(conn, spec.code)
    assert view is not None
    return view
