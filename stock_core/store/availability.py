"""Availability for storefronts: many products' figures in one statement.

One read per request, whatever the number of SKUs (up to
:data:`~stock_core.domain.availability.MAX_SKUS`): each product's available units
(expired lots are never available), its
waiting backorders in fill order and its open purchase order lines by date, judged by
:func:`stock_core.domain.availability.availability`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from stock_core.domain.availability import Availability
from stock_core.domain.availability import ProductSupply
from stock_core.domain.availability import availability
from stock_core.store.connection import Connection

__all__ = ["AVAILABILITY_OF_SKUS", "availability_of"]

AVAILABILITY_OF_SKUS: Final = """
SELECT p.sku, p.reorder_point, p.backorder_allowed,
       coalesce(s.available, 0)::bigint AS available,
       coalesce(w.waiting, '{}') AS waiting,
       coalesce(u.dates, '{}') AS supply_dates,
       coalesce(u.units, '{}') AS supply_units
FROM products p
LEFT JOIN LATERAL (
    SELECT sum(on_hand - reserved) FILTER (WHERE stockd_available(expiry, quarantined)) AS available
    FROM stock WHERE product_id = p.id
) s ON true
LEFT JOIN LATERAL (
    SELECT array_agg(ol.backordered ORDER BY o.priority DESC, o.created_at, ol.id) AS waiting
    FROM order_lines ol JOIN orders o ON o.id = ol.order_id
    WHERE ol.product_id = p.id AND ol.backordered > 0 AND o.status = 'open'
) w ON true
LEFT JOIN LATERAL (
    SELECT array_agg(po.expected_date ORDER BY po.expected_date, po.id) AS dates,
           array_agg(pol.quantity - pol.received ORDER BY po.expected_date, po.id) AS units
    FROM purchase_order_lines pol JOIN purchase_orders po ON po.id = pol.po_id
    WHERE pol.product_id = p.id AND po.status = 'open' AND pol.quantity > pol.received
) u ON true
WHERE p.sku = ANY($1::text[])
"""


async def availability_of(conn: Connection, skus: Sequence[str]) -> dict[str, Availability]:
    """Each known SKU's availability (unknown SKUs are absent)."""
    rows = await conn.fetch(AVAILABILITY_OF_SKUS, list(skus))
    return {
        r["sku"]: availability(
            ProductSupply(
                sku=r["sku"],
                available=int(r["available"]),
                reorder_point=r["reorder_point"],
                backorder_allowed=r["backorder_allowed"],
                waiting=r["waiting"],
                supply=list(zip(r["supply_dates"], r["supply_units"], strict=True)),
            )
        )
        for r in rows
    }
