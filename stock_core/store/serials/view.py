"""A serial as ``GET /api/v1/serials/{sku}/{serial}`` shows it: status, location and
every ledger row that moved it (apart from :mod:`stock_core.store.serials`, which the
ledger writer imports, because it reads the ledger)."""

from __future__ import annotations

from stock_core.domain.serial import reported_status
from stock_core.errors import UnknownProductError
from stock_core.model import SerialView
from stock_core.store.catalog import sql as catalog_sql
from stock_core.store.connection import Connection
from stock_core.store.ledger import sql as ledger_sql
from stock_core.store.ledger.idempotency import record_from_row
from stock_core.store.serials import find_serial

__all__ = ["serial_view"]


async def serial_view(conn: Connection, sku: str, serial: str) -> SerialView | None:
    """The serial of product ``sku``, or ``None`` when it was never in stock."""
    product = await conn.fetchrow(catalog_sql.PRODUCT_BY_SKU, sku)
    if product is None:
        raise UnknownProductError(sku)
    found = await find_serial(conn, product["id"], serial)
    if found is None:
        return None
    state, location_type = found
    rows = await conn.fetch(ledger_sql.MOVEMENTS_OF_SERIAL, product["id"], serial)
    return SerialView(
        sku=sku,
        serial=serial,
        status=reported_status(state.status, location_type).value,
        location=state.location,
        lot=state.lot,
        history=tuple(record_from_row(r) for r in rows),
    )
