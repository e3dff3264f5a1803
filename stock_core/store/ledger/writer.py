"""One envelope applied on one connection: the row-at-a-time path of the ledger.

Receipts (against a purchase order or not), picks (first expiry first, or against an
order's reservations), adjustments, counts (``count.py``), moves between locations,
returns, scrap, transfers between warehouses (``transfer.py``) and undos: each changes
stock, writes its ledger rows with their events and keeps the alerts and backorders of
the products it touched in step, inside a transaction the caller owns."""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from typing import Final

import asyncpg

from stock_core.domain.allocation import Reservation
from stock_core.domain.allocation import release_reserved
from stock_core.domain.allocation import take_reserved
from stock_core.domain.movement import Adjust
from stock_core.domain.movement import Command
from stock_core.domain.movement import Count
from stock_core.domain.movement import Move
from stock_core.domain.movement import MovementKind
from stock_core.domain.movement import MovementOutcome
from stock_core.domain.movement import Pick
from stock_core.domain.movement import Receive
from stock_core.domain.movement import ReceiveTransfer
from stock_core.domain.movement import Return
from stock_core.domain.movement import Scrap
from stock_core.domain.movement import ShipTransfer
from stock_core.domain.movement import Undo
from stock_core.domain.movement import request_fingerprint
from stock_core.domain.movement import validate_command
from stock_core.domain.serial import SerialStatus
from stock_core.domain.serial import status_after
from stock_core.errors import InsufficientStockError
from stock_core.errors import InvalidMovementError
from stock_core.errors import NothingToUndoError
from stock_core.errors import NotQuarantineError
from stock_core.store.ledger import sql as q
from stock_core.store.ledger.count import count
from stock_core.store.ledger.idempotency import replay
from stock_core.store.ledger.rows import PostedProduct
from stock_core.store.ledger.rows import RowWriter
from stock_core.store.ledger.rows import Taken
from stock_core.store.ledger.transfer import check_in_transit
from stock_core.store.ledger.transfer import receive_transfer
from stock_core.store.ledger.transfer import reverse_transfer_row
from stock_core.store.ledger.transfer import ship_transfer
from stock_core.store.orders import order_shipped
from stock_core.store.orders import sql as orders_sql
from stock_core.store.orders.reservation import emit
from stock_core.store.orders.reservation import emit_availability
from stock_core.store.orders.reservation import fill_backorders
from stock_core.store.orders.reservation import refresh_alerts
from stock_core.store.serials import serial_before
from stock_core.types import ReasonCode

__all__ = ["Writer"]


def _units(
    product: PostedProduct, serials: tuple[str, ...], quantity: int
) -> Iterator[tuple[str | None, int]]:
    """What a receipt or return adds, step by step: one unit per serial, else all at once."""
    if serials:
        for serial in serials:
            yield serial, 1
    else:
        yield None, quantity * product.pack_size


def _reservations(rows: Sequence[asyncpg.Record]) -> list[Reservation]:
    return [Reservation(r["location_id"], r["lot"], r["expiry"], r["quantity"]) for r in rows]


class Writer(RowWriter):
    """Applies one envelope on one connection, inside a transaction the caller owns."""

    async def receive(self, cmd: Receive) -> None:
        product = await self.product(cmd.product)
        location = await self.location(cmd.location)
        await self.add_units(
            MovementKind.RECEIVE, cmd, product, location, purchase_order=cmd.purchase_order
        )

    async def add_units(
        self,
        kind: MovementKind,
        cmd: Receive | Return,
        product: PostedProduct,
        location: tuple[int, str],
        *,
        purchase_order: str | None = None,
        reason: ReasonCode | None = None,
    ) -> None:
        """A receipt's or a return's units into ``location``: one row, or one per serial
        (each refused when it is in stock or in transit already)."""
        self.check_tracking(product, cmd.serials, cmd.lot, arriving=True)
        lot = cmd.lot or ""
        for serial, units in _units(product, cmd.serials, cmd.quantity):
            if serial is not None:
                await self.arriving(product, serial)
            await self.make_room(location, product, units)
            if purchase_order is not None:
                await self.receive_against_po(purchase_order, product, units)
            after = await self.increment(product, location, lot, cmd.expiry, units)
            await self.write_row(
                kind,
                product,
                location,
                lot,
                cmd.expiry,
                units,
                after,
                cmd.note,
                reason=reason,
                serial=serial,
            )

    async def receive_against_po(self, number: str, product: PostedProduct, units: int) -> None:
        row = await self.conn.fetchrow(q.RECEIVE_PO_LINE, number, product.id, units)
        if row is None:
            raise InvalidMovementError(f"{product.sku} is not on open purchase order {number}")
        self._po_id = row["id"]
        await emit(
            self.conn,
            "purchase_order.received",
            {
                "purchase_order": number,
                "sku": product.sku,
                "quantity": units,
                "received": row["received"],
                "ordered": row["quantity"],
            },
        )
        if await self.conn.fetchval(q.CLOSE_PO_IF_RECEIVED, row["id"]):
            await emit(self.conn, "purchase_order.closed", {"purchase_order": number})

    async def pick_for_order(
        self,
        cmd: Pick,
        product: PostedProduct,
        location: tuple[int, str],
        units: int,
        serial: str | None = None,
    ) -> None:
        """Pick against an order: consume its reservations, here first, then elsewhere."""
        number = str(cmd.order)
        line = await self.conn.fetchrow(q.LOCK_ORDER_LINE_FOR_PICK, number, product.id)
        if line is None:
            raise InvalidMovementError(f"{product.sku} is not on order {number}")
        if line["status"] != "open":
            raise InvalidMovementError(f"order {number} is {line['status']}")
        if units > line["reserved"]:
            raise InsufficientStockError(
                product.sku, f"order {number} (reserved)", units, line["reserved"]
            )
        self._order_id = line["order_id"]
        left = units
        held = _reservations(await self.conn.fetch(q.LINE_RESERVATIONS, line["id"], location[0]))
        for take in take_reserved(held, location[0], cmd.lot, units):
            after = await self.conn.fetchval(
                q.PICK_RESERVED_STOCK, product.id, location[0], take.lot, take.units
            )
            assert after is not None, "reserved stock vanished under a product lock"
            await self.conn.execute(
                q.TAKE_RESERVATION, line["id"], location[0], take.lot, take.units
            )
            await self.write_row(
                MovementKind.PICK,
                product,
                location,
                take.lot,
                take.expiry,
                -take.units,
                after,
                cmd.note,
                serial=serial,
            )
            left -= take.units
        if left:
            # Picked somewhere other than where the order's stock was held: take it from
            # what is free here, then let go of as much held elsewhere.
            parts: list[Taken]
            if cmd.lot is not None:
                after = await self.decrement(product, location, cmd.lot, left, picking=True)
                parts = [Taken(cmd.lot, None, left, after)]
            else:
                parts = await self.take_fefo(product, location, left)
            for lot, expiry, n, after in parts:
                await self.write_row(
                    MovementKind.PICK,
                    product,
                    location,
                    lot,
                    expiry,
                    -n,
                    after,
                    cmd.note,
                    serial=serial,
                )
            rows = await self.conn.fetch(q.LINE_RESERVATIONS, line["id"], location[0])
            for release in release_reserved(_reservations(rows), left):
                where, lot, n = release.location_id, release.lot, release.units
                await self.conn.execute(orders_sql.UNRESERVE_STOCK, product.id, where, lot, n)
                await emit_availability(self.conn, await self.lock(product), where, lot, -n)
                await self.conn.execute(q.TAKE_RESERVATION, line["id"], where, lot, n)
            self._refill.add(product.id)  # what was let go may fill another backorder
        picked = await self.conn.fetchrow(q.PICK_LINE, line["id"], units)
        assert picked is not None
        await emit(
            self.conn,
            "order.picked",
            {
                "order": number,
                "sku": product.sku,
                "quantity": units,
                "picked": picked["picked"],
                "ordered": picked["quantity"],
            },
        )
        if await self.conn.fetchval(q.COMPLETE_ORDER_IF_PICKED, line["order_id"]):
            await emit(self.conn, "order.completed", {"order": number})
            await order_shipped(self.conn, line["order_id"])

    async def pick(self, cmd: Pick) -> None:
        product = await self.product(cmd.product)
        location = await self.location(cmd.location)
        self.check_tracking(product, cmd.serials, cmd.lot)
        units = cmd.quantity * product.pack_size
        if cmd.serials:
            for serial in cmd.serials:
                held = await self.departing(product, serial, location)
                if cmd.order is not None:
                    one = replace(cmd, lot=held.lot, quantity=1, serials=())
                    await self.pick_for_order(one, product, location, 1, serial)
                    continue
                after = await self.decrement(product, location, held.lot, 1, picking=True)
                await self.write_row(
                    MovementKind.PICK,
                    product,
                    location,
                    held.lot,
                    None,
                    -1,
                    after,
                    cmd.note,
                    serial=serial,
                )
            return
        if cmd.order is not None:
            await self.pick_for_order(cmd, product, location, units)
            return
        if cmd.lot is not None:
            after = await self.decrement(product, location, cmd.lot, units, picking=True)
            await self.write_row(
                MovementKind.PICK, product, location, cmd.lot, None, -units, after, cmd.note
            )
            return
        for lot, expiry, n, after in await self.take_fefo(product, location, units):
            await self.write_row(
                MovementKind.PICK, product, location, lot, expiry, -n, after, cmd.note
            )

    async def return_(self, cmd: Return) -> None:
        product = await self.product(cmd.product)
        location = await self.location(cmd.location)
        if await self.conn.fetchval(q.LOCATION_TYPE, location[0]) != "quarantine":
            raise NotQuarantineError(location[1])
        await self.add_units(MovementKind.RETURN, cmd, product, location, reason=cmd.reason)

    async def scrap(self, cmd: Scrap) -> None:
        product = await self.product(cmd.product)
        location = await self.location(cmd.location)
        self.check_tracking(product, cmd.serials, cmd.lot)
        units = cmd.quantity * product.pack_size
        parts: list[tuple[str | None, Taken]] = []
        if cmd.serials:
            for serial in cmd.serials:
                held = await self.departing(product, serial, location)
                after = await self.decrement(product, location, held.lot, 1)
                parts.append((serial, Taken(held.lot, None, 1, after)))
        elif cmd.lot is not None:
            after = await self.decrement(product, location, cmd.lot, units)
            parts = [(None, Taken(cmd.lot, None, units, after))]
        else:
            taken = await self.take_fefo(product, location, units, picking=False, expired_too=True)
            parts = [(None, t) for t in taken]
        for named, (lot, expiry, n, after) in parts:
            await self.write_row(
                MovementKind.SCRAP,
                product,
                location,
                lot,
                expiry,
                -n,
                after,
                cmd.note,
                reason=cmd.reason,
                serial=named,
            )

    async def adjust(self, cmd: Adjust) -> None:
        product = await self.product(cmd.product)
        location = await self.location(cmd.location)
        self.check_tracking(product, (), cmd.lot)
        lot = cmd.lot or ""
        if cmd.delta > 0:
            after = await self.increment(product, location, lot, None, cmd.delta)
        else:
            after = await self.decrement(product, location, lot, -cmd.delta)
        await self.write_row(
            MovementKind.ADJUST, product, location, lot, None, cmd.delta, after, cmd.note
        )

    async def move(self, cmd: Move) -> None:
        source = await self.location(cmd.from_location)
        target = await self.location(cmd.to_location)
        for line in cmd.lines:
            product = await self.product(line.product)
            self.check_tracking(product, line.serials, line.lot)
            if line.serials:
                await self.move_serials(product, source, target, line.serials, cmd.note)
                continue
            units = line.quantity * product.pack_size
            if line.lot is not None:
                after = await self.decrement(product, source, line.lot, units)
                expiry = line.expiry
                if expiry is None:  # the lot keeps its date where it goes
                    held = await self.conn.fetchrow(q.STOCK_ROW, product.id, source[0], line.lot)
                    expiry = None if held is None else held["expiry"]
                parts = [Taken(line.lot, expiry, units, after)]
            else:
                parts = await self.take_fefo(product, source, units, picking=False)
            await self.make_room(target, product, units)
            for lot, expiry, n, out_after in parts:
                await self.write_row(
                    MovementKind.MOVE_OUT, product, source, lot, expiry, -n, out_after, cmd.note
                )
                in_after = await self.increment(product, target, lot, expiry, n)
                await self.write_row(
                    MovementKind.MOVE_IN, product, target, lot, expiry, n, in_after, cmd.note
                )

    async def move_serials(
        self,
        product: PostedProduct,
        source: tuple[int, str],
        target: tuple[int, str],
        serials: tuple[str, ...],
        note: str | None,
    ) -> None:
        """Each serial from ``source`` (where it must be) to ``target``, in its own lot."""
        for serial in serials:
            lot, expiry, _, out_after = await self.serial_leaves(
                product, serial, source, picking=False
            )
            await self.make_room(target, product, 1)
            await self.write_row(
                MovementKind.MOVE_OUT,
                product,
                source,
                lot,
                expiry,
                -1,
                out_after,
                note,
                serial=serial,
            )
            await self.serial_arrives(
                MovementKind.MOVE_IN, product, target, lot, expiry, serial, note
            )

    async def undo(self, cmd: Undo) -> None:
        if cmd.movement_id is not None:
            original = await self.conn.fetchrow(q.MOVEMENT_BY_ID, cmd.movement_id)
            if original is None:
                raise NothingToUndoError(f"no movement {cmd.movement_id}")
            if original["kind"] == MovementKind.UNDO:
                raise InvalidMovementError("an undo cannot itself be undone: post a new movement")
            key = original["idempotency_key"]
        else:
            key = await self.conn.fetchval(q.FIND_LAST_UNDOABLE_KEY, cmd.scanner)
            if key is None:
                raise NothingToUndoError(f"nothing left to undo for scanner {cmd.scanner}")
        rows = await self.conn.fetch(q.UNREVERSED_ROWS_OF_KEY, key)
        if not rows:
            raise NothingToUndoError("that movement was already undone")
        first = min(row["id"] for row in rows)
        for row in rows:
            product = PostedProduct(row["product_id"], row["sku"], 1)
            await self.lock(product)
            location = (row["location_id"], row["location"])
            delta = -row["delta"]
            serial: str | None = row["serial"]
            gone: SerialStatus | None = None
            self.transfer = None
            on_transfer = None
            if row["transfer_id"] is not None:
                on_transfer = await reverse_transfer_row(self, row)
            if serial is not None and delta > 0 and on_transfer is not None:
                # a shipment undone: the serial comes back off the transfer
                await check_in_transit(self, product, serial, *on_transfer)
            elif serial is not None and delta > 0:
                await self.arriving(product, serial)
            elif serial is not None:
                await self.departing(product, serial, location)
                gone = await self.status_before(product, serial, first)
            if delta > 0:
                after = await self.increment(product, location, row["lot"], row["expiry"], delta)
            elif delta < 0:
                after = await self.decrement(product, location, row["lot"], -delta)
            else:
                current = await self.conn.fetchrow(q.STOCK_ROW, product.id, location[0], row["lot"])
                after = 0 if current is None else int(current["on_hand"])
            await self.write_row(
                MovementKind.UNDO,
                product,
                location,
                row["lot"],
                row["expiry"],
                delta,
                after,
                cmd.note,
                reverses=row["id"],
                serial=serial,
                gone=gone,
            )

    async def status_before(
        self, product: PostedProduct, serial: str, before_id: int
    ) -> SerialStatus | None:
        """Where ``serial`` was before ledger row ``before_id`` (``None``: nowhere yet);
        in stock there means the undo puts it back itself (a move's first half)."""
        before = await serial_before(self.conn, product.id, serial, before_id)
        if before is None:
            return None
        if before["delta"] > 0:
            return SerialStatus.MISSING
        return status_after(before["kind"], before["delta"])

    async def apply(self) -> MovementOutcome:
        command = self.env.command
        validate_command(command)
        fingerprint = request_fingerprint(self.env)
        inserted = await self.conn.fetchval(q.INSERT_IDEMPOTENCY_KEY, self.env.key, fingerprint)
        if inserted is None:
            return await replay(self.conn, self.env.key, fingerprint)
        await _STEPS[type(command)](self, command)
        return await self.settle()

    async def settle(self) -> MovementOutcome:
        """Fill backorders where stock grew, refresh alerts: the end of every write."""
        for product in self._locked.values():
            if product.id in self._refill:
                await fill_backorders(self.conn, product)
            await refresh_alerts(self.conn, product)
        return MovementOutcome(self.env.key, tuple(self.records))


_STEPS: Final[Mapping[type[Command], Callable[[Writer, Any], Awaitable[None]]]] = {
    Receive: Writer.receive,
    Pick: Writer.pick,
    Adjust: Writer.adjust,
    Count: count,
    Move: Writer.move,
    Undo: Writer.undo,
    Return: Writer.return_,
    Scrap: Writer.scrap,
    ShipTransfer: ship_transfer,
    ReceiveTransfer: receive_transfer,
}
"""What each command does, by its type: :meth:`Writer.apply`'s step between claiming
the key and settling."""
