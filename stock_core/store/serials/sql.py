"""SQL of serial numbers: where each serial of a serial-tracked product is.

Every statement a named ``Final`` constant, named for what it does.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DELETE_SERIAL",
    "FIND_SERIAL",
    "LAST_TRANSFER_OF_SERIAL",
    "LOCK_SERIAL",
    "LOCK_SERIALS_AT",
    "SERIAL_BEFORE",
    "SET_SERIAL",
    "VERIFY_SERIAL_LEDGER",
    "VERIFY_SERIAL_STOCK",
]

_SERIAL_COLUMNS: Final = """
SELECT s.serial, s.status, s.location_id, l.code AS location, l.type AS location_type, s.lot
FROM serials s LEFT JOIN locations l ON l.id = s.location_id
"""

LOCK_SERIAL: Final = _SERIAL_COLUMNS + " WHERE s.product_id = $1 AND s.serial = $2 FOR UPDATE OF s"

FIND_SERIAL: Final = _SERIAL_COLUMNS + " WHERE s.product_id = $1 AND s.serial = $2"

# The serials of a product in stock at a location (a count compares them with its own).
LOCK_SERIALS_AT: Final = (
    _SERIAL_COLUMNS
    + """ WHERE s.product_id = $1 AND s.location_id = $2 AND s.status = 'in_stock'
ORDER BY s.serial
FOR UPDATE OF s"""
)

# The transfer the serial's latest ledger row names (a shipment, a receipt or an undo).
LAST_TRANSFER_OF_SERIAL: Final = """
SELECT transfer_id FROM movements WHERE product_id = $1 AND serial = $2
ORDER BY id DESC LIMIT 1
"""

SET_SERIAL: Final = """
INSERT INTO serials AS s (product_id, serial, status, location_id, lot)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (product_id, serial) DO UPDATE
SET status = excluded.status, location_id = excluded.location_id, lot = excluded.lot,
    updated_at = now()
"""

DELETE_SERIAL: Final = "DELETE FROM serials WHERE product_id = $1 AND serial = $2"

# What a serial was before the ledger row $3: its latest earlier row that no undo
# reversed (an undone row and its undo cancel out).
SERIAL_BEFORE: Final = """
SELECT m.kind, m.delta, m.location_id, m.lot FROM movements m
WHERE m.product_id = $1 AND m.serial = $2 AND m.id < $3 AND m.kind <> 'undo'
  AND NOT EXISTS (SELECT 1 FROM movements u WHERE u.reverses = m.id)
ORDER BY m.id DESC
LIMIT 1
"""

# Serial-tracked stock is its serials in stock: per product, location and lot, on hand
# equals the serials there; and no stock row (of any product) holds fewer units than the
# serials said to be in it.
VERIFY_SERIAL_STOCK: Final = """
WITH counted AS (
    SELECT product_id, location_id, lot, count(*) AS serials FROM serials
    WHERE status = 'in_stock' GROUP BY product_id, location_id, lot
)
SELECT p.sku, p.tracking, l.code AS location, coalesce(s.lot, c.lot) AS lot,
       coalesce(s.on_hand, 0) AS on_hand, coalesce(c.serials, 0) AS serials
FROM stock s
FULL JOIN counted c
  ON (c.product_id, c.location_id, c.lot) = (s.product_id, s.location_id, s.lot)
JOIN products p ON p.id = coalesce(s.product_id, c.product_id)
JOIN locations l ON l.id = coalesce(s.location_id, c.location_id)
WHERE coalesce(c.serials, 0) > coalesce(s.on_hand, 0)
   OR (p.tracking = 'serial' AND coalesce(c.serials, 0) <> coalesce(s.on_hand, 0))
ORDER BY 1, 3, 4
LIMIT 1000
"""

# Each serial's ledger rows add up to 1 while it is in stock (at the location of its
# latest row) and to 0 when it is not.
VERIFY_SERIAL_LEDGER: Final = """
WITH ledger AS (
    SELECT DISTINCT ON (product_id, serial) product_id, serial,
           sum(delta) OVER (PARTITION BY product_id, serial) AS total, location_id
    FROM movements WHERE serial IS NOT NULL
    ORDER BY product_id, serial, id DESC
)
SELECT p.sku, coalesce(s.serial, g.serial) AS serial, coalesce(s.status, 'unknown') AS status,
       coalesce(g.total, 0) AS total
FROM serials s
FULL JOIN ledger g ON (g.product_id, g.serial) = (s.product_id, s.serial)
JOIN products p ON p.id = coalesce(s.product_id, g.product_id)
WHERE coalesce(g.total, 0) <> CASE WHEN s.status = 'in_stock' THEN 1 ELSE 0 END
   OR (s.status = 'in_stock' AND s.location_id IS DISTINCT FROM g.location_id)
ORDER BY 1, 2
LIMIT 1000
"""
