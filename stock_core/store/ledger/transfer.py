"""Transfers between warehouses on the ledger's row-at-a-time path: shipping (units leave
a location of one warehouse and are in transit), receiving (they arrive at a location of
the destination) and undoing either. Rules: :mod:`stock_core.domain.warehouse`.

Each step writes its ``transfer_out`` / ``transfer_in`` rows (naming the transfer),
changes the transfer's lines and status and emits ``transfer.shipped``,
``transfer.received`` and ``transfer.closed``, in the envelope's transaction."""

from __future__ import annotations

import asyncpg

from stock_core.domain.movement import Line, MovementKind, ReceiveTransfer, ShipTransfer
from stock_core.domain.serial import Tracking
from stock_core.domain.warehouse import (
    LotInTransit,
    TransferStatus,
    allocate_receipt,
    transfer_status,
)
from stock_core.errors import (
    ConflictError,
    InvalidMovementError,
    NotInTransitError,
    TrackingError,
    UnknownTransferError,
    UnknownWarehouseError,
    WrongWarehouseError,
)
from stock_core.store.ledger import sql as q
from stock_core.store.ledger.rows import PostedProduct, RowWriter, Taken
from stock_core.store.orders.reservation import emit
from stock_core.store.transfers import sql as tq

__all__ = ["receive_transfer", "reverse_transfer_row", "ship_transfer"]


async def _product(w: RowWriter, line: Line) -> PostedProduct:
    """The line's product; serial-tracked products do not travel on transfers yet."""
    product = await w.product(line.product)
    w.check_tracking(product, line.serials, line.lot)
    if product.tracking is Tracking.SERIAL:
        raise TrackingError(
            product.sku,
            product.tracking,
            f"{product.sku} is serial-tracked: transfers do not carry serials yet",
        )
    return product


async def _open_transfer(w: RowWriter, cmd: ShipTransfer, source: tuple[int, str]) -> int:
    """The transfer ``cmd`` ships against: made now (with ``to_warehouse``) or an
    existing one nothing was received of yet, from ``source``'s warehouse."""
    number = cmd.transfer
    here = await w.conn.fetchval(tq.LOCATION_WAREHOUSE, source[0])
    if cmd.to_warehouse is not None:
        if not await w.conn.fetchval(tq.WAREHOUSE_EXISTS, cmd.to_warehouse):
            raise UnknownWarehouseError(cmd.to_warehouse)
        if cmd.to_warehouse == here:
            raise InvalidMovementError(
                f"a transfer goes to another warehouse: {source[1]} is in {here} already"
            )
        made = await w.conn.fetchval(
            tq.INSERT_TRANSFER, number, here, cmd.to_warehouse, source[0], w.env.actor, w.env.key
        )
        if made is None:
            raise ConflictError(f"transfer {number} already exists")
        return int(made)
    row = await w.conn.fetchrow(tq.LOCK_TRANSFER, number)
    if row is None:
        raise UnknownTransferError(number)
    if row["status"] != TransferStatus.IN_TRANSIT:
        raise ConflictError(
            f"transfer {number} is {row['status']}: its receipt has begun, ship a new transfer"
        )
    if row["from_warehouse"] != here:
        raise WrongWarehouseError(
            source[1], here, row["from_warehouse"], f" (transfer {number} ships from there)"
        )
    return int(row["id"])


async def ship_transfer(w: RowWriter, cmd: ShipTransfer) -> None:
    source = await w.location(cmd.from_location)
    transfer_id = await _open_transfer(w, cmd, source)
    w.transfer = (transfer_id, cmd.transfer)
    shipped = []
    for line in cmd.lines:
        product = await _product(w, line)
        units = line.quantity * product.pack_size
        parts: list[Taken]
        if line.lot is not None:
            after = await w.decrement(product, source, line.lot, units, picking=True)
            held = await w.conn.fetchrow(q.STOCK_ROW, product.id, source[0], line.lot)
            parts = [Taken(line.lot, None if held is None else held["expiry"], units, after)]
        else:
            parts = await w.take_fefo(product, source, units)
        for lot, expiry, n, after in parts:
            await w.write_row(
                MovementKind.TRANSFER_OUT, product, source, lot, expiry, -n, after, cmd.note
            )
            await w.conn.execute(tq.ADD_SHIPPED, transfer_id, product.id, lot, expiry, n)
            shipped.append({"sku": product.sku, "lot": lot, "quantity": n})
    transfer = await w.conn.fetchrow(tq.TRANSFER_BY_NUMBER, cmd.transfer)
    assert transfer is not None
    await emit(
        w.conn,
        "transfer.shipped",
        {
            "transfer": cmd.transfer,
            "from_warehouse": transfer["from_warehouse"],
            "to_warehouse": transfer["to_warehouse"],
            "location": source[1],
            "lines": shipped,
            "status": transfer["status"],
            "scanner": w.env.scanner,
            "actor": w.env.actor,
        },
    )


async def _settle_status(w: RowWriter, transfer_id: int) -> TransferStatus:
    figures = await w.conn.fetch(tq.LINE_FIGURES, transfer_id)
    status = transfer_status([(r["quantity"], r["received"]) for r in figures])
    await w.conn.execute(tq.SET_TRANSFER_STATUS, transfer_id, status.value)
    return status


async def receive_transfer(w: RowWriter, cmd: ReceiveTransfer) -> None:
    number = cmd.transfer
    row = await w.conn.fetchrow(tq.LOCK_TRANSFER, number)
    if row is None:
        raise UnknownTransferError(number)
    target = await w.location(cmd.location)
    here = await w.conn.fetchval(tq.LOCATION_WAREHOUSE, target[0])
    if here != row["to_warehouse"]:
        raise WrongWarehouseError(
            target[1], here, row["to_warehouse"], f" (transfer {number} goes there)"
        )
    w.transfer = (row["id"], number)
    received = []
    for line in cmd.lines:
        product = await _product(w, line)
        units = line.quantity * product.pack_size
        lots = [
            LotInTransit(r["lot"], r["expiry"], r["quantity"] - r["received"])
            for r in await w.conn.fetch(tq.LOCK_TRANSFER_LINES, row["id"], product.id)
        ]
        parts = allocate_receipt(lots, units, line.lot)
        if parts is None:
            coming = sum(x.in_transit for x in lots if line.lot is None or x.lot == line.lot)
            raise NotInTransitError(number, product.sku, units, coming)
        await w.make_room(target, product, units)
        for part in parts:
            done = await w.conn.fetchval(
                tq.ADD_RECEIVED, row["id"], product.id, part.lot, part.units
            )
            assert done is not None, "transfer line changed under its lock"
            after = await w.increment(product, target, part.lot, part.expiry, part.units)
            await w.write_row(
                MovementKind.TRANSFER_IN,
                product,
                target,
                part.lot,
                part.expiry,
                part.units,
                after,
                cmd.note,
            )
            received.append({"sku": product.sku, "lot": part.lot, "quantity": part.units})
    status = await _settle_status(w, row["id"])
    await emit(
        w.conn,
        "transfer.received",
        {
            "transfer": number,
            "from_warehouse": row["from_warehouse"],
            "to_warehouse": row["to_warehouse"],
            "location": target[1],
            "lines": received,
            "status": status.value,
            "scanner": w.env.scanner,
            "actor": w.env.actor,
        },
    )
    if status is TransferStatus.RECEIVED and row["status"] != TransferStatus.RECEIVED:
        await emit(w.conn, "transfer.closed", {"transfer": number})


async def reverse_transfer_row(w: RowWriter, row: asyncpg.Record) -> None:
    """Before an undo row reverses a transfer's row: take what it shipped off the
    transfer (never below what was received) or what it received back into transit."""
    number = await w.conn.fetchval(tq.LOCK_TRANSFER_BY_ID, row["transfer_id"])
    assert number is not None
    args = (row["transfer_id"], row["product_id"], row["lot"], abs(row["delta"]))
    if row["kind"] == MovementKind.TRANSFER_OUT:
        if await w.conn.fetchval(tq.UNSHIP, *args) is None:
            raise InvalidMovementError(
                f"transfer {number}: those units of {row['sku']} were received already; "
                "undo the receipt first"
            )
    elif await w.conn.fetchval(tq.UNRECEIVE, *args) is None:  # pragma: no cover - ledger guard
        raise InvalidMovementError(f"transfer {number}: that receipt was undone already")
    await _settle_status(w, row["transfer_id"])
    w.transfer = (row["transfer_id"], number)
