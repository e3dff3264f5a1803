"""SQL of the transfers aggregate: transfers between warehouses, their lines (shipped
and received per product and lot), and the checks ``stockd verify`` runs on them.

Every statement a named ``Final`` constant, named for what it does.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ADD_RECEIVED",
    "ADD_SHIPPED",
    "INSERT_TRANSFER",
    "LINES_OF_TRANSFERS",
    "LINE_FIGURES",
    "LIST_TRANSFERS",
    "LOCATION_WAREHOUSE",
    "LOCK_TRANSFER",
    "LOCK_TRANSFER_BY_ID",
    "LOCK_TRANSFER_LINES",
    "SET_TRANSFER_STATUS",
    "TRANSFER_BY_NUMBER",
    "UNRECEIVE",
    "UNSHIP",
    "VERIFY_TRANSFER_LINES",
    "VERIFY_TRANSFER_ROWS",
    "VERIFY_TRANSFER_STATUS",
    "WAREHOUSE_EXISTS",
]

LOCATION_WAREHOUSE: Final = "SELECT warehouse FROM locations WHERE id = $1"

WAREHOUSE_EXISTS: Final = "SELECT EXISTS (SELECT 1 FROM warehouses WHERE code = $1)"

# $1 number, $2 from warehouse, $3 to warehouse, $4 from location id, $5 created by,
# $6 the idempotency key of the request that opens it.
INSERT_TRANSFER: Final = """
INSERT INTO transfers (number, from_warehouse, to_warehouse, from_location_id, created_by,
                       idempotency_key)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (number) DO NOTHING
RETURNING id
"""

LOCK_TRANSFER: Final = """
SELECT id, status, from_warehouse, to_warehouse FROM transfers WHERE number = $1 FOR UPDATE
"""

LOCK_TRANSFER_BY_ID: Final = "SELECT number FROM transfers WHERE id = $1 FOR UPDATE"

# $1 transfer id, $2 product id, $3 lot, $4 expiry, $5 units shipped.
ADD_SHIPPED: Final = """
INSERT INTO transfer_lines AS tl (transfer_id, product_id, lot, expiry, quantity)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (transfer_id, product_id, lot) DO UPDATE
SET quantity = tl.quantity + excluded.quantity, expiry = coalesce(tl.expiry, excluded.expiry)
"""

LOCK_TRANSFER_LINES: Final = """
SELECT lot, expiry, quantity, received FROM transfer_lines
WHERE transfer_id = $1 AND product_id = $2
ORDER BY lot
FOR UPDATE
"""

# $1 transfer id, $2 product id, $3 lot, $4 units.
ADD_RECEIVED: Final = """
UPDATE transfer_lines SET received = received + $4
WHERE transfer_id = $1 AND product_id = $2 AND lot = $3 AND received + $4 <= quantity
RETURNING received
"""

# An undo of a shipment takes the units off the line, never below what was received.
UNSHIP: Final = """
UPDATE transfer_lines SET quantity = quantity - $4
WHERE transfer_id = $1 AND product_id = $2 AND lot = $3 AND quantity - $4 >= received
RETURNING quantity
"""

UNRECEIVE: Final = """
UPDATE transfer_lines SET received = received - $4
WHERE transfer_id = $1 AND product_id = $2 AND lot = $3 AND received >= $4
RETURNING received
"""

LINE_FIGURES: Final = "SELECT quantity, received FROM transfer_lines WHERE transfer_id = $1"

SET_TRANSFER_STATUS: Final = """
UPDATE transfers
SET status = $2,
    received_at = CASE WHEN $2 = 'received' THEN coalesce(received_at, now()) END
WHERE id = $1
"""

_TRANSFERS: Final = """
SELECT t.id, t.number, t.status, t.from_warehouse, t.to_warehouse, l.code AS from_location,
       t.created_by, t.created_at, t.received_at
FROM transfers t JOIN locations l ON l.id = t.from_location_id
"""

TRANSFER_BY_NUMBER: Final = _TRANSFERS + "WHERE t.number = $1"

# A page of transfers after id $1: of status $2 and from or to warehouse $3 (NULL: any).
LIST_TRANSFERS: Final = (
    _TRANSFERS
    + """WHERE t.id > $1
  AND ($2::text IS NULL OR t.status = $2)
  AND ($3::text IS NULL OR $3 IN (t.from_warehouse, t.to_warehouse))
ORDER BY t.id
LIMIT $4
"""
)

# The lines (per product and lot) of the transfers with ids $1.
LINES_OF_TRANSFERS: Final = """
SELECT tl.transfer_id, p.sku, tl.lot, tl.expiry, tl.quantity, tl.received
FROM transfer_lines tl JOIN products p ON p.id = tl.product_id
WHERE tl.transfer_id = ANY($1::bigint[])
ORDER BY tl.transfer_id, p.sku, tl.expiry NULLS LAST, tl.lot
"""

# Each line's shipped and received units against its ledger rows: transfer_out rows
# (and the undo rows reversing them) ship, transfer_in rows (and theirs) receive; so in
# transit = shipped - received = -(the sum of the line's rows).
VERIFY_TRANSFER_LINES: Final = """
WITH ledger AS (
    SELECT m.transfer_id, m.product_id, m.lot,
           coalesce(-sum(m.delta) FILTER (WHERE coalesce(o.kind, m.kind) = 'transfer_out'), 0)
               AS shipped,
           coalesce(sum(m.delta) FILTER (WHERE coalesce(o.kind, m.kind) = 'transfer_in'), 0)
               AS received
    FROM movements m LEFT JOIN movements o ON o.id = m.reverses
    WHERE m.transfer_id IS NOT NULL
    GROUP BY 1, 2, 3
)
SELECT t.number, p.sku, coalesce(tl.lot, g.lot) AS lot,
       coalesce(tl.quantity, 0) AS quantity, coalesce(tl.received, 0) AS received,
       coalesce(g.shipped, 0) AS ledger_shipped, coalesce(g.received, 0) AS ledger_received
FROM transfer_lines tl
FULL JOIN ledger g
  ON g.transfer_id = tl.transfer_id AND g.product_id = tl.product_id AND g.lot = tl.lot
JOIN transfers t ON t.id = coalesce(tl.transfer_id, g.transfer_id)
JOIN products p ON p.id = coalesce(tl.product_id, g.product_id)
WHERE coalesce(tl.quantity, 0) <> coalesce(g.shipped, 0)
   OR coalesce(tl.received, 0) <> coalesce(g.received, 0)
ORDER BY 1, 2, 3
LIMIT 1000
"""

# A transfer's rows are where it says: shipped from its warehouse, received in its
# destination, and an undo names the transfer of the row it reverses.
VERIFY_TRANSFER_ROWS: Final = """
SELECT m.id, m.kind, t.number, l.code AS location, l.warehouse
FROM movements m
JOIN locations l ON l.id = m.location_id
LEFT JOIN movements o ON o.id = m.reverses
LEFT JOIN transfers t ON t.id = m.transfer_id
WHERE (m.kind = 'transfer_out' AND l.warehouse <> t.from_warehouse)
   OR (m.kind = 'transfer_in' AND l.warehouse <> t.to_warehouse)
   OR (m.kind = 'undo' AND m.transfer_id IS DISTINCT FROM o.transfer_id)
ORDER BY m.id
LIMIT 1000
"""

VERIFY_TRANSFER_STATUS: Final = """
SELECT t.number, t.status,
       coalesce(array_agg(tl.quantity) FILTER (WHERE tl.transfer_id IS NOT NULL), '{}')
           AS quantities,
       coalesce(array_agg(tl.received) FILTER (WHERE tl.transfer_id IS NOT NULL), '{}')
           AS received
FROM transfers t LEFT JOIN transfer_lines tl ON tl.transfer_id = t.id
GROUP BY t.id
ORDER BY t.number
"""
