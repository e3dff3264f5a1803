"""Customer orders, backorders and purchase orders.

Creating an order reserves what is available, first expiry first, and backorders the
rest; a line joins the back of its product's queue when others of at least its
priority are already waiting (strict FIFO; a higher priority may jump ahead).
Cancelling releases reservations, which may then fill other backorders. Receipts and
other stock increases fill backorders in the ledger's own transaction
(``reservation.fill_backorders``). An order or purchase order number is its own
idempotency key: creating the same number with the same content again returns it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from stock_core.domain.orders import OrderLineRequest
from stock_core.domain.orders import expected_dates
from stock_core.domain.orders import validate_lines
from stock_core.domain.orders import validate_number
from stock_core.errors import BackorderNotAllowedError
from stock_core.errors import ConflictError
from stock_core.errors import InvalidMovementError
from stock_core.errors import NotFoundError
from stock_core.errors import UnknownProductError
from stock_core.model import Backorder
from stock_core.model import Order
from stock_core.model import OrderLine
from stock_core.model import PurchaseOrder
from stock_core.model import PurchaseOrderLine
from stock_core.store.connection import Connection
from stock_core.store.orders import sql as q
from stock_core.store.orders.reservation import LockedProduct
from stock_core.store.orders.reservation import customer_of
from stock_core.store.orders.reservation import emit
from stock_core.store.orders.reservation import emit_availability
from stock_core.store.orders.reservation import fill_backorders
from stock_core.store.orders.reservation import lock_product
from stock_core.store.orders.reservation import refresh_alerts
from stock_core.store.orders.reservation import refresh_etas
from stock_core.store.orders.reservation import reserve
from stock_core.store.records import from_record

__all__ = [
    "backorders",
    "cancel_order",
    "cancel_purchase_order",
    "create_order",
    "create_purchase_order",
    "get_order",
    "get_purchase_order",
    "list_orders",
    "list_purchase_orders",
    "order_shipped",
    "reschedule_purchase_order",
]


async def _products(conn: Connection, skus: Sequence[str]) -> dict[str, int]:
    rows = await conn.fetch(q.PRODUCTS_BY_SKU, list(skus))
    found = {r["sku"]: r["id"] for r in rows}
    for sku in skus:
        if sku not in found:
            raise UnknownProductError(sku)
    return found


async def _lock_all(conn: Connection, ids: dict[str, int]) -> dict[int, LockedProduct]:
    """Lock products in id order, so two orders never wait on each other in a cycle."""
    return {
        pid: await lock_product(conn, pid, sku)
        for sku, pid in sorted(ids.items(), key=lambda item: item[1])
    }


async def _order_view(conn: Connection, row: Any) -> Order:
    lines = await conn.fetch(q.ORDER_LINES, row["id"])
    return from_record(Order, row, lines=tuple(from_record(OrderLine, r) for r in lines))


async def get_order(conn: Connection, number: str) -> Order:
    row = await conn.fetchrow(q.ORDER_BY_NUMBER, number)
    if row is None:
        raise NotFoundError(f"no order {number}")
    return await _order_view(conn, row)


async def list_orders(
    conn: Connection, *, status: str | None = None, after: int = 0, limit: int = 100
) -> list[Order]:
    return [
        await _order_view(conn, r) for r in await conn.fetch(q.LIST_ORDERS, after, status, limit)
    ]


async def create_order(
    conn: Connection,
    number: str,
    lines: Sequence[OrderLineRequest],
    *,
    priority: int = 0,
    customer: str | None = None,
    customer_email: str | None = None,
) -> tuple[Order, bool]:
    """Create and reserve; returns (order, created). Same number and lines: the first.

    What cannot be reserved is backordered, unless the product refuses backorders: then
    the whole order is refused (:class:`BackorderNotAllowedError`) and nothing changes.
    """
    validate_number(number)
    validate_lines(lines)
    if not 0 <= priority <= 100:
        raise InvalidMovementError("priority must be 0 to 100")
    async with conn.transaction():
        ids = await _products(conn, [line.sku for line in lines])
        # The products are locked before the order is written: its place in each
        # product's queue (created_at, id) is then taken in the order the locks are
        # granted, the order reservations are decided in. Written first, an order that
        # waited for a lock could queue ahead of one that took the stock meanwhile.
        locked = await _lock_all(conn, ids)
        inserted = await conn.fetchrow(q.INSERT_ORDER, number, priority, customer, customer_email)
        if inserted is None:
            existing = await get_order(conn, number)
            asked = [(line.sku, line.quantity) for line in lines]
            if [(x.sku, x.quantity) for x in existing.lines] != asked or (
                existing.priority != priority
            ):
                raise ConflictError(f"order {number} already exists with other lines")
            return existing, False
        order_id = inserted["id"]
        refusing = {r["id"] for r in await conn.fetch(q.REFUSING_BACKORDERS, list(ids.values()))}
        summary = []
        waiting: list[tuple[LockedProduct, int, int]] = []
        for line_no, line in enumerate(lines, start=1):
            product = locked[ids[line.sku]]
            queue_ahead = await conn.fetchval(q.HAS_WAITING_AHEAD, product.id, priority)
            line_id = await conn.fetchval(
                q.INSERT_ORDER_LINE, order_id, line_no, product.id, line.quantity, 0, line.quantity
            )
            got = 0 if queue_ahead else await reserve(conn, product, line_id, line.quantity)
            if got:
                await conn.fetchval(q.FILL_LINE, line_id, got)
            backordered = line.quantity - got
            if backordered and product.id in refusing:
                raise BackorderNotAllowedError(line.sku, line.quantity, got)
            summary.append(
                {
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "reserved": got,
                    "backordered": backordered,
                }
            )
            if backordered:
                waiting.append((product, line_id, backordered))
        customer_fields = {"customer": customer, "customer_email": customer_email}
        dates: dict[int, Any] = {}
        for product in {p.id: p for p, _, _ in waiting}.values():
            new = {line_id for p, line_id, _ in waiting if p.id == product.id}
            dates.update(await refresh_etas(conn, product, new))
        for product, line_id, backordered in waiting:
            await emit(
                conn,
                "backorder.created",
                {
                    "order": number,
                    "sku": product.sku,
                    "quantity": backordered,
                    "expected_date": dates.get(line_id),
                    **customer_fields,
                },
            )
        await emit(
            conn,
            "order.created",
            {"order": number, "priority": priority, "lines": summary, **customer_fields},
        )
        for product in locked.values():
            await refresh_alerts(conn, product)
        return await get_order(conn, number), True


async def cancel_order(conn: Connection, number: str) -> Order:
    async with conn.transaction():
        order = await get_order(conn, number)
        if order.status != "open":
            raise ConflictError(f"order {number} is already {order.status}")
        locked = await _lock_all(conn, await _products(conn, [x.sku for x in order.lines]))
        for held in await conn.fetch(q.ALL_RESERVATIONS_OF_ORDER, order.id):
            done = await conn.fetchval(
                q.UNRESERVE_STOCK,
                held["product_id"],
                held["location_id"],
                held["lot"],
                held["quantity"],
            )
            assert done is not None, "reservation without reserved stock"
            await emit_availability(
                conn,
                locked[held["product_id"]],
                held["location_id"],
                held["lot"],
                -held["quantity"],
            )
        await conn.execute(q.DELETE_RESERVATIONS_OF_ORDER, order.id)
        await conn.execute(q.CLEAR_ORDER_LINES, order.id)
        if await conn.fetchval(q.CANCEL_ORDER, order.id) is None:
            raise ConflictError(f"order {number} changed while cancelling; try again")
        await emit(
            conn,
            "order.cancelled",
            {"order": number, "customer": order.customer, "customer_email": order.customer_email},
        )
        for product in locked.values():
            await fill_backorders(conn, product)
            await refresh_alerts(conn, product)
        return await get_order(conn, number)


async def backorders(conn: Connection, sku: str | None = None) -> list[Backorder]:
    """Waiting backorder lines in fill order, with position and expected date."""
    queue = await conn.fetch(q.BACKORDER_QUEUE, sku)
    product_id = queue[0]["product_id"] if sku is not None and queue else None
    supply: dict[int, list[tuple[date, int]]] = defaultdict(list)
    if queue:
        for row in await conn.fetch(q.OPEN_SUPPLY, product_id):
            supply[row["product_id"]].append((row["expected_date"], row["remaining"]))
    by_product: dict[int, list[Any]] = defaultdict(list)
    for row in queue:
        by_product[row["product_id"]].append(row)
    views: list[Backorder] = []
    for pid, rows in by_product.items():
        dates = expected_dates([r["quantity"] for r in rows], supply[pid])
        for position, (row, expected) in enumerate(zip(rows, dates, strict=True), start=1):
            views.append(
                Backorder(
                    order=row["order"],
                    sku=row["sku"],
                    quantity=row["quantity"],
                    position=position,
                    priority=row["priority"],
                    created_at=row["created_at"],
                    expected_date=expected,
                )
            )
    return views


# -- purchase orders ----------------------------------------------------------------


async def _po_view(conn: Connection, row: Any) -> PurchaseOrder:
    line_rows = await conn.fetch(q.PO_LINES, row["id"])
    lines = tuple(from_record(PurchaseOrderLine, r) for r in line_rows)
    return from_record(PurchaseOrder, row, lines=lines)


async def get_purchase_order(conn: Connection, number: str) -> PurchaseOrder:
    row = await conn.fetchrow(q.PO_BY_NUMBER, number)
    if row is None:
        raise NotFoundError(f"no purchase order {number}")
    return await _po_view(conn, row)


async def list_purchase_orders(
    conn: Connection, *, status: str | None = None, after: int = 0, limit: int = 100
) -> list[PurchaseOrder]:
    return [await _po_view(conn, r) for r in await conn.fetch(q.LIST_POS, after, status, limit)]


async def create_purchase_order(
    conn: Connection,
    number: str,
    expected_date: date,
    lines: Sequence[OrderLineRequest],
    *,
    supplier: str | None = None,
) -> tuple[PurchaseOrder, bool]:
    validate_number(number, "purchase order")
    validate_lines(lines, limit=10_000_000)
    async with conn.transaction():
        ids = await _products(conn, [line.sku for line in lines])
        po_id = await conn.fetchval(q.INSERT_PO, number, supplier, expected_date)
        if po_id is None:
            existing = await get_purchase_order(conn, number)
            same = [(x.sku, x.quantity) for x in existing.lines] == [
                (line.sku, line.quantity) for line in lines
            ] and existing.expected_date == expected_date
            if not same:
                raise ConflictError(f"purchase order {number} already exists with other lines")
            return existing, False
        for line_no, line in enumerate(lines, start=1):
            await conn.execute(q.INSERT_PO_LINE, po_id, line_no, ids[line.sku], line.quantity)
        await emit(
            conn,
            "purchase_order.created",
            {
                "purchase_order": number,
                "expected_date": expected_date.isoformat(),
                "lines": [{"sku": x.sku, "quantity": x.quantity} for x in lines],
            },
        )
        await _refresh_po_etas(conn, po_id)
        return await get_purchase_order(conn, number), True


async def _refresh_po_etas(conn: Connection, po_id: int) -> None:
    """The purchase order's supply changed: re-date its products' waiting backorders."""
    products = {r["sku"]: r["id"] for r in await conn.fetch(q.PO_PRODUCTS, po_id)}
    for product in (await _lock_all(conn, products)).values():
        await refresh_etas(conn, product)


async def reschedule_purchase_order(
    conn: Connection, number: str, expected_date: date
) -> PurchaseOrder:
    """Move an open purchase order's expected date; waiting backorders it covers are told
    their new dates (``backorder.eta_changed``)."""
    async with conn.transaction():
        row = await conn.fetchrow(q.RESCHEDULE_PO, number, expected_date)
        if row is None:
            po = await get_purchase_order(conn, number)
            raise ConflictError(f"purchase order {number} is {po.status}: it cannot move")
        if row["previous"] != expected_date:
            await emit(
                conn,
                "purchase_order.rescheduled",
                {
                    "purchase_order": number,
                    "expected_date": expected_date.isoformat(),
                    "previous_expected_date": row["previous"].isoformat(),
                },
            )
            await _refresh_po_etas(conn, row["id"])
        return await get_purchase_order(conn, number)


async def order_shipped(conn: Connection, order_id: int) -> None:
    """The order's last unit was picked: tell the customer (``order.shipped``)."""
    row = await conn.fetchrow(q.ORDER_SHIPPED, order_id)
    assert row is not None
    await emit(
        conn,
        "order.shipped",
        {"order": row["number"], "lines": json.loads(row["lines"]), **customer_of(row)},
    )


async def cancel_purchase_order(conn: Connection, number: str) -> PurchaseOrder:
    async with conn.transaction():
        if await conn.fetchval(q.CANCEL_PO, number) is None:
            po = await get_purchase_order(conn, number)
            raise ConflictError(f"purchase order {number} is already {po.status}")
        await emit(conn, "purchase_order.cancelled", {"purchase_order": number})
        po = await get_purchase_order(conn, number)
        await _refresh_po_etas(conn, po.id)
        return po
