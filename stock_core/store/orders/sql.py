"""SQL of customer orders, reservations, backorders and purchase orders.

Every statement a named ``Final`` constant, named for what it does.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ADD_RESERVATION",
    "ALL_RESERVATIONS_OF_ORDER",
    "BACKORDER_QUEUE",
    "CANCEL_ORDER",
    "CANCEL_PO",
    "CLEAR_ORDER_LINES",
    "DELETE_RESERVATIONS_OF_ORDER",
    "FILL_LINE",
    "HAS_WAITING_AHEAD",
    "INSERT_ORDER",
    "INSERT_ORDER_LINE",
    "INSERT_PO",
    "INSERT_PO_LINE",
    "LIST_ORDERS",
    "LIST_POS",
    "LOCK_AVAILABLE_ROWS",
    "LOCK_PRODUCT",
    "OPEN_SUPPLY",
    "ORDER_BY_NUMBER",
    "ORDER_LINES",
    "ORDER_SHIPPED",
    "PO_BY_NUMBER",
    "PO_LINES",
    "PO_PRODUCTS",
    "PRODUCTS_BY_SKU",
    "PRODUCT_AVAILABILITY",
    "REFUSING_BACKORDERS",
    "RESCHEDULE_PO",
    "RESERVE_STOCK",
    "UNRESERVE_STOCK",
    "WAITING_BACKORDERS",
]

LOCK_PRODUCT: Final = "SELECT reorder_point FROM products WHERE id = $1 FOR NO KEY UPDATE"

PRODUCT_AVAILABILITY: Final = """
SELECT coalesce(sum(s.on_hand - s.reserved)
                FILTER (WHERE stockd_available(s.expiry, s.quarantined)), 0) AS available,
       coalesce(sum(s.on_hand - s.reserved)
                FILTER (WHERE stockd_expired(s.expiry) AND NOT s.quarantined), 0) AS expired,
       ARRAY(SELECT kind FROM alerts
             WHERE product_id = $1 AND cleared_at IS NULL AND kind <> 'projected_stockout')
           AS active_alerts
FROM stock s WHERE s.product_id = $1
"""

LOCK_AVAILABLE_ROWS: Final = """
SELECT s.location_id, l.code AS location, s.lot, s.expiry, s.on_hand, s.reserved
FROM stock s JOIN locations l ON l.id = s.location_id
WHERE s.product_id = $1 AND s.on_hand > s.reserved
  AND stockd_available(s.expiry, s.quarantined)  -- not expired, not in quarantine
ORDER BY s.expiry NULLS LAST, s.lot, l.code
FOR UPDATE OF s
"""

RESERVE_STOCK: Final = """
UPDATE stock SET reserved = reserved + $4, updated_at = now()
WHERE product_id = $1 AND location_id = $2 AND lot = $3 AND on_hand - reserved >= $4
RETURNING reserved
"""

UNRESERVE_STOCK: Final = """
UPDATE stock SET reserved = reserved - $4, updated_at = now()
WHERE product_id = $1 AND location_id = $2 AND lot = $3 AND reserved >= $4
RETURNING reserved
"""

ADD_RESERVATION: Final = """
INSERT INTO reservations (order_line_id, product_id, location_id, lot, quantity)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (order_line_id, location_id, lot)
DO UPDATE SET quantity = reservations.quantity + excluded.quantity
"""

WAITING_BACKORDERS: Final = """
SELECT ol.id, ol.backordered, ol.reserved, o.number, o.priority
FROM order_lines ol JOIN orders o ON o.id = ol.order_id
WHERE ol.product_id = $1 AND ol.backordered > 0 AND o.status = 'open'
ORDER BY o.priority DESC, o.created_at, ol.id
FOR UPDATE OF ol
"""

FILL_LINE: Final = """
UPDATE order_lines SET backordered = backordered - $2, reserved = reserved + $2
WHERE id = $1 AND backordered >= $2
RETURNING backordered
"""

INSERT_ORDER: Final = """
INSERT INTO orders (number, priority, customer, customer_email) VALUES ($1, $2, $3, $4)
ON CONFLICT (number) DO NOTHING
RETURNING id, created_at
"""

INSERT_ORDER_LINE: Final = """
INSERT INTO order_lines (order_id, line_no, product_id, quantity, reserved, backordered)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id
"""

HAS_WAITING_AHEAD: Final = """
SELECT EXISTS (
    SELECT 1 FROM order_lines ol JOIN orders o ON o.id = ol.order_id
    WHERE ol.product_id = $1 AND ol.backordered > 0 AND o.status = 'open'
      AND o.priority >= $2
)
"""

ORDER_BY_NUMBER: Final = """
SELECT id, number, priority, status, customer, customer_email, created_at, closed_at
FROM orders WHERE number = $1
"""

ORDER_LINES: Final = """
SELECT ol.id, ol.line_no, p.sku, ol.product_id, ol.quantity, ol.reserved, ol.backordered,
       ol.picked
FROM order_lines ol JOIN products p ON p.id = ol.product_id
WHERE ol.order_id = $1
ORDER BY ol.line_no
"""

CANCEL_ORDER: Final = """
UPDATE orders SET status = 'cancelled', closed_at = now()
WHERE id = $1 AND status = 'open'
RETURNING id
"""

ALL_RESERVATIONS_OF_ORDER: Final = """
SELECT r.order_line_id, r.product_id, r.location_id, r.lot, r.quantity
FROM reservations r JOIN order_lines ol ON ol.id = r.order_line_id
WHERE ol.order_id = $1
FOR UPDATE OF r
"""

DELETE_RESERVATIONS_OF_ORDER: Final = """
DELETE FROM reservations r USING order_lines ol
WHERE ol.id = r.order_line_id AND ol.order_id = $1
"""

CLEAR_ORDER_LINES: Final = """
UPDATE order_lines SET reserved = 0, backordered = 0 WHERE order_id = $1
"""

LIST_ORDERS: Final = """
SELECT id, number, priority, status, customer, customer_email, created_at, closed_at
FROM orders
WHERE id > $1 AND ($2::text IS NULL OR status = $2)
ORDER BY id LIMIT $3
"""

BACKORDER_QUEUE: Final = """
SELECT o.number AS order, p.sku, ol.backordered AS quantity, o.priority, o.created_at,
       ol.product_id
FROM order_lines ol JOIN orders o ON o.id = ol.order_id JOIN products p ON p.id = ol.product_id
WHERE ol.backordered > 0 AND o.status = 'open' AND ($1::text IS NULL OR p.sku = $1)
ORDER BY p.sku, o.priority DESC, o.created_at, ol.id
"""

OPEN_SUPPLY: Final = """
SELECT pol.product_id, po.expected_date, pol.quantity - pol.received AS remaining
FROM purchase_order_lines pol JOIN purchase_orders po ON po.id = pol.po_id
WHERE po.status = 'open' AND pol.quantity > pol.received
  AND ($1::integer IS NULL OR pol.product_id = $1)
ORDER BY pol.product_id, po.expected_date, po.id
"""

INSERT_PO: Final = """
INSERT INTO purchase_orders (number, supplier, expected_date) VALUES ($1, $2, $3)
ON CONFLICT (number) DO NOTHING
RETURNING id
"""

INSERT_PO_LINE: Final = """
INSERT INTO purchase_order_lines (po_id, line_no, product_id, quantity) VALUES ($1, $2, $3, $4)
"""

PO_BY_NUMBER: Final = """
SELECT id, number, supplier, expected_date, status, created_at, closed_at
FROM purchase_orders WHERE number = $1
"""

PO_LINES: Final = """
SELECT pol.line_no, p.sku, pol.product_id, pol.quantity, pol.received
FROM purchase_order_lines pol JOIN products p ON p.id = pol.product_id
WHERE pol.po_id = $1 ORDER BY pol.line_no
"""

CANCEL_PO: Final = """
UPDATE purchase_orders SET status = 'cancelled', closed_at = now()
WHERE number = $1 AND status = 'open'
RETURNING id
"""

LIST_POS: Final = """
SELECT id, number, supplier, expected_date, status, created_at, closed_at
FROM purchase_orders
WHERE id > $1 AND ($2::text IS NULL OR status = $2)
ORDER BY id LIMIT $3
"""

PRODUCTS_BY_SKU: Final = "SELECT id, sku FROM products WHERE sku = ANY($1::text[])"

REFUSING_BACKORDERS: Final = """
SELECT id FROM products WHERE id = ANY($1::integer[]) AND NOT backorder_allowed
"""

ORDER_SHIPPED: Final = """
SELECT o.number, o.customer, o.customer_email,
       json_agg(json_build_object('sku', p.sku, 'quantity', ol.quantity)
                ORDER BY ol.line_no)::text AS lines
FROM orders o JOIN order_lines ol ON ol.order_id = o.id JOIN products p ON p.id = ol.product_id
WHERE o.id = $1
GROUP BY o.id
"""

RESCHEDULE_PO: Final = """
UPDATE purchase_orders po SET expected_date = $2
FROM purchase_orders old
WHERE po.id = old.id AND po.number = $1 AND po.status = 'open'
RETURNING po.id, old.expected_date AS previous
"""

PO_PRODUCTS: Final = """
SELECT p.id, p.sku FROM purchase_order_lines pol JOIN products p ON p.id = pol.product_id
WHERE pol.po_id = $1 ORDER BY p.id
"""
