"""SQL of stock reads: one product's stock, the stock list, the floor snapshot, location lookup.

Every statement a named ``Final`` constant, named for what it does.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "FIND_LOCATION",
    "LIST_STOCK_OF_SKU",
    "LIST_STOCK_PRODUCTS",
    "PRODUCT_ORDER_FIGURES",
    "PRODUCT_WAREHOUSES",
    "SIMULATION_CATALOG",
    "SNAPSHOT_ALERTS",
    "SNAPSHOT_RECENT",
    "SNAPSHOT_RECENT_IN_WAREHOUSE",
    "SNAPSHOT_SCANNERS",
    "SNAPSHOT_STOCK",
    "SNAPSHOT_STOCK_IN_WAREHOUSE",
    "STOCK_FIGURES",
    "STOCK_OF_SKU",
    "STOCK_ROWS_OF_PRODUCTS",
]

STOCK_FIGURES: Final = """
    SELECT coalesce(sum(on_hand) FILTER (WHERE location_id = $3), 0) AS loc_on_hand,
           coalesce(sum(on_hand - reserved)
                    FILTER (WHERE location_id = $3 AND stockd_available(expiry, quarantined)),
                    0) AS loc_available,
           coalesce(sum(on_hand), 0) AS on_hand,
           coalesce(sum(on_hand - reserved) FILTER (WHERE stockd_available(expiry, quarantined)),
                    0) AS available
    FROM stock WHERE product_id = $2
"""
"""A fragment (a subquery) of the statements that write a ``stock.changed`` event, a
ledger row's and a reservation's: the figures the event carries, after the change. On
hand and available at location ``$3`` (``loc_on_hand``, ``loc_available``) and over
every location of product ``$2`` (``on_hand``, ``available``)."""

FIND_LOCATION: Final = """
SELECT id, code, warehouse FROM locations WHERE code = $1
UNION ALL
SELECT id, code, warehouse FROM locations WHERE gln = $1
LIMIT 1
"""

STOCK_OF_SKU: Final = """
SELECT p.sku, l.code AS location, s.lot, s.expiry, s.on_hand, s.reserved,
       stockd_expired(s.expiry) AND NOT s.quarantined AS expired, s.quarantined
FROM products p
LEFT JOIN stock s ON s.product_id = p.id AND (s.on_hand > 0 OR s.reserved > 0)
LEFT JOIN locations l ON l.id = s.location_id
WHERE p.sku = $1
ORDER BY l.code, s.lot
"""

SNAPSHOT_STOCK: Final = """
SELECT p.sku, p.name, p.category, p.reorder_point,
       coalesce(sum(s.on_hand), 0) AS on_hand, coalesce(sum(s.reserved), 0) AS reserved,
       coalesce(sum(s.on_hand - s.reserved)
                FILTER (WHERE stockd_expired(s.expiry) AND NOT s.quarantined), 0) AS expired,
       coalesce(sum(s.on_hand) FILTER (WHERE s.quarantined), 0) AS quarantined,
       coalesce(array_agg(DISTINCT l.zone) FILTER (WHERE s.on_hand > 0 AND l.zone <> ''),
                '{}') AS zones
FROM products p
LEFT JOIN stock s ON s.product_id = p.id
LEFT JOIN locations l ON l.id = s.location_id
GROUP BY p.id
ORDER BY p.sku
LIMIT $1
"""

# A floor page of one warehouse ($2): every product, with that warehouse's figures and,
# per location holding it there, on hand and available (what stock.changed events say
# of a location, so the page keeps the warehouse's totals from them).
SNAPSHOT_STOCK_IN_WAREHOUSE: Final = """
WITH here AS (
    SELECT s.product_id, l.code, l.zone, sum(s.on_hand) AS on_hand,
           sum(s.reserved) AS reserved,
           coalesce(sum(s.on_hand - s.reserved)
                    FILTER (WHERE stockd_expired(s.expiry) AND NOT s.quarantined), 0) AS expired,
           coalesce(sum(s.on_hand) FILTER (WHERE s.quarantined), 0) AS quarantined,
           coalesce(sum(s.on_hand - s.reserved)
                    FILTER (WHERE stockd_available(s.expiry, s.quarantined)), 0) AS available
    FROM stock s JOIN locations l ON l.id = s.location_id
    WHERE l.warehouse = $2 AND (s.on_hand > 0 OR s.reserved > 0)
    GROUP BY 1, 2, 3
)
SELECT p.sku, p.name, p.category, p.reorder_point,
       coalesce(sum(h.on_hand), 0) AS on_hand, coalesce(sum(h.reserved), 0) AS reserved,
       coalesce(sum(h.expired), 0) AS expired, coalesce(sum(h.quarantined), 0) AS quarantined,
       coalesce(array_agg(DISTINCT h.zone) FILTER (WHERE h.on_hand > 0 AND h.zone <> ''),
                '{}') AS zones,
       coalesce(json_agg(json_build_object('location', h.code, 'zone', h.zone,
                                           'on_hand', h.on_hand, 'available', h.available)
                         ORDER BY h.code) FILTER (WHERE h.code IS NOT NULL), '[]')::text
           AS locations
FROM products p LEFT JOIN here h ON h.product_id = p.id
GROUP BY p.id
ORDER BY p.sku
LIMIT $1
"""

SNAPSHOT_ALERTS: Final = """
SELECT a.id AS alert_id, a.kind, p.sku, p.name, a.available, a.threshold, a.raised_at,
       a.acknowledged_at IS NOT NULL AS acknowledged, (a.detail->>'expired')::bigint AS expired
FROM alerts a JOIN products p ON p.id = a.product_id
WHERE a.cleared_at IS NULL
ORDER BY a.id
"""

SNAPSHOT_SCANNERS: Final = """
SELECT id AS scanner, gateway, url, state, detail, mode, location, last_scan_at, last_code,
       counters::text AS counters, updated_at, operator
FROM scanner_states ORDER BY id
"""

SNAPSHOT_RECENT: Final = """
SELECT f.seq, o.ts, o.type, o.payload::text AS payload
FROM feed f JOIN outbox o ON o.id = f.outbox_id
WHERE o.type = ANY($1::text[]) AND f.seq <= $2
ORDER BY f.seq DESC LIMIT $3
"""

# The same for one warehouse ($4): its movements, and the rejections of its scanners
# (and of scanners that name no warehouse).
SNAPSHOT_RECENT_IN_WAREHOUSE: Final = """
SELECT f.seq, o.ts, o.type, o.payload::text AS payload
FROM feed f JOIN outbox o ON o.id = f.outbox_id
WHERE o.type = ANY($1::text[]) AND f.seq <= $2
  AND (o.payload->>'warehouse' = $4
       OR (o.type = 'scan.rejected' AND o.payload->>'warehouse' IS NULL))
ORDER BY f.seq DESC LIMIT $3
"""

# Products for the stock list: $2 sku, $3 location code, $4 zone, $5 below reorder point,
# $8 warehouse; on_order is what open purchase orders still bring, backordered what open
# orders wait for, in_transit what transfers have on the way (to $8 when given).
# Product-wide availability decides "below reorder point"; location/zone filters keep
# products with stock there, a warehouse filter (without a SKU) products with stock there
# or on their way to it.
_PRODUCT_FIGURES: Final = """
SELECT p.id, p.sku, p.name, p.reorder_point,
       t.available AS product_available,
       (SELECT coalesce(sum(pl.quantity - pl.received), 0)
        FROM purchase_order_lines pl JOIN purchase_orders po ON po.id = pl.po_id
        WHERE pl.product_id = p.id AND po.status = 'open' AND pl.received < pl.quantity
       ) AS on_order,
       (SELECT coalesce(sum(ol.backordered), 0)
        FROM order_lines ol JOIN orders o ON o.id = ol.order_id
        WHERE ol.product_id = p.id AND o.status = 'open' AND ol.backordered > 0
       ) AS backordered,
       (SELECT coalesce(sum(tl.quantity - tl.received), 0)
        FROM transfer_lines tl JOIN transfers tr ON tr.id = tl.transfer_id
        WHERE tl.product_id = p.id AND tl.received < tl.quantity
          AND (_WAREHOUSE::text IS NULL OR tr.to_warehouse = _WAREHOUSE)
       ) AS in_transit
FROM products p
CROSS JOIN LATERAL (
    SELECT coalesce(sum(s.on_hand - s.reserved)
                    FILTER (WHERE stockd_available(s.expiry, s.quarantined)), 0) AS available
    FROM stock s WHERE s.product_id = p.id
) t
"""

LIST_STOCK_PRODUCTS: Final = (
    _PRODUCT_FIGURES.replace("_WAREHOUSE", "$8")
    + """WHERE p.id > $1
  AND ($2::text IS NULL OR p.sku = $2)
  AND (($3::text IS NULL AND $4::text IS NULL) OR EXISTS (
        SELECT 1 FROM stock s JOIN locations l ON l.id = s.location_id
        WHERE s.product_id = p.id AND (s.on_hand > 0 OR s.reserved > 0)
          AND ($3::text IS NULL OR l.code = $3) AND ($4::text IS NULL OR l.zone = $4)))
  AND ($8::text IS NULL OR $2::text IS NOT NULL OR EXISTS (
        SELECT 1 FROM stock s JOIN locations l ON l.id = s.location_id
        WHERE s.product_id = p.id AND (s.on_hand > 0 OR s.reserved > 0) AND l.warehouse = $8)
      OR EXISTS (
        SELECT 1 FROM transfer_lines tl JOIN transfers tr ON tr.id = tl.transfer_id
        WHERE tl.product_id = p.id AND tl.received < tl.quantity AND tr.to_warehouse = $8))
  AND (NOT $5::boolean OR t.available <= p.reorder_point)
  AND ($7::text IS NULL
       OR strpos(lower(p.sku), lower($7)) > 0
       OR strpos(lower(p.name), lower($7)) > 0
       OR EXISTS (SELECT 1 FROM product_barcodes b
                  WHERE b.product_id = p.id
                    AND (b.code = $7 OR ($7 ~ '^[0-9]{8,14}$' AND b.code = lpad($7, 14, '0')))))
ORDER BY p.id
LIMIT $6
"""
)

LIST_STOCK_OF_SKU: Final = _PRODUCT_FIGURES.replace("_WAREHOUSE", "$2") + "WHERE p.sku = $1\n"
"""One product's figures as the list gives them ($1 its SKU, $2 the warehouse whose
transfers count as in transit, or null). PostgreSQL keeps one plan for it (a lookup by
SKU); the list's statement, with its "any filter" conditions, is planned afresh on every
call (~0.4 ms of the server's CPU, half of what a ``GET /api/v1/stock/{sku}`` cost it)."""

STOCK_ROWS_OF_PRODUCTS: Final = """
SELECT s.product_id, l.code AS location, l.zone, s.lot, s.expiry, s.on_hand, s.reserved,
       stockd_expired(s.expiry) AND NOT s.quarantined AS expired, s.quarantined, l.warehouse
FROM stock s JOIN locations l ON l.id = s.location_id
WHERE s.product_id = ANY($1::integer[]) AND (s.on_hand > 0 OR s.reserved > 0)
  AND ($2::text IS NULL OR l.code = $2) AND ($3::text IS NULL OR l.zone = $3)
  AND ($4::text IS NULL OR l.warehouse = $4)
ORDER BY s.product_id, l.code, s.lot
"""

# Per product ($1) and warehouse (only $2 when given): on hand and available in its
# locations, and what transfers have on the way to it.
PRODUCT_WAREHOUSES: Final = """
WITH held AS (
    SELECT s.product_id, l.warehouse, sum(s.on_hand) AS on_hand,
           sum(s.on_hand - s.reserved) FILTER (WHERE stockd_available(s.expiry, s.quarantined))
               AS available
    FROM stock s JOIN locations l ON l.id = s.location_id
    WHERE s.product_id = ANY($1::integer[]) AND (s.on_hand > 0 OR s.reserved > 0)
    GROUP BY 1, 2
), coming AS (
    SELECT tl.product_id, tr.to_warehouse AS warehouse,
           sum(tl.quantity - tl.received) AS in_transit
    FROM transfer_lines tl JOIN transfers tr ON tr.id = tl.transfer_id
    WHERE tl.product_id = ANY($1::integer[]) AND tl.received < tl.quantity
    GROUP BY 1, 2
)
SELECT coalesce(h.product_id, c.product_id) AS product_id,
       coalesce(h.warehouse, c.warehouse) AS warehouse,
       coalesce(h.on_hand, 0)::bigint AS on_hand, coalesce(h.available, 0)::bigint AS available,
       coalesce(c.in_transit, 0)::bigint AS in_transit
FROM held h FULL JOIN coming c ON c.product_id = h.product_id AND c.warehouse = h.warehouse
WHERE $2::text IS NULL OR coalesce(h.warehouse, c.warehouse) = $2
ORDER BY 1, 2
"""

PRODUCT_ORDER_FIGURES: Final = """
SELECT
  (SELECT coalesce(sum(pol.quantity - pol.received), 0)
     FROM purchase_order_lines pol JOIN purchase_orders po ON po.id = pol.po_id
    WHERE po.status = 'open' AND pol.product_id = p.id AND pol.quantity > pol.received)
    AS on_order,
  (SELECT coalesce(sum(ol.backordered), 0)
     FROM order_lines ol JOIN orders o ON o.id = ol.order_id
    WHERE o.status = 'open' AND ol.product_id = p.id) AS backordered
FROM products p WHERE p.sku = $1
"""

SIMULATION_CATALOG: Final = """
SELECT b.code, l.code AS location
FROM product_barcodes b
JOIN stock s ON s.product_id = b.product_id AND s.on_hand > 0
JOIN locations l ON l.id = s.location_id
WHERE b.pack_size = 1 AND b.code ~ '^[0-9]{14}$'
ORDER BY s.on_hand DESC
LIMIT $1
"""
