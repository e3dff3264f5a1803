"""Count tasks' SQL, as named constants (asyncpg ``introspection.py`` style)."""

from __future__ import annotations

from typing import Final

__all__ = [
    "ABC_VALUES",
    "ADD_TASK_LOCATIONS",
    "BUSY_LOCATIONS",
    "CLOSE_TASK_LOCATIONS",
    "COUNTED_AT_TASK",
    "DROP_LOCATION_COUNTS",
    "FIND_LOCATIONS_BY_CODE",
    "INSERT_EVENT",
    "INSERT_LINES",
    "INSERT_LOCATION_COUNTS",
    "INSERT_TASK",
    "LIST_TASKS",
    "LOCATIONS_HOLDING",
    "LOCATIONS_OF_ZONE",
    "LOCK_PRODUCTS",
    "LOCK_TASK",
    "MARK_COUNTED",
    "NOTE_KEY",
    "OPEN_TASK_AT_LOCATION",
    "PENDING_LINES",
    "POST_PENDING_LINES",
    "SET_TASK_STATUS",
    "STOCK_AT",
    "TASK",
    "TASK_LINES",
    "TASK_LOCATIONS",
    "VERIFY_COUNT_TASKS",
]

INSERT_TASK: Final = """
INSERT INTO count_tasks (blind, scope, created_by) VALUES ($1, $2::jsonb, $3)
RETURNING id
"""

FIND_LOCATIONS_BY_CODE: Final = """
SELECT r.code AS asked, l.id, l.code
FROM unnest($1::text[]) AS r(code) LEFT JOIN locations l ON l.code = r.code
"""

LOCATIONS_OF_ZONE: Final = "SELECT id, code FROM locations WHERE zone = $1 ORDER BY code"

# Yearly outbound value per product: picks in the last 365 days less the undo rows
# that reverse them, at the current unit cost.
ABC_VALUES: Final = """
SELECT p.id,
       (p.unit_cost * coalesce((
            SELECT sum(-o.delta - coalesce(u.delta, 0))
            FROM movements o LEFT JOIN movements u ON u.reverses = o.id
            WHERE o.product_id = p.id AND o.kind = 'pick'
              AND o.ts >= now() - interval '365 days'), 0)) AS value
FROM products p
"""

LOCATIONS_HOLDING: Final = """
SELECT DISTINCT l.id, l.code
FROM stock s JOIN locations l ON l.id = s.location_id
WHERE s.product_id = ANY($1::integer[]) AND s.on_hand > 0
ORDER BY l.code
"""

BUSY_LOCATIONS: Final = """
SELECT l.code, c.task_id
FROM count_task_locations c JOIN locations l ON l.id = c.location_id
WHERE c.open AND c.location_id = ANY($1::integer[])
ORDER BY l.code
"""

ADD_TASK_LOCATIONS: Final = """
INSERT INTO count_task_locations (task_id, location_id)
SELECT $1, unnest($2::integer[])
"""

# FOR SHARE of both rows: a confirmation (which closes the location) waits for a count
# being recorded, and a count waiting on a confirmation sees the location closed.
OPEN_TASK_AT_LOCATION: Final = """
SELECT t.id, t.blind
FROM count_task_locations c JOIN count_tasks t ON t.id = c.task_id
WHERE c.location_id = $1 AND c.open AND t.status = 'open'
FOR SHARE
"""

DROP_LOCATION_COUNTS: Final = """
DELETE FROM count_task_counts WHERE task_id = $1 AND location_id = $2
"""

INSERT_LOCATION_COUNTS: Final = """
INSERT INTO count_task_counts (task_id, location_id, product_id, lot, quantity)
SELECT $1, $2, * FROM unnest($3::integer[], $4::text[], $5::bigint[])
"""

MARK_COUNTED: Final = """
UPDATE count_task_locations SET counted_at = now(), counted_by = $3
WHERE task_id = $1 AND location_id = $2
"""

LOCK_TASK: Final = "SELECT id, status, blind FROM count_tasks WHERE id = $1 FOR UPDATE"

TASK: Final = """
SELECT id, status, blind, scope, created_by, created_at, confirmed_by, confirmed_at,
       approved_by, approved_at
FROM count_tasks WHERE id = $1
"""

LIST_TASKS: Final = """
SELECT id, status, blind, scope, created_by, created_at, confirmed_by, confirmed_at,
       approved_by, approved_at
FROM count_tasks
WHERE id > $1 AND ($2::text IS NULL OR status = $2)
ORDER BY id
LIMIT $3
"""

TASK_LOCATIONS: Final = """
SELECT c.location_id, l.code, c.counted_at, c.counted_by
FROM count_task_locations c JOIN locations l ON l.id = c.location_id
WHERE c.task_id = $1
ORDER BY l.code
"""

COUNTED_AT_TASK: Final = """
SELECT c.location_id, c.product_id, p.sku, c.lot, c.quantity
FROM count_task_counts c JOIN products p ON p.id = c.product_id
WHERE c.task_id = $1
"""

# Lock the products a confirmation touches, in id order (as every writer does).
LOCK_PRODUCTS: Final = """
SELECT id, sku FROM products WHERE id = ANY($1::integer[]) ORDER BY id FOR NO KEY UPDATE
"""

# A task's lines leave serial-tracked products out: they are counted by serial, outside
# a task (a count naming them on a task is refused), never zeroed by its confirmation.
STOCK_AT: Final = """
SELECT s.location_id, s.product_id, p.sku, s.lot, s.on_hand
FROM stock s JOIN products p ON p.id = s.product_id
WHERE s.location_id = ANY($1::integer[]) AND s.on_hand > 0 AND p.tracking <> 'serial'
"""

CLOSE_TASK_LOCATIONS: Final = "UPDATE count_task_locations SET open = false WHERE task_id = $1"

INSERT_LINES: Final = """
INSERT INTO count_task_lines
    (task_id, location_id, product_id, lot, expected, counted, named_lots, status)
SELECT $1, l.location_id, l.product_id, l.lot, l.expected, l.counted,
       CASE WHEN l.named = '' THEN NULL ELSE string_to_array(substr(l.named, 2), chr(30)) END,
       l.status
FROM unnest($2::integer[], $3::integer[], $4::text[], $5::bigint[], $6::bigint[],
            $7::text[], $8::text[])
    AS l(location_id, product_id, lot, expected, counted, named, status)
"""

SET_TASK_STATUS: Final = """
UPDATE count_tasks
SET status = $2,
    confirmed_by = CASE WHEN $3 THEN $4 ELSE confirmed_by END,
    confirmed_at = CASE WHEN $3 THEN now() ELSE confirmed_at END,
    approved_by = CASE WHEN $3 THEN approved_by ELSE $4 END,
    approved_at = CASE WHEN $3 THEN approved_at ELSE now() END
WHERE id = $1
"""

TASK_LINES: Final = """
SELECT t.location_id, l.code AS location, t.product_id, p.sku, t.lot, t.expected, t.counted,
       t.named_lots, t.status
FROM count_task_lines t
JOIN locations l ON l.id = t.location_id
JOIN products p ON p.id = t.product_id
WHERE t.task_id = $1
ORDER BY l.code, p.sku, t.lot
"""

PENDING_LINES: Final = """
SELECT t.location_id, l.code AS location, t.product_id, p.sku, t.lot, t.expected, t.counted,
       t.named_lots
FROM count_task_lines t
JOIN locations l ON l.id = t.location_id
JOIN products p ON p.id = t.product_id
WHERE t.task_id = $1 AND t.status = 'pending_approval'
ORDER BY t.product_id, l.code, t.lot
"""

POST_PENDING_LINES: Final = """
UPDATE count_task_lines SET status = 'posted'
WHERE task_id = $1 AND status = 'pending_approval'
"""

INSERT_EVENT: Final = "INSERT INTO outbox (type, payload) VALUES ($1, $2::jsonb)"

NOTE_KEY: Final = """
INSERT INTO count_task_keys (key, task_id, location_id) VALUES ($1, $2, $3)
"""

# Tasks whose state contradicts their rows: a confirmed task still holding a location
# open, a closed one with lines waiting, an open one with lines, a key kept on a task
# that wrote ledger rows.
VERIFY_COUNT_TASKS: Final = """
SELECT t.id, 'is ' || t.status || ' but still holds a location open' AS problem
FROM count_tasks t
WHERE t.status <> 'open'
  AND EXISTS (SELECT 1 FROM count_task_locations c WHERE c.task_id = t.id AND c.open)
UNION ALL
SELECT t.id, 'is closed but has lines pending approval'
FROM count_tasks t
WHERE t.status = 'closed'
  AND EXISTS (SELECT 1 FROM count_task_lines l
              WHERE l.task_id = t.id AND l.status = 'pending_approval')
UNION ALL
SELECT t.id, 'is open but has confirmed lines'
FROM count_tasks t
WHERE t.status = 'open' AND EXISTS (SELECT 1 FROM count_task_lines l WHERE l.task_id = t.id)
UNION ALL
SELECT k.task_id, 'kept count ' || k.key || ' wrote ledger rows'
FROM count_task_keys k
WHERE EXISTS (SELECT 1 FROM movements m WHERE m.idempotency_key = k.key)
ORDER BY 1
LIMIT 1000
"""
