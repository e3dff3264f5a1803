"""Reservations, backorder fills and stock alerts: shared by the ledger and orders.

Every path that changes a product's stock or reservations locks the product row
first (``lock_product``), so the decisions here — how much is available, who is
next in the backorder queue, whether an alert rises — are made one at a time per
product, on committed figures. Backorders are filled strictly in queue order
(priority, then order time), partially where stock is short.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from typing import Final

from stock_core.domain.alerts import OUT_OF_STOCK
from stock_core.domain.alerts import evaluate
from stock_core.domain.alerts import evaluate_expired
from stock_core.domain.orders import WaitingLine
from stock_core.domain.orders import moved_dates
from stock_core.store.alerts import sql as alerts_sql
from stock_core.store.connection import Connection
from stock_core.store.expiry import raise_expired_alert
from stock_core.store.orders import sql as q
from stock_core.store.outbox import sql as outbox_sql
from stock_core.store.stock.sql import STOCK_FIGURES

__all__ = [
    "LockedProduct",
    "apply_alerts",
    "emit",
    "emit_availability",
    "fill_backorders",
    "lock_product",
    "refresh_alerts",
    "refresh_etas",
    "reserve",
]

# A reservation changes what is available, not what is on hand: the floor hears it as
# a stock.changed with delta 0 (no ledger row, so no movement id), kind reserve or
# unreserve, and the figures after it.
_AVAILABILITY_CHANGED: Final = (
    """
INSERT INTO outbox (type, payload)
SELECT 'stock.changed', jsonb_build_object(
    'sku', $1::text, 'location', l.code, 'lot', $4::text, 'kind', $5::text, 'zone', l.zone,
    'warehouse', l.warehouse, 'delta', 0, 'reserved_delta', $6::bigint,
    'on_hand', t.loc_on_hand, 'available', t.loc_available,
    'product_on_hand', t.on_hand, 'product_available', t.available,
    'movement_id', NULL, 'scanner', NULL)
FROM locations l, ("""
    + STOCK_FIGURES
    + """) t
WHERE l.id = $3
"""
)


# The fill queue with who waits (for the events) and the date last announced to them.
_WAITING_LINES: Final = """
SELECT ol.id, ol.backordered, ol.reserved, ol.announced_date, o.number, o.priority,
       o.customer, o.customer_email
FROM order_lines ol JOIN orders o ON o.id = ol.order_id
WHERE ol.product_id = $1 AND ol.backordered > 0 AND o.status = 'open'
ORDER BY o.priority DESC, o.created_at, ol.id
FOR UPDATE OF ol
"""

_SET_ANNOUNCED_DATES: Final = """
UPDATE order_lines ol SET announced_date = x.expected
FROM unnest($1::bigint[], $2::date[]) AS x(id, expected)
WHERE ol.id = x.id
"""


@dataclass(frozen=True)
class LockedProduct:
    id: int
    sku: str
    reorder_point: int


async def lock_product(conn: Connection, product_id: int, sku: str) -> LockedProduct:
    reorder_point = await conn.fetchval(q.LOCK_PRODUCT, product_id)
    return LockedProduct(product_id, sku, int(reorder_point or 0))


async def emit(conn: Connection, type_: str, payload: dict[str, Any]) -> None:
    await conn.execute(outbox_sql.INSERT_EVENT, type_, json.dumps(payload, default=str))


async def emit_availability(
    conn: Connection, product: LockedProduct, location_id: int, lot: str, reserved: int
) -> None:
    """Announce that ``reserved`` units (negative: released) changed hands at a row."""
    kind = "reserve" if reserved > 0 else "unreserve"
    await conn.execute(
        _AVAILABILITY_CHANGED, product.sku, product.id, location_id, lot, kind, reserved
    )


async def refresh_alerts(conn: Connection, product: LockedProduct) -> None:
    """Raise or clear ``low_stock``/``out_of_stock`` for the product's available stock,
    and ``expired`` for its expired units."""
    row = await conn.fetchrow(q.PRODUCT_AVAILABILITY, product.id)
    assert row is not None
    available = int(row["available"])
    await apply_alerts(conn, product, available, int(row["expired"]), row["active_alerts"])


async def apply_alerts(
    conn: Connection,
    product: LockedProduct,
    available: int,
    expired: int,
    active: Collection[str],
) -> None:
    """Raise and clear the product's stock alerts for these figures (``active``: the
    kinds up now), each with its event."""
    change = evaluate(available, product.reorder_point, active)
    for kind in change.raise_kinds:
        threshold = 0 if kind == OUT_OF_STOCK else product.reorder_point
        await conn.execute(
            alerts_sql.RAISE_ALERT, product.id, kind, available, threshold, product.sku
        )
    for kind in change.clear_kinds:
        await conn.execute(alerts_sql.CLEAR_ALERT, product.id, kind, product.sku, available)
    change = evaluate_expired(expired, active)
    if change.raise_kinds:
        await raise_expired_alert(conn, product.id, product.sku, available)
    for kind in change.clear_kinds:
        await conn.execute(alerts_sql.CLEAR_ALERT, product.id, kind, product.sku, available)


async def reserve(conn: Connection, product: LockedProduct, line_id: int, quantity: int) -> int:
    """Reserve up to ``quantity`` available units, first expiry first; returns how many."""
    left = quantity
    for row in await conn.fetch(q.LOCK_AVAILABLE_ROWS, product.id):
        if left == 0:
            break
        n = min(left, row["on_hand"] - row["reserved"])
        if n <= 0:
            continue
        done = await conn.fetchval(q.RESERVE_STOCK, product.id, row["location_id"], row["lot"], n)
        assert done is not None, "stock row changed under a product lock"
        await conn.execute(
            q.ADD_RESERVATION, line_id, product.id, row["location_id"], row["lot"], n
        )
        await emit_availability(conn, product, row["location_id"], row["lot"], n)
        left -= n
    return quantity - left


def customer_of(row: Any) -> dict[str, Any]:
    """The customer fields every order and backorder event carries."""
    return {"customer": row["customer"], "customer_email": row["customer_email"]}


async def fill_backorders(conn: Connection, product: LockedProduct) -> int:
    """Give available stock to waiting backorders in queue order; returns units filled.

    The lines still waiting afterwards are told when their expected date moved.
    """
    filled = 0
    waiting = await conn.fetch(_WAITING_LINES, product.id)
    for line in waiting:
        got = await reserve(conn, product, line["id"], line["backordered"])
        if got == 0:
            break
        remaining = await conn.fetchval(q.FILL_LINE, line["id"], got)
        filled += got
        await emit(
            conn,
            "backorder.filled",
            {
                "order": line["number"],
                "sku": product.sku,
                "quantity": got,
                "remaining": remaining,
                **customer_of(line),
            },
        )
        if remaining:
            break  # stock ran out part-way through this line
    if waiting:
        await refresh_etas(conn, product)
    return filled


async def refresh_etas(
    conn: Connection, product: LockedProduct, new_lines: Collection[int] = ()
) -> dict[int, Any]:
    """Recompute the expected dates of the product's waiting lines (the product locked).

    Each line whose date moved from the one announced gets a ``backorder.eta_changed``;
    lines in ``new_lines`` (created in this transaction) only have their date recorded.
    Returns the new lines' dates by line id.
    """
    rows = await conn.fetch(_WAITING_LINES, product.id)
    if not rows:
        return {}
    supply = [
        (r["expected_date"], r["remaining"]) for r in await conn.fetch(q.OPEN_SUPPLY, product.id)
    ]
    lines = [WaitingLine(r["backordered"], r["announced_date"], r["id"] in new_lines) for r in rows]
    moved = moved_dates(lines, supply)
    if not moved:
        return {}
    await conn.execute(
        _SET_ANNOUNCED_DATES, [rows[i]["id"] for i, _, _ in moved], [d for _, d, _ in moved]
    )
    found: dict[int, Any] = {}
    for index, expected, announce in moved:
        row = rows[index]
        if not announce:
            found[row["id"]] = expected
            continue
        await emit(
            conn,
            "backorder.eta_changed",
            {
                "order": row["number"],
                "sku": product.sku,
                "quantity": row["backordered"],
                "position": index + 1,
                "expected_date": expected,
                "previous_expected_date": row["announced_date"],
                **customer_of(row),
            },
        )
    return found
