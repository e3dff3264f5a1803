"""SQL of posting movements: stock changes, ledger rows, idempotency keys, picks against
reservations and purchase-order receipts.

Every statement a named ``Final`` constant, named for what it does.
"""

from __future__ import annotations

from typing import Final

from stock_core.store.stock.sql import STOCK_FIGURES

__all__ = [
    "CLOSE_PO_IF_RECEIVED",
    "COMPLETE_ORDER_IF_PICKED",
    "DECREMENT_STOCK",
    "EXPORT_MOVEMENTS",
    "FIND_IDEMPOTENCY_KEY",
    "FIND_LAST_UNDOABLE_KEY",
    "FIND_PRODUCT_FOR_UPDATE",
    "INCREMENT_STOCK",
    "INSERT_IDEMPOTENCY_KEY",
    "INSERT_MOVEMENT_AND_EVENT",
    "INSERT_REJECTED_KEY",
    "LINE_RESERVATIONS",
    "LIST_MOVEMENTS_ASC",
    "LIST_MOVEMENTS_DESC",
    "LOCATION_TYPE",
    "LOCK_LOTS_FOR_PICK",
    "LOCK_ORDER_LINE_FOR_PICK",
    "MOVEMENTS_BY_KEY",
    "MOVEMENTS_OF_SERIAL",
    "MOVEMENT_BY_ID",
    "PICK_LINE",
    "PICK_RESERVED_STOCK",
    "RECEIVE_PO_LINE",
    "SET_STOCK",
    "STOCK_ROW",
    "TAKE_RESERVATION",
    "UNREVERSED_ROWS_OF_KEY",
]

LOCATION_TYPE: Final = "SELECT type FROM locations WHERE id = $1"

INSERT_IDEMPOTENCY_KEY: Final = """
INSERT INTO idempotency_keys (key, fingerprint) VALUES ($1, $2)
ON CONFLICT (key) DO NOTHING
RETURNING key
"""

INSERT_REJECTED_KEY: Final = """
INSERT INTO idempotency_keys (key, fingerprint, rejection) VALUES ($1, $2, $3::jsonb)
ON CONFLICT (key) DO NOTHING
"""

FIND_IDEMPOTENCY_KEY: Final = (
    "SELECT fingerprint, rejection::text AS rejection FROM idempotency_keys WHERE key = $1"
)

INCREMENT_STOCK: Final = """
INSERT INTO stock AS s (product_id, location_id, lot, expiry, on_hand)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (product_id, location_id, lot) DO UPDATE
SET on_hand = s.on_hand + excluded.on_hand,
    expiry = coalesce(s.expiry, excluded.expiry),
    updated_at = now()
RETURNING on_hand
"""

DECREMENT_STOCK: Final = """
UPDATE stock
SET on_hand = on_hand - $4, updated_at = now()
WHERE product_id = $1 AND location_id = $2 AND lot = $3 AND on_hand - reserved >= $4
RETURNING on_hand, quarantined
"""

SET_STOCK: Final = """
INSERT INTO stock AS s (product_id, location_id, lot, on_hand)
VALUES ($1, $2, $3, $4)
ON CONFLICT (product_id, location_id, lot) DO UPDATE
SET on_hand = excluded.on_hand, updated_at = now()
RETURNING on_hand, reserved
"""

STOCK_ROW: Final = """
SELECT on_hand, reserved, expiry, quarantined FROM stock
WHERE product_id = $1 AND location_id = $2 AND lot = $3
FOR UPDATE
"""

LOCK_LOTS_FOR_PICK: Final = """
SELECT lot, expiry, on_hand, reserved, quarantined, stockd_today() AS today FROM stock
WHERE product_id = $1 AND location_id = $2 AND on_hand > 0
ORDER BY expiry NULLS LAST, lot
FOR UPDATE
"""

# One round trip for the ledger row and its event. The stock figures in the event are
# read after this transaction's own stock change (the previous statement).
INSERT_MOVEMENT_AND_EVENT: Final = (
    """
WITH m AS (
    INSERT INTO movements (kind, product_id, location_id, lot, expiry, delta, on_hand_after,
                           idempotency_key, part, actor, scanner, scan_seq, note, reverses,
                           order_id, po_id, operator, reason, serial, transfer_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $17, $18, $19, $20,
            $21, $22)
    RETURNING id, ts
), loc AS (
    SELECT zone, warehouse FROM locations WHERE id = $3
), totals AS ("""
    + STOCK_FIGURES
    + """), e AS (
    INSERT INTO outbox (type, payload)
    SELECT 'stock.changed', jsonb_build_object(
        'sku', $15::text, 'location', $16::text, 'lot', $4::text, 'kind', $1::text,
        'zone', loc.zone, 'warehouse', loc.warehouse,
        'delta', $6::bigint, 'on_hand', t.loc_on_hand, 'available', t.loc_available,
        'product_on_hand', t.on_hand, 'product_available', t.available, 'movement_id', m.id,
        'scanner', $11::text, 'scan_seq', $12::bigint, 'actor', $10::text,
        'operator', $19::text, 'reason', $20::text, 'serial', $21::text, 'movement_ts', m.ts)
        || CASE WHEN $23::text IS NULL THEN '{}'::jsonb
                ELSE jsonb_build_object('transfer', $23::text) END
    FROM m, totals t, loc
)
SELECT m.id, m.ts, loc.warehouse FROM m, loc
"""
)

_MOVEMENT_COLUMNS: Final = """
SELECT m.id, m.ts, m.kind, p.sku, l.code AS location, m.lot, m.delta, m.on_hand_after,
       m.scanner, m.scan_seq, m.actor, m.note, m.reverses, m.product_id, m.location_id,
       m.expiry, m.idempotency_key, m.operator, m.reason, m.serial, l.warehouse, m.transfer_id
FROM movements m JOIN products p ON p.id = m.product_id JOIN locations l ON l.id = m.location_id
"""

MOVEMENTS_BY_KEY: Final = _MOVEMENT_COLUMNS + " WHERE m.idempotency_key = $1 ORDER BY m.part"

MOVEMENT_BY_ID: Final = _MOVEMENT_COLUMNS + " WHERE m.id = $1"

MOVEMENTS_OF_SERIAL: Final = (
    _MOVEMENT_COLUMNS + " WHERE m.product_id = $1 AND m.serial = $2 ORDER BY m.id"
)

FIND_LAST_UNDOABLE_KEY: Final = """
SELECT m.idempotency_key FROM movements m
WHERE m.scanner = $1 AND m.kind <> 'undo'
  AND NOT EXISTS (SELECT 1 FROM movements u WHERE u.reverses = m.id)
ORDER BY m.id DESC
LIMIT 1
"""

UNREVERSED_ROWS_OF_KEY: Final = (
    _MOVEMENT_COLUMNS
    + """ WHERE m.idempotency_key = $1 AND m.kind <> 'undo'
  AND NOT EXISTS (SELECT 1 FROM movements u WHERE u.reverses = m.id)
ORDER BY m.part DESC"""
)

# Movements: $1 keyset bound, $2 sku, $3 location, $4 kind, $5 scanner, $6 from, $7 to,
# $8 operator, $9 warehouse.
_MOVEMENT_FILTERS: Final = """
  AND ($2::text IS NULL OR p.sku = $2)
  AND ($3::text IS NULL OR l.code = $3)
  AND ($4::text IS NULL OR m.kind = $4)
  AND ($5::text IS NULL OR m.scanner = $5)
  AND ($6::timestamptz IS NULL OR m.ts >= $6)
  AND ($7::timestamptz IS NULL OR m.ts < $7)
  AND ($8::text IS NULL OR m.operator = $8)
  AND ($9::text IS NULL OR l.warehouse = $9)
"""

LIST_MOVEMENTS_ASC: Final = (
    _MOVEMENT_COLUMNS + " WHERE m.id > $1" + _MOVEMENT_FILTERS + " ORDER BY m.id LIMIT $10"
)

LIST_MOVEMENTS_DESC: Final = (
    _MOVEMENT_COLUMNS + " WHERE m.id < $1" + _MOVEMENT_FILTERS + " ORDER BY m.id DESC LIMIT $10"
)

EXPORT_MOVEMENTS: Final = (
    """
SELECT m.id, m.ts, m.kind, p.sku, l.code AS location, m.lot, m.delta, m.on_hand_after,
       m.scanner, m.scan_seq, m.actor, m.note, m.reverses, m.operator, m.reason, m.serial,
       l.warehouse
FROM movements m JOIN products p ON p.id = m.product_id JOIN locations l ON l.id = m.location_id
WHERE m.id > $1"""
    + _MOVEMENT_FILTERS
    + " ORDER BY m.id"
)

PICK_RESERVED_STOCK: Final = """
UPDATE stock SET on_hand = on_hand - $4, reserved = reserved - $4, updated_at = now()
WHERE product_id = $1 AND location_id = $2 AND lot = $3 AND reserved >= $4 AND on_hand >= $4
RETURNING on_hand
"""

LINE_RESERVATIONS: Final = """
SELECT r.location_id, l.code AS location, r.lot, r.quantity, s.expiry
FROM reservations r
JOIN locations l ON l.id = r.location_id
JOIN stock s ON s.product_id = r.product_id AND s.location_id = r.location_id AND s.lot = r.lot
WHERE r.order_line_id = $1
ORDER BY (r.location_id = $2) DESC, s.expiry NULLS LAST, r.lot
FOR UPDATE OF r
"""

TAKE_RESERVATION: Final = """
WITH gone AS (
    DELETE FROM reservations
    WHERE order_line_id = $1 AND location_id = $2 AND lot = $3 AND quantity = $4
    RETURNING 1
)
UPDATE reservations SET quantity = quantity - $4
WHERE order_line_id = $1 AND location_id = $2 AND lot = $3 AND quantity > $4
"""

LOCK_ORDER_LINE_FOR_PICK: Final = """
SELECT ol.id, ol.order_id, ol.quantity, ol.reserved, ol.backordered, ol.picked, o.status
FROM order_lines ol JOIN orders o ON o.id = ol.order_id
WHERE o.number = $1 AND ol.product_id = $2
FOR UPDATE OF ol, o
"""

PICK_LINE: Final = """
UPDATE order_lines SET reserved = reserved - $2, picked = picked + $2
WHERE id = $1 AND reserved >= $2
RETURNING picked, quantity
"""

COMPLETE_ORDER_IF_PICKED: Final = """
UPDATE orders SET status = 'complete', closed_at = now()
WHERE id = $1 AND status = 'open'
  AND NOT EXISTS (SELECT 1 FROM order_lines WHERE order_id = $1 AND picked < quantity)
RETURNING number
"""

RECEIVE_PO_LINE: Final = """
UPDATE purchase_order_lines pol SET received = received + $3
FROM purchase_orders po
WHERE po.id = pol.po_id AND po.number = $1 AND pol.product_id = $2 AND po.status = 'open'
RETURNING po.id, pol.received, pol.quantity
"""

CLOSE_PO_IF_RECEIVED: Final = """
UPDATE purchase_orders SET status = 'received', closed_at = now()
WHERE id = $1 AND status = 'open'
  AND NOT EXISTS (SELECT 1 FROM purchase_order_lines WHERE po_id = $1 AND received < quantity)
RETURNING number
"""

FIND_PRODUCT_FOR_UPDATE: Final = """
SELECT p.id, p.sku, p.reorder_point, p.tracking,
       coalesce((SELECT b.pack_size FROM product_barcodes b
                 WHERE b.code = $1 AND b.product_id = p.id), 1) AS pack_size
FROM products p
WHERE p.id = coalesce((SELECT b.product_id FROM product_barcodes b WHERE b.code = $1),
                      (SELECT s.id FROM products s WHERE s.sku = $2))
FOR NO KEY UPDATE OF p
"""
