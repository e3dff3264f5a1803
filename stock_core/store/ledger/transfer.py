"""Transfers between warehouses on the ledger's row-at-a-time path: shipping (units leave
a location of one warehouse and are in transit), receiving (they arrive at a location of
the destination) and undoing either. Rules: :mod:`stock_core.domain.warehouse`.

Each step writes its ``transfer_out`` / ``transfer_in`` rows (naming the transfer),
changes the transfer's lines and status and emits ``transfer.shipped``,
``transfer.received`` and ``transfer.closed``, in the envelope's transaction."""

from __future__ import annotations

import asyncpg

from stock_core.domain.movement import Line
from stock_core.domain.movement import MovementKind
from stock_core.domain.movement import ReceiveTransfer
from stock_core.domain.movement import ShipTransfer
from stock_core.domain.serial import SerialState
from stock_core.domain.serial import transit_refusal
from stock_core.domain.warehouse import LotInTransit
from stock_core.domain.warehouse import TransferStatus
from stock_core.domain.warehouse import allocate_receipt
from stock_core.domain.warehouse import transfer_status
from stock_core.errors import ConflictError
from stock_core.errors import InvalidMovementError
from stock_core.errors import NotInTransitError
from stock_core.errors import UnknownTransferError
from stock_core.errors import UnknownWarehouseError
from stock_core.errors import WrongWarehouseError
from stock_core.store.ledger import sql as q
from stock_core.store.ledger.rows import PostedProduct
from stock_core.store.ledger.rows import RowWriter
from stock_core.store.ledger.rows import Taken
from stock_core.store.orders.reservation import emit
from stock_core.store.serials import last_transfer
from stock_core.store.serials import lock_serial
from stock_core.store.transfers import sql as tq

__all__ = ["check_in_transit", "receive_transfer", "reverse_transfer_row", "ship_transfer"]


async def _product(w: RowWriter, line: Line) -> PostedProduct:
    """The line's product; a serial-tracked product's line names its serials."""
    product = await w.product(line.product)
    w.check_tracking(product, line.serials, line.lot)
    return product


async def check_in_transit(
    w: RowWriter, product: PostedProduct, serial: str, transfer_id: int, number: str
) -> SerialState:
    """Lock ``serial`` and refuse it unless it is in transit on this transfer."""
    state = await lock_serial(w.conn, product.id, serial)
    on_it = await last_transfer(w.conn, product.id, serial) == transfer_id
    refusal = transit_refusal(product.sku, serial, state, number, on_it)
    if refusal is not None:
        raise refusal
    assert state is not None
    return state


async def _ship_serials(
    w: RowWriter,
    cmd: ShipTransfer,
    product: PostedProduct,
    source: tuple[int, str],
    serials: tuple[str, ...],
) -> list[dict[str, object]]:
    """Each serial leaves ``source`` (where it must be) and is in transit on the transfer."""
    assert w.transfer is not None
    shipped: list[dict[str, object]] = []
    for serial in serials:
        lot, expiry, _, after = await w.serial_leaves(product, serial, source, picking=True)
        await w.write_row(
            MovementKind.TRANSFER_OUT,
            product,
            source,
            lot,
            expiry,
            -1,
            after,
            cmd.note,
            serial=serial,
        )
        await w.conn.execute(tq.ADD_SHIPPED, w.transfer[0], product.id, lot, expiry, 1)
        shipped.append({"sku": product.sku, "lot": lot, "quantity": 1, "serial": serial})
    return shipped


async def _receive_serials(
    w: RowWriter,
    cmd: ReceiveTransfer,
    product: PostedProduct,
    target: tuple[int, str],
    serials: tuple[str, ...],
) -> list[dict[str, object]]:
    """Each serial, in transit on the transfer, arrives at ``target`` in its own lot."""
    assert w.transfer is not None
    transfer_id, number = w.transfer
    received: list[dict[str, object]] = []
    for serial in serials:
        state = await check_in_transit(w, product, serial, transfer_id, number)
        expiries = {
            r["lot"]: r["expiry"]
            for r in await w.conn.fetch(tq.LOCK_TRANSFER_LINES, transfer_id, product.id)
        }
        await w.make_room(target, product, 1)
        done = await w.conn.fetchval(tq.ADD_RECEIVED, transfer_id, product.id, state.lot, 1)
        assert done is not None, "a serial in transit on a transfer has its line"
        expiry = expiries.get(state.lot)
        await w.serial_arrives(
            MovementKind.TRANSFER_IN, product, target, state.lot, expiry, serial, cmd.note
        )
        received.append({"sku": product.sku, "lot": state.lot, "quantity": 1, "serial": serial})
    return received


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
    shipped: list[dict[str, object]] = []
    for line in cmd.lines:
        product = await _product(w, line)
        if line.serials:
            shipped += await _ship_serials(w, cmd, product, source, line.serials)
            continue
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
    received: list[dict[str, object]] = []
    for line in cmd.lines:
        product = await _product(w, line)
        if line.serials:
            received += await _receive_serials(w, cmd, product, target, line.serials)
            continue
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


async def reverse_transfer_row(w: RowWriter, row: asyncpg.Record) -> tuple[int, str]:
    """Before an undo row reverses a transfer's row: take what it shipped off the
    transfer (never below what was received) or what it received back into transit;
    the transfer (id, number), which the undo row names."""
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
    return w.transfer
