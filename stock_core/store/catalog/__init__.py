"""Loading the catalog: products with barcodes, and locations. All or nothing."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from typing import TypeVar

from stock_core.domain.catalog import LocationRow
from stock_core.domain.catalog import ProductRow
from stock_core.domain.history import HistoryRow
from stock_core.errors import CatalogImportError
from stock_core.errors import ImportProblem
from stock_core.store.catalog import sql as q
from stock_core.store.connection import Connection
from stock_core.store.orders.reservation import LockedProduct
from stock_core.store.orders.reservation import refresh_alerts
from stock_core.store.warehouses import sql as warehouse_sql

__all__ = ["ImportSummary", "load_history", "load_locations", "load_products"]

_CHUNK = 2000

# Existing products whose reorder point the import changes: their alerts are
# evaluated again against the new point once the import has written it.
_REORDER_POINT_CHANGES: Final = """
SELECT p.id, p.sku, ip.reorder_point
FROM products p JOIN import_products ip ON ip.sku = p.sku
WHERE p.reorder_point IS DISTINCT FROM ip.reorder_point
ORDER BY p.id
"""
_T = TypeVar("_T")

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int
    warehouses: tuple[str, ...] = ()
    """Warehouses a locations import created (codes it named that did not exist)."""

    @property
    def total(self) -> int:
        return self.created + self.updated


def _chunks(items: Sequence[_T], progress: Progress | None) -> Iterator[Sequence[_T]]:
    """``items`` in chunks to copy in; ``progress`` hears of each chunk once it is in."""
    for i in range(0, len(items), _CHUNK):
        chunk = items[i : i + _CHUNK]
        yield chunk
        if progress:
            progress(len(chunk))


async def _refuse_conflicts(conn: Connection, checks: Sequence[tuple[str, str]]) -> None:
    """Refuse the import if a check finds lines in conflict with what is stored: each
    check a statement over the import table naming those lines, and the problem of each
    (a template filled in from the row), tried in turn."""
    for query, problem in checks:
        conflicts = await conn.fetch(query)
        if conflicts:
            raise CatalogImportError(
                [ImportProblem(c["line"], problem.format_map(dict(c))) for c in conflicts]
            )


_PRODUCT_CONFLICTS: Final = (
    (q.IMPORT_BARCODE_CONFLICTS, "barcode {code} already belongs to {sku}"),
    (
        q.IMPORT_TRACKING_CONFLICTS,
        "{sku} has {on_hand} units on hand: its tracking changes only while it has none",
    ),
)

_LOCATION_CONFLICTS: Final = (
    (q.IMPORT_GLN_CONFLICTS, "gln {gln} already belongs to {code}"),
    (
        q.IMPORT_QUARANTINE_CONFLICTS,
        "{code} holds {reserved} units reserved for orders: it cannot become a quarantine "
        "location until they are picked",
    ),
    (
        q.IMPORT_WAREHOUSE_CONFLICTS,
        "{code} holds stock in warehouse {warehouse}: it cannot move to {wanted} until it is "
        "empty (ship a transfer instead)",
    ),
)

_HISTORY_CONFLICTS: Final = ((q.IMPORT_HISTORY_UNKNOWN_SKUS, "unknown sku {sku}"),)


async def load_products(
    conn: Connection, rows: Sequence[ProductRow], progress: Progress | None = None
) -> ImportSummary:
    """Upsert products by SKU and replace their barcodes, in one transaction."""
    async with conn.transaction():
        await conn.execute(q.CREATE_IMPORT_PRODUCTS)
        await conn.execute(q.CREATE_IMPORT_BARCODES)
        for chunk in _chunks(rows, progress):
            await conn.copy_records_to_table(
                "import_products",
                records=[
                    (
                        r.line,
                        r.sku,
                        r.name,
                        r.category,
                        r.unit_cost,
                        r.weight_g,
                        r.length_mm,
                        r.width_mm,
                        r.height_mm,
                        r.reorder_point,
                        r.reorder_qty,
                        r.lead_time_days,
                        r.safety_stock,
                        r.backorder_allowed,
                        r.tracking,
                    )
                    for r in chunk
                ],
            )
            await conn.copy_records_to_table(
                "import_barcodes",
                records=[(r.line, r.sku, b.code, b.pack_size) for r in chunk for b in r.barcodes],
            )
        await _refuse_conflicts(conn, _PRODUCT_CONFLICTS)
        moved = await conn.fetch(_REORDER_POINT_CHANGES)
        results = await conn.fetch(q.UPSERT_IMPORTED_PRODUCTS)
        await conn.execute(q.SET_IMPORTED_BACKORDER_ALLOWED)
        await conn.execute(q.SET_IMPORTED_TRACKING)
        await conn.execute(q.DELETE_BARCODES_OF_IMPORTED)
        await conn.execute(q.INSERT_IMPORTED_BARCODES)
        for row in moved:
            await refresh_alerts(conn, LockedProduct(row["id"], row["sku"], row["reorder_point"]))
    created = sum(1 for r in results if r["inserted"])
    return ImportSummary(created=created, updated=len(results) - created)


async def load_locations(
    conn: Connection, rows: Sequence[LocationRow], progress: Progress | None = None
) -> ImportSummary:
    """Upsert locations by code, in one transaction."""
    async with conn.transaction():
        await conn.execute(q.CREATE_IMPORT_LOCATIONS)
        for chunk in _chunks(rows, progress):
            await conn.copy_records_to_table(
                "import_locations",
                records=[
                    (
                        r.line,
                        r.code,
                        r.zone,
                        r.name,
                        r.gln,
                        r.max_weight_g,
                        r.max_volume_cm3,
                        *r.sets_limits,
                        r.type,
                        r.warehouse,
                    )
                    for r in chunk
                ],
            )
        await _refuse_conflicts(conn, _LOCATION_CONFLICTS)
        named = sorted({r.warehouse for r in rows if r.warehouse is not None})
        made = await conn.fetch(warehouse_sql.INSERT_MISSING_WAREHOUSES, named)
        results = await conn.fetch(q.UPSERT_IMPORTED_LOCATIONS)
    created = sum(1 for r in results if r["inserted"])
    return ImportSummary(
        created=created,
        updated=len(results) - created,
        warehouses=tuple(sorted(r["code"] for r in made)),
    )


async def load_history(
    conn: Connection, rows: Sequence[HistoryRow], progress: Progress | None = None
) -> ImportSummary:
    """Upsert past demand by (sku, day), in one transaction; unknown SKUs refuse it all."""
    async with conn.transaction():
        await conn.execute(q.CREATE_IMPORT_HISTORY)
        for chunk in _chunks(rows, progress):
            await conn.copy_records_to_table(
                "import_history", records=[(r.line, r.sku, r.day, r.quantity) for r in chunk]
            )
        await _refuse_conflicts(conn, _HISTORY_CONFLICTS)
        results = await conn.fetch(q.UPSERT_IMPORTED_HISTORY)
    created = sum(1 for r in results if r["inserted"])
    return ImportSummary(created=created, updated=len(results) - created)
