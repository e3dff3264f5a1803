"""Transfers between warehouses: read back (``GET /api/v1/transfers`` and
``/transfers/{number}``) and checked by ``stockd verify``. Shipping and receiving are
ledger commands (:mod:`stock_core.store.ledger.transfer`), posted like every movement."""

from __future__ import annotations

from asyncpg import Record

from stock_core.domain.warehouse import transfer_status
from stock_core.errors import UnknownTransferError
from stock_core.model import Transfer
from stock_core.model import TransferLine
from stock_core.model import TransferLot
from stock_core.store.connection import Connection
from stock_core.store.records import from_record
from stock_core.store.transfers import sql
from stock_core.store.warehouses import require_warehouse

__all__ = ["list_transfers", "transfer_by_number", "transfer_problems"]


async def transfer_by_number(conn: Connection, number: str) -> Transfer:
    """The transfer with its lines (per product, over its lots), or
    :class:`UnknownTransferError`."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        row = await conn.fetchrow(sql.TRANSFER_BY_NUMBER, number)
        if row is None:
            raise UnknownTransferError(number)
        rows = await conn.fetch(sql.LINES_OF_TRANSFERS, [row["id"]])
    return _transfer(row, rows)


async def list_transfers(
    conn: Connection,
    *,
    status: str | None = None,
    warehouse: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[Transfer]:
    """Transfers in the order they were opened, with their lines: of one ``status``,
    from or to one ``warehouse`` (one that does not exist is
    :class:`~stock_core.errors.UnknownWarehouseError`)."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        if warehouse is not None:
            await require_warehouse(conn, warehouse)
        rows = await conn.fetch(sql.LIST_TRANSFERS, after, status, warehouse, limit)
        lines = await conn.fetch(sql.LINES_OF_TRANSFERS, [r["id"] for r in rows]) if rows else []
    of: dict[int, list[Record]] = {}
    for line in lines:
        of.setdefault(line["transfer_id"], []).append(line)
    return [_transfer(row, of.get(row["id"], [])) for row in rows]


def _transfer(row: Record, line_rows: list[Record]) -> Transfer:
    """A transfer from its row and its lines' rows (per product, over its lots)."""
    lots: dict[str, list[TransferLot]] = {}
    for r in line_rows:
        lots.setdefault(r["sku"], []).append(from_record(TransferLot, r))
    lines = tuple(TransferLine(sku, tuple(held)) for sku, held in lots.items())
    return from_record(Transfer, row, lines=lines)


async def transfer_problems(conn: Connection) -> list[str]:
    """What ``stockd verify`` finds wrong with transfers (inside its snapshot)."""
    found = []
    for r in await conn.fetch(sql.VERIFY_TRANSFER_LINES):
        found.append(
            f"transfer {r['number']} {r['sku']} lot {r['lot'] or '-'}: shipped {r['quantity']} "
            f"and received {r['received']}, but its ledger rows ship {r['ledger_shipped']} and "
            f"receive {r['ledger_received']}"
        )
    for r in await conn.fetch(sql.VERIFY_TRANSFER_ROWS):
        found.append(
            f"movement {r['id']} ({r['kind']} of transfer {r['number']}) at {r['location']} "
            f"in warehouse {r['warehouse']} is not where its transfer says"
        )
    for r in await conn.fetch(sql.VERIFY_TRANSFER_STATUS):
        status = transfer_status(list(zip(r["quantities"], r["received"], strict=True)))
        if status != r["status"]:
            found.append(f"transfer {r['number']} is {r['status']} but its lines say {status}")
    return found
