"""Every SQL statement stockd runs, as named constants (asyncpg ``introspection.py`` style).

Nothing outside ``stock_core.store`` holds SQL. Statements are grouped by use case.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ADD_RESERVATION",
    "ADVISORY_LOCK_MIGRATIONS",
    "ALERT_BY_ID",
    "ALERT_COLUMNS",
    "ALL_RESERVATIONS_OF_ORDER",
    "ANALYTICS_ACTIVE_STOCKOUTS",
    "ANALYTICS_CACHED_FORECASTS",
    "ANALYTICS_POSITIONS",
    "ANALYTICS_SAVE_FORECAST",
    "API_ACKNOWLEDGE_ALERT",
    "API_BARCODE_OWNERS",
    "API_DELETE_PRODUCT_BARCODES",
    "API_EXPORT_MOVEMENTS",
    "API_INSERT_LOCATION",
    "API_INSERT_PRODUCT",
    "API_INSERT_PRODUCT_BARCODES",
    "API_LIST_ALERTS",
    "API_LIST_LOCATIONS",
    "API_LIST_MOVEMENTS_ASC",
    "API_LIST_MOVEMENTS_DESC",
    "API_LIST_PRODUCTS",
    "API_LIST_SCANNER_STATES",
    "API_LIST_STOCK_PRODUCTS",
    "API_LOCATION_BY_CODE",
    "API_LOCATION_BY_GLN",
    "API_LOCK_PRODUCT_BY_SKU",
    "API_PRODUCT_BY_SKU",
    "API_RESOLVE_SPOOL_EXCEPTION",
    "API_SPOOL_EXCEPTION_BY_ID",
    "API_STOCK_ROWS_OF_PRODUCTS",
    "API_UPDATE_PRODUCT",
    "APPLIED_MIGRATIONS",
    "ASSIGN_FEED_SEQ",
    "BACKORDER_QUEUE",
    "CANCEL_ORDER",
    "CANCEL_PO",
    "CLEAR_ALERT",
    "CLEAR_ORDER_LINES",
    "CLEAR_PROJECTED_STOCKOUT",
    "CLOSE_PO_IF_RECEIVED",
    "COMPLETE_ORDER_IF_PICKED",
    "COUNT_TOTALS",
    "CREATE_IMPORT_BARCODES",
    "CREATE_IMPORT_HISTORY",
    "CREATE_IMPORT_LOCATIONS",
    "CREATE_IMPORT_PRODUCTS",
    "CREATE_MIGRATIONS_TABLE",
    "DECREMENT_STOCK",
    "DELETE_BARCODES_OF_IMPORTED",
    "DELETE_RESERVATIONS_OF_ORDER",
    "FEED_AFTER",
    "FEED_HEAD",
    "FEED_TAIL",
    "FILL_LINE",
    "FIND_IDEMPOTENCY_KEY",
    "FIND_LAST_UNDOABLE_KEY",
    "FIND_LOCATION",
    "FIND_PRODUCT_FOR_UPDATE",
    "HAS_WAITING_AHEAD",
    "IMPORT_BARCODE_CONFLICTS",
    "IMPORT_GLN_CONFLICTS",
    "IMPORT_HISTORY_UNKNOWN_SKUS",
    "IMPORT_QUARANTINE_CONFLICTS",
    "INCREMENT_STOCK",
    "INSERT_EVENT",
    "INSERT_IDEMPOTENCY_KEY",
    "INSERT_IMPORTED_BARCODES",
    "INSERT_MOVEMENT_AND_EVENT",
    "INSERT_ORDER",
    "INSERT_ORDER_LINE",
    "INSERT_PO",
    "INSERT_PO_LINE",
    "INSERT_REJECTED_KEY",
    "INSERT_SPOOL_EXCEPTION",
    "INSERT_TOKEN",
    "INVALID_TOKEN_IDS",
    "LINE_RESERVATIONS",
    "LIST_ORDERS",
    "LIST_POS",
    "LIST_SPOOL_EXCEPTIONS",
    "LIST_TOKENS",
    "LOCATION_TYPE",
    "LOCK_AVAILABLE_ROWS",
    "LOCK_LOTS_FOR_PICK",
    "LOCK_ORDER_LINE_FOR_PICK",
    "LOCK_PRODUCT",
    "LOCK_SEQUENCER",
    "MIGRATIONS_TABLE_EXISTS",
    "MOVEMENTS_BY_KEY",
    "MOVEMENT_BY_ID",
    "NOTIFY_FEED",
    "NOTIFY_OUTBOX",
    "OPEN_SUPPLY",
    "ORDER_BY_NUMBER",
    "ORDER_LINES",
    "PICK_LINE",
    "PICK_RESERVED_STOCK",
    "PING",
    "PO_BY_NUMBER",
    "PO_LINES",
    "PRODUCTS_BY_SKU",
    "PRODUCT_AVAILABILITY",
    "PRODUCT_ORDER_FIGURES",
    "RAISE_ALERT",
    "RAISE_PROJECTED_STOCKOUT",
    "RECEIVE_PO_LINE",
    "RECORD_MIGRATION",
    "REPORT_ACTIVITY",
    "REPORT_HOLDINGS",
    "REPORT_TURNOVER",
    "RESERVE_STOCK",
    "REVOKE_TOKEN",
    "SET_IMPORTED_BACKORDER_ALLOWED",
    "SET_STOCK",
    "SIMULATION_CATALOG",
    "SNAPSHOT_ALERTS",
    "SNAPSHOT_RECENT",
    "SNAPSHOT_SCANNERS",
    "SNAPSHOT_STOCK",
    "STOCK_OF_SKU",
    "STOCK_ROW",
    "TAKE_RESERVATION",
    "TOKENS_BY_REF",
    "TOKEN_BY_PREFIX",
    "TOUCH_TOKENS",
    "UNRESERVE_STOCK",
    "UNREVERSED_ROWS_OF_KEY",
    "UPSERT_IMPORTED_HISTORY",
    "UPSERT_IMPORTED_LOCATIONS",
    "UPSERT_IMPORTED_PRODUCTS",
    "UPSERT_SCANNER_STATE",
    "VERIFY_FIFO",
    "VERIFY_KEYS",
    "VERIFY_LEDGER_SUMS",
    "VERIFY_NOT_NEGATIVE",
    "VERIFY_ORDER_LINES",
    "VERIFY_QUARANTINE",
    "VERIFY_RESERVATIONS",
    "VERIFY_RUNNING_BALANCES",
    "VERIFY_UNDOS",
    "WAITING_BACKORDERS",
]

# -- migrations ---------------------------------------------------------------------

ADVISORY_LOCK_MIGRATIONS: Final = "SELECT pg_advisory_xact_lock(7243100001)"

CREATE_MIGRATIONS_TABLE: Final = """
CREATE TABLE IF NOT EXISTS stockd_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""

APPLIED_MIGRATIONS: Final = "SELECT version FROM stockd_migrations ORDER BY version"

MIGRATIONS_TABLE_EXISTS: Final = "SELECT to_regclass('stockd_migrations') IS NOT NULL"

RECORD_MIGRATION: Final = "INSERT INTO stockd_migrations (version, name) VALUES ($1, $2)"

# -- resolution ---------------------------------------------------------------------

FIND_LOCATION: Final = """
SELECT id, code FROM locations WHERE code = $1
UNION ALL
SELECT id, code FROM locations WHERE gln = $1
LIMIT 1
"""

LOCATION_TYPE: Final = "SELECT type FROM locations WHERE id = $1"

# -- idempotency ---------------------------------------------------------------------

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

# -- stock --------------------------------------------------------------------------

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
INSERT_MOVEMENT_AND_EVENT: Final = """
WITH m AS (
    INSERT INTO movements (kind, product_id, location_id, lot, expiry, delta, on_hand_after,
                           idempotency_key, part, actor, scanner, scan_seq, note, reverses,
                           order_id, po_id, operator, reason)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $17, $18, $19, $20)
    RETURNING id, ts
), totals AS (
    SELECT coalesce(sum(on_hand) FILTER (WHERE location_id = $3), 0) AS loc_on_hand,
           coalesce(sum(on_hand - reserved)
                    FILTER (WHERE location_id = $3 AND stockd_available(expiry, quarantined)),
                    0) AS loc_available,
           coalesce(sum(on_hand), 0) AS on_hand,
           coalesce(sum(on_hand - reserved) FILTER (WHERE stockd_available(expiry, quarantined)),
                    0) AS available
    FROM stock WHERE product_id = $2
), e AS (
    INSERT INTO outbox (type, payload)
    SELECT 'stock.changed', jsonb_build_object(
        'sku', $15::text, 'location', $16::text, 'lot', $4::text, 'kind', $1::text,
        'zone', (SELECT zone FROM locations WHERE id = $3),
        'delta', $6::bigint, 'on_hand', t.loc_on_hand, 'available', t.loc_available,
        'product_on_hand', t.on_hand, 'product_available', t.available, 'movement_id', m.id,
        'scanner', $11::text, 'scan_seq', $12::bigint, 'actor', $10::text,
        'operator', $19::text, 'reason', $20::text, 'movement_ts', m.ts)
    FROM m, totals t
)
SELECT id, ts FROM m
"""

_MOVEMENT_COLUMNS: Final = """
SELECT m.id, m.ts, m.kind, p.sku, l.code AS location, m.lot, m.delta, m.on_hand_after,
       m.scanner, m.scan_seq, m.actor, m.note, m.reverses, m.product_id, m.location_id,
       m.expiry, m.idempotency_key, m.operator, m.reason
FROM movements m JOIN products p ON p.id = m.product_id JOIN locations l ON l.id = m.location_id
"""

MOVEMENTS_BY_KEY: Final = _MOVEMENT_COLUMNS + " WHERE m.idempotency_key = $1 ORDER BY m.part"

MOVEMENT_BY_ID: Final = _MOVEMENT_COLUMNS + " WHERE m.id = $1"

# -- undo ---------------------------------------------------------------------------

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

# -- catalog import -----------------------------------------------------------------

CREATE_IMPORT_PRODUCTS: Final = """
CREATE TEMP TABLE import_products (
    line integer, sku text, name text, category text, unit_cost numeric,
    weight_g numeric, length_mm numeric, width_mm numeric, height_mm numeric,
    reorder_point integer, reorder_qty integer, lead_time_days integer, safety_stock integer,
    backorder_allowed boolean
) ON COMMIT DROP
"""

CREATE_IMPORT_BARCODES: Final = """
CREATE TEMP TABLE import_barcodes (line integer, sku text, code text, pack_size integer)
ON COMMIT DROP
"""

IMPORT_BARCODE_CONFLICTS: Final = """
SELECT ib.line, ib.code, p.sku
FROM import_barcodes ib
JOIN product_barcodes b ON b.code = ib.code
JOIN products p ON p.id = b.product_id
WHERE p.sku <> ib.sku
ORDER BY ib.line
"""

UPSERT_IMPORTED_PRODUCTS: Final = """
INSERT INTO products (sku, name, category, unit_cost, weight_g, length_mm, width_mm, height_mm,
                      reorder_point, reorder_qty, lead_time_days, safety_stock,
                      backorder_allowed)
SELECT sku, name, category, unit_cost, weight_g, length_mm, width_mm, height_mm,
       reorder_point, reorder_qty, lead_time_days, safety_stock, coalesce(backorder_allowed, true)
FROM import_products
ON CONFLICT (sku) DO UPDATE SET
    name = excluded.name, category = excluded.category, unit_cost = excluded.unit_cost,
    weight_g = excluded.weight_g, length_mm = excluded.length_mm,
    width_mm = excluded.width_mm, height_mm = excluded.height_mm,
    reorder_point = excluded.reorder_point, reorder_qty = excluded.reorder_qty,
    lead_time_days = excluded.lead_time_days, safety_stock = excluded.safety_stock,
    updated_at = now()
RETURNING (xmax = 0) AS inserted
"""

SET_IMPORTED_BACKORDER_ALLOWED: Final = """
UPDATE products p SET backorder_allowed = i.backorder_allowed
FROM import_products i
WHERE i.sku = p.sku AND i.backorder_allowed IS NOT NULL
  AND p.backorder_allowed IS DISTINCT FROM i.backorder_allowed
"""

DELETE_BARCODES_OF_IMPORTED: Final = """
DELETE FROM product_barcodes b USING products p, import_products ip
WHERE b.product_id = p.id AND p.sku = ip.sku
"""

INSERT_IMPORTED_BARCODES: Final = """
INSERT INTO product_barcodes (code, product_id, pack_size)
SELECT ib.code, p.id, ib.pack_size FROM import_barcodes ib JOIN products p ON p.sku = ib.sku
"""

CREATE_IMPORT_LOCATIONS: Final = """
CREATE TEMP TABLE import_locations (line integer, code text, zone text, name text, gln text,
                                    max_weight_g numeric, max_volume_cm3 numeric,
                                    sets_weight boolean, sets_volume boolean, type text)
ON COMMIT DROP
"""

IMPORT_GLN_CONFLICTS: Final = """
SELECT il.line, il.gln, l.code
FROM import_locations il JOIN locations l ON l.gln = il.gln
WHERE l.code <> il.code
ORDER BY il.line
"""

# A location holding stock reserved for orders cannot become a quarantine location.
IMPORT_QUARANTINE_CONFLICTS: Final = """
SELECT il.line, il.code, sum(s.reserved) AS reserved
FROM import_locations il
JOIN locations l ON l.code = il.code AND l.type <> 'quarantine'
JOIN stock s ON s.location_id = l.id AND s.reserved > 0
WHERE il.type = 'quarantine'
GROUP BY il.line, il.code
ORDER BY il.line
"""

UPSERT_IMPORTED_LOCATIONS: Final = """
INSERT INTO locations AS l (code, zone, name, gln, max_weight_g, max_volume_cm3, type)
SELECT i.code, i.zone, i.name, i.gln, i.max_weight_g, i.max_volume_cm3,
       coalesce(i.type, o.type, 'storage')
FROM import_locations i LEFT JOIN locations o ON o.code = i.code
ON CONFLICT (code) DO UPDATE SET
    zone = excluded.zone, name = excluded.name, gln = excluded.gln, updated_at = now(),
    type = excluded.type,
    max_weight_g = CASE WHEN (SELECT i.sets_weight FROM import_locations i
                              WHERE i.code = excluded.code)
                        THEN excluded.max_weight_g ELSE l.max_weight_g END,
    max_volume_cm3 = CASE WHEN (SELECT i.sets_volume FROM import_locations i
                                WHERE i.code = excluded.code)
                          THEN excluded.max_volume_cm3 ELSE l.max_volume_cm3 END
RETURNING (xmax = 0) AS inserted
"""

# -- reads --------------------------------------------------------------------------

STOCK_OF_SKU: Final = """
SELECT p.sku, l.code AS location, s.lot, s.expiry, s.on_hand, s.reserved,
       stockd_expired(s.expiry) AND NOT s.quarantined AS expired, s.quarantined
FROM products p
LEFT JOIN stock s ON s.product_id = p.id AND (s.on_hand > 0 OR s.reserved > 0)
LEFT JOIN locations l ON l.id = s.location_id
WHERE p.sku = $1
ORDER BY l.code, s.lot
"""

# -- verify -------------------------------------------------------------------------

VERIFY_LEDGER_SUMS: Final = """
WITH ledger AS (
    SELECT product_id, location_id, lot, sum(delta) AS total
    FROM movements GROUP BY product_id, location_id, lot
)
SELECT p.sku, l.code AS location, coalesce(s.lot, g.lot) AS lot,
       coalesce(s.on_hand, 0) AS on_hand, coalesce(g.total, 0) AS ledger
FROM stock s
FULL JOIN ledger g
  ON g.product_id = s.product_id AND g.location_id = s.location_id AND g.lot = s.lot
JOIN products p ON p.id = coalesce(s.product_id, g.product_id)
JOIN locations l ON l.id = coalesce(s.location_id, g.location_id)
WHERE coalesce(s.on_hand, 0) <> coalesce(g.total, 0)
ORDER BY 1, 2, 3
LIMIT 1000
"""

VERIFY_NOT_NEGATIVE: Final = """
SELECT p.sku, l.code AS location, s.lot, s.on_hand, s.reserved
FROM stock s JOIN products p ON p.id = s.product_id JOIN locations l ON l.id = s.location_id
WHERE s.on_hand < 0 OR s.reserved < 0 OR s.reserved > s.on_hand
ORDER BY 1, 2, 3
LIMIT 1000
"""

VERIFY_RUNNING_BALANCES: Final = """
SELECT id, sku, location, lot, on_hand_after, running FROM (
    SELECT m.id, p.sku, l.code AS location, m.lot, m.on_hand_after,
           sum(m.delta) OVER (PARTITION BY m.product_id, m.location_id, m.lot
                              ORDER BY m.id) AS running
    FROM movements m JOIN products p ON p.id = m.product_id
    JOIN locations l ON l.id = m.location_id
) w
WHERE on_hand_after <> running
ORDER BY id
LIMIT 1000
"""

VERIFY_KEYS: Final = """
SELECT k.key, k.rejection IS NOT NULL AS rejected, count(m.id) AS rows
FROM idempotency_keys k LEFT JOIN movements m ON m.idempotency_key = k.key
GROUP BY k.key, k.rejection
HAVING (k.rejection IS NULL AND count(m.id) = 0
        AND NOT EXISTS (SELECT 1 FROM count_task_keys c WHERE c.key = k.key))
    OR (k.rejection IS NOT NULL AND count(m.id) > 0)
ORDER BY k.key
LIMIT 1000
"""

VERIFY_UNDOS: Final = """
SELECT u.id, u.reverses
FROM movements u JOIN movements o ON o.id = u.reverses
WHERE u.kind <> 'undo' OR o.kind = 'undo' OR u.delta <> -o.delta
   OR u.product_id <> o.product_id OR u.location_id <> o.location_id OR u.lot <> o.lot
ORDER BY u.id
LIMIT 1000
"""

COUNT_TOTALS: Final = """
SELECT (SELECT count(*) FROM movements) AS movements,
       (SELECT count(*) FROM stock) AS stock_rows,
       (SELECT count(*) FROM products) AS products,
       (SELECT count(*) FROM locations) AS locations
"""

# -- gateway ------------------------------------------------------------------------

INSERT_EVENT: Final = "INSERT INTO outbox (type, payload) VALUES ($1, $2::jsonb)"

INSERT_SPOOL_EXCEPTION: Final = """
WITH x AS (
    INSERT INTO spool_exceptions (key, scanner, scan_seq, command, problem_type, reason,
                                  spooled_at)
    VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)
    ON CONFLICT (key) DO NOTHING
    RETURNING id, key, scanner, problem_type, reason
)
INSERT INTO outbox (type, payload)
SELECT 'spool.exception', jsonb_build_object('exception_id', id, 'key', key, 'scanner', scanner,
                                             'problem_type', problem_type, 'reason', reason)
FROM x
"""

UPSERT_SCANNER_STATE: Final = """
INSERT INTO scanner_states (id, gateway, url, state, detail, mode, location, last_scan_at,
                            last_code, counters, operator, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, now())
ON CONFLICT (id) DO UPDATE SET
    gateway = excluded.gateway, url = excluded.url, state = excluded.state,
    detail = excluded.detail, mode = excluded.mode, location = excluded.location,
    last_scan_at = excluded.last_scan_at, last_code = excluded.last_code,
    counters = excluded.counters, operator = excluded.operator, updated_at = now()
"""

LIST_SPOOL_EXCEPTIONS: Final = """
SELECT id, key, scanner, scan_seq, command::text AS command, problem_type, reason, spooled_at,
       created_at, resolved_at, resolved_by, resolution
FROM spool_exceptions
WHERE ($1::boolean OR resolved_at IS NULL) AND id > $2
ORDER BY id
LIMIT $3
"""

# -- tokens -------------------------------------------------------------------------

INSERT_TOKEN: Final = """
INSERT INTO api_tokens (name, role, prefix, secret_hash, expires_at) VALUES ($1, $2, $3, $4, $5)
RETURNING id, name, role, prefix, created_at, revoked_at, last_used_at, expires_at
"""

TOKEN_BY_PREFIX: Final = """
SELECT id, name, role, prefix, secret_hash, created_at, revoked_at, last_used_at, expires_at,
       expires_at IS NOT NULL AND expires_at <= now() AS expired
FROM api_tokens WHERE prefix = $1
"""

TOKENS_BY_REF: Final = """
SELECT id, name, role, prefix, created_at, revoked_at, last_used_at, expires_at
FROM api_tokens WHERE id = $1 OR prefix = $2 ORDER BY id LIMIT 2
"""

TOUCH_TOKENS: Final = """
UPDATE api_tokens SET last_used_at = now()
WHERE id = ANY($1::bigint[])
  AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
"""

INVALID_TOKEN_IDS: Final = """
SELECT given.id FROM unnest($1::bigint[]) AS given (id)
WHERE NOT EXISTS (
    SELECT 1 FROM api_tokens t
    WHERE t.id = given.id AND t.revoked_at IS NULL
      AND (t.expires_at IS NULL OR t.expires_at > now())
)
"""

LIST_TOKENS: Final = """
SELECT id, name, role, prefix, created_at, revoked_at, last_used_at, expires_at
FROM api_tokens WHERE id > $1 ORDER BY id LIMIT $2
"""

REVOKE_TOKEN: Final = """
UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1
RETURNING id, name, role, prefix, created_at, revoked_at, last_used_at, expires_at
"""

# -- feed ---------------------------------------------------------------------------

# The horizon is read before the lock is tried (a horizon older than needed only
# leaves rows for the next step); the numbering runs in a later statement, whose
# snapshot sees whatever another node numbered before it let go of the lock.
LOCK_SEQUENCER: Final = """
SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin,
       pg_try_advisory_xact_lock(7243100002) AS locked
"""

# Rows whose transactions have all ended get the next seq values, in id order.
ASSIGN_FEED_SEQ: Final = """
WITH base AS (SELECT coalesce(max(seq), 0) AS top FROM outbox),
ready AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n
    FROM outbox
    WHERE seq IS NULL AND txid::text::bigint < $1
)
UPDATE outbox o SET seq = base.top + ready.n
FROM ready, base
WHERE o.id = ready.id
RETURNING o.seq, o.ts, o.type, o.payload::text AS payload, base.top
"""

NOTIFY_FEED: Final = "SELECT pg_notify('stockd_feed', $1)"

FEED_AFTER: Final = """
SELECT seq, ts, type, payload::text AS payload FROM outbox
WHERE seq > $1 ORDER BY seq LIMIT $2
"""

FEED_HEAD: Final = "SELECT coalesce(max(seq), 0) FROM outbox"

FEED_TAIL: Final = "SELECT coalesce(min(seq), 1) FROM outbox WHERE seq IS NOT NULL"

# -- alerts -------------------------------------------------------------------------

LOCK_PRODUCT: Final = "SELECT reorder_point FROM products WHERE id = $1 FOR NO KEY UPDATE"

RAISE_ALERT: Final = """
WITH a AS (
    INSERT INTO alerts (product_id, kind, available, threshold)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (product_id, kind) WHERE cleared_at IS NULL DO NOTHING
    RETURNING id
)
INSERT INTO outbox (type, payload)
SELECT 'alert.raised', jsonb_build_object('alert_id', a.id, 'kind', $2::text, 'sku', $5::text,
                                          'available', $3::bigint, 'threshold', $4::bigint)
FROM a
"""

CLEAR_ALERT: Final = """
WITH a AS (
    UPDATE alerts SET cleared_at = now()
    WHERE product_id = $1 AND kind = $2 AND cleared_at IS NULL
    RETURNING id
)
INSERT INTO outbox (type, payload)
SELECT 'alert.cleared', jsonb_build_object('alert_id', a.id, 'kind', $2::text, 'sku', $3::text,
                                           'available', $4::bigint)
FROM a
"""

ALERT_COLUMNS: Final = """
SELECT a.id, a.kind, p.sku, p.name, a.raised_at, a.available, a.threshold,
       a.acknowledged_at, a.acknowledged_by, a.cleared_at, a.detail::text AS detail
FROM alerts a JOIN products p ON p.id = a.product_id
"""

ALERT_BY_ID: Final = ALERT_COLUMNS + " WHERE a.id = $1"

PING: Final = "SELECT 1"

# -- floor snapshot -----------------------------------------------------------------

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
SELECT seq, ts, type, payload::text AS payload FROM outbox
WHERE seq IS NOT NULL AND type = ANY($1::text[]) AND seq <= $2
ORDER BY seq DESC LIMIT $3
"""

# -- API reads ----------------------------------------------------------------------
# Keyset pagination everywhere: "after" is the last id of the previous page.

_API_PRODUCT_COLUMNS: Final = """
SELECT p.id, p.sku, p.name, p.category, p.unit_cost, p.weight_g, p.length_mm, p.width_mm,
       p.height_mm, p.reorder_point, p.reorder_qty, p.lead_time_days, p.safety_stock,
       p.backorder_allowed, p.created_at, p.updated_at,
       coalesce((SELECT json_agg(json_build_object('code', b.code, 'pack_size', b.pack_size)
                                 ORDER BY b.pack_size, b.code)
                 FROM product_barcodes b WHERE b.product_id = p.id)::text, '[]') AS barcodes
FROM products p
"""

API_LIST_PRODUCTS: Final = (
    _API_PRODUCT_COLUMNS
    + """ WHERE p.id > $1 AND ($2::text IS NULL OR p.category = $2)
ORDER BY p.id LIMIT $3"""
)

API_PRODUCT_BY_SKU: Final = _API_PRODUCT_COLUMNS + " WHERE p.sku = $1"

API_LOCK_PRODUCT_BY_SKU: Final = _API_PRODUCT_COLUMNS + " WHERE p.sku = $1 FOR NO KEY UPDATE OF p"

API_INSERT_PRODUCT: Final = """
INSERT INTO products (sku, name, category, unit_cost, weight_g, length_mm, width_mm, height_mm,
                      reorder_point, reorder_qty, lead_time_days, safety_stock, backorder_allowed)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (sku) DO NOTHING
RETURNING id
"""

API_UPDATE_PRODUCT: Final = """
UPDATE products SET name = $2, category = $3, unit_cost = $4, weight_g = $5, length_mm = $6,
    width_mm = $7, height_mm = $8, reorder_point = $9, reorder_qty = $10,
    lead_time_days = $11, safety_stock = $12, backorder_allowed = $13, updated_at = now()
WHERE id = $1
"""

API_BARCODE_OWNERS: Final = """
SELECT b.code, p.sku FROM product_barcodes b JOIN products p ON p.id = b.product_id
WHERE b.code = ANY($1::text[]) AND b.product_id <> $2
ORDER BY b.code
"""

API_DELETE_PRODUCT_BARCODES: Final = "DELETE FROM product_barcodes WHERE product_id = $1"

API_INSERT_PRODUCT_BARCODES: Final = """
INSERT INTO product_barcodes (code, product_id, pack_size)
SELECT code, $1, pack_size FROM unnest($2::text[], $3::integer[]) AS b(code, pack_size)
"""

_API_LOCATION_COLUMNS: Final = """
SELECT id, code, warehouse, zone, name, gln, max_weight_g, max_volume_cm3, type,
       created_at, updated_at
FROM locations
"""

API_LIST_LOCATIONS: Final = (
    _API_LOCATION_COLUMNS
    + """ WHERE id > $1 AND ($2::text IS NULL OR zone = $2)
ORDER BY id LIMIT $3"""
)

API_LOCATION_BY_CODE: Final = _API_LOCATION_COLUMNS + " WHERE code = $1"

API_LOCATION_BY_GLN: Final = _API_LOCATION_COLUMNS + " WHERE gln = $1"

API_INSERT_LOCATION: Final = """
INSERT INTO locations (code, zone, name, gln, max_weight_g, max_volume_cm3, type)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT DO NOTHING
RETURNING id
"""

# Products for the stock list: $2 sku, $3 location code, $4 zone, $5 below reorder point;
# on_order is what open purchase orders still bring, backordered what open orders wait for.
# Product-wide availability decides "below reorder point"; location/zone filters keep
# products with stock there.
API_LIST_STOCK_PRODUCTS: Final = """
SELECT p.id, p.sku, p.name, p.reorder_point,
       t.available AS product_available,
       (SELECT coalesce(sum(pl.quantity - pl.received), 0)
        FROM purchase_order_lines pl JOIN purchase_orders po ON po.id = pl.po_id
        WHERE pl.product_id = p.id AND po.status = 'open' AND pl.received < pl.quantity
       ) AS on_order,
       (SELECT coalesce(sum(ol.backordered), 0)
        FROM order_lines ol JOIN orders o ON o.id = ol.order_id
        WHERE ol.product_id = p.id AND o.status = 'open' AND ol.backordered > 0
       ) AS backordered
FROM products p
CROSS JOIN LATERAL (
    SELECT coalesce(sum(s.on_hand - s.reserved)
                    FILTER (WHERE stockd_available(s.expiry, s.quarantined)), 0) AS available
    FROM stock s WHERE s.product_id = p.id
) t
WHERE p.id > $1
  AND ($2::text IS NULL OR p.sku = $2)
  AND (($3::text IS NULL AND $4::text IS NULL) OR EXISTS (
        SELECT 1 FROM stock s JOIN locations l ON l.id = s.location_id
        WHERE s.product_id = p.id AND (s.on_hand > 0 OR s.reserved > 0)
          AND ($3::text IS NULL OR l.code = $3) AND ($4::text IS NULL OR l.zone = $4)))
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

API_STOCK_ROWS_OF_PRODUCTS: Final = """
SELECT s.product_id, l.code AS location, l.zone, s.lot, s.expiry, s.on_hand, s.reserved,
       stockd_expired(s.expiry) AND NOT s.quarantined AS expired, s.quarantined
FROM stock s JOIN locations l ON l.id = s.location_id
WHERE s.product_id = ANY($1::integer[]) AND (s.on_hand > 0 OR s.reserved > 0)
  AND ($2::text IS NULL OR l.code = $2) AND ($3::text IS NULL OR l.zone = $3)
ORDER BY s.product_id, l.code, s.lot
"""

# Movements: $1 keyset bound, $2 sku, $3 location, $4 kind, $5 scanner, $6 from, $7 to,
# $8 operator.
_API_MOVEMENT_FILTERS: Final = """
  AND ($2::text IS NULL OR p.sku = $2)
  AND ($3::text IS NULL OR l.code = $3)
  AND ($4::text IS NULL OR m.kind = $4)
  AND ($5::text IS NULL OR m.scanner = $5)
  AND ($6::timestamptz IS NULL OR m.ts >= $6)
  AND ($7::timestamptz IS NULL OR m.ts < $7)
  AND ($8::text IS NULL OR m.operator = $8)
"""

API_LIST_MOVEMENTS_ASC: Final = (
    _MOVEMENT_COLUMNS + " WHERE m.id > $1" + _API_MOVEMENT_FILTERS + " ORDER BY m.id LIMIT $9"
)

API_LIST_MOVEMENTS_DESC: Final = (
    _MOVEMENT_COLUMNS + " WHERE m.id < $1" + _API_MOVEMENT_FILTERS + " ORDER BY m.id DESC LIMIT $9"
)

API_EXPORT_MOVEMENTS: Final = (
    """
SELECT m.id, m.ts, m.kind, p.sku, l.code AS location, m.lot, m.delta, m.on_hand_after,
       m.scanner, m.scan_seq, m.actor, m.note, m.reverses, m.operator, m.reason
FROM movements m JOIN products p ON p.id = m.product_id JOIN locations l ON l.id = m.location_id
WHERE m.id > $1"""
    + _API_MOVEMENT_FILTERS
    + " ORDER BY m.id"
)

API_LIST_SCANNER_STATES: Final = """
SELECT id, gateway, url, state, detail, mode, location, last_scan_at, last_code,
       counters::text AS counters, updated_at, operator
FROM scanner_states ORDER BY id
"""

API_LIST_ALERTS: Final = (
    ALERT_COLUMNS
    + """ WHERE a.id > $1 AND ($2::boolean OR a.cleared_at IS NULL)
  AND ($3::text IS NULL OR a.kind = $3) AND ($4::text IS NULL OR p.sku = $4)
ORDER BY a.id LIMIT $5"""
)

API_SPOOL_EXCEPTION_BY_ID: Final = """
SELECT id, key, scanner, scan_seq, command::text AS command, problem_type, reason, spooled_at,
       created_at, resolved_at, resolved_by, resolution
FROM spool_exceptions WHERE id = $1
"""

# The first resolution stands; resolving again changes nothing.
API_RESOLVE_SPOOL_EXCEPTION: Final = """
UPDATE spool_exceptions
SET resolved_at = coalesce(resolved_at, now()), resolved_by = coalesce(resolved_by, $2),
    resolution = coalesce(resolution, $3)
WHERE id = $1
RETURNING id
"""

# Only the first acknowledgement changes the alert and emits alert.acknowledged.
API_ACKNOWLEDGE_ALERT: Final = """
WITH a AS (
    UPDATE alerts SET acknowledged_at = now(), acknowledged_by = $2
    WHERE id = $1 AND acknowledged_at IS NULL
    RETURNING id, kind, product_id, acknowledged_by
), e AS (
    INSERT INTO outbox (type, payload)
    SELECT 'alert.acknowledged', jsonb_build_object('alert_id', a.id, 'kind', a.kind,
                                                    'sku', p.sku, 'by', a.acknowledged_by)
    FROM a JOIN products p ON p.id = a.product_id
)
SELECT count(*) FROM a
"""

# -- demand history -----------------------------------------------------------------

CREATE_IMPORT_HISTORY: Final = """
CREATE TEMP TABLE import_history (line integer, sku text, day date, quantity integer)
ON COMMIT DROP
"""

IMPORT_HISTORY_UNKNOWN_SKUS: Final = """
SELECT h.line, h.sku FROM import_history h
LEFT JOIN products p ON p.sku = h.sku
WHERE p.id IS NULL
ORDER BY h.line
LIMIT 1000
"""

UPSERT_IMPORTED_HISTORY: Final = """
INSERT INTO demand_history (product_id, day, quantity)
SELECT p.id, h.day, h.quantity FROM import_history h JOIN products p ON p.sku = h.sku
ON CONFLICT (product_id, day) DO UPDATE SET quantity = excluded.quantity, imported_at = now()
RETURNING (xmax = 0) AS inserted
"""

# -- orders, reservations, backorders -------------------------------------------------

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

PICK_RESERVED_STOCK: Final = """
UPDATE stock SET on_hand = on_hand - $4, reserved = reserved - $4, updated_at = now()
WHERE product_id = $1 AND location_id = $2 AND lot = $3 AND reserved >= $4 AND on_hand >= $4
RETURNING on_hand
"""

ADD_RESERVATION: Final = """
INSERT INTO reservations (order_line_id, product_id, location_id, lot, quantity)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (order_line_id, location_id, lot)
DO UPDATE SET quantity = reservations.quantity + excluded.quantity
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

# -- purchase orders ------------------------------------------------------------------

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

# -- verify: reservations ---------------------------------------------------------------

VERIFY_RESERVATIONS: Final = """
WITH held AS (
    SELECT product_id, location_id, lot, sum(quantity) AS held
    FROM reservations GROUP BY product_id, location_id, lot
)
SELECT p.sku, l.code AS location, s.lot, s.reserved, coalesce(h.held, 0) AS held
FROM stock s
LEFT JOIN held h USING (product_id, location_id, lot)
JOIN products p ON p.id = s.product_id JOIN locations l ON l.id = s.location_id
WHERE s.reserved <> coalesce(h.held, 0)
LIMIT 1000
"""

# Quarantine stock is never reserved, and every stock row knows its location's type.
VERIFY_QUARANTINE: Final = """
SELECT p.sku, l.code AS location, s.lot, s.reserved, s.quarantined, l.type,
       (SELECT coalesce(sum(r.quantity), 0) FROM reservations r
        WHERE (r.product_id, r.location_id, r.lot) = (s.product_id, s.location_id, s.lot))
           AS held
FROM stock s JOIN products p ON p.id = s.product_id JOIN locations l ON l.id = s.location_id
WHERE s.quarantined <> (l.type = 'quarantine')
   OR (l.type = 'quarantine' AND (s.reserved <> 0 OR EXISTS (
        SELECT 1 FROM reservations r
        WHERE (r.product_id, r.location_id, r.lot) = (s.product_id, s.location_id, s.lot))))
ORDER BY 1, 2, 3
LIMIT 1000
"""

VERIFY_ORDER_LINES: Final = """
SELECT o.number, p.sku, o.status, ol.quantity, ol.reserved, ol.backordered, ol.picked,
       coalesce((SELECT sum(quantity) FROM reservations r WHERE r.order_line_id = ol.id), 0)
           AS held
FROM order_lines ol JOIN orders o ON o.id = ol.order_id JOIN products p ON p.id = ol.product_id
WHERE ol.reserved <> coalesce(
          (SELECT sum(quantity) FROM reservations r WHERE r.order_line_id = ol.id), 0)
   OR (o.status = 'open' AND ol.reserved + ol.backordered + ol.picked <> ol.quantity)
   OR (o.status = 'complete' AND ol.picked <> ol.quantity)
   OR (o.status = 'cancelled' AND (ol.reserved <> 0 OR ol.backordered <> 0))
LIMIT 1000
"""

VERIFY_FIFO: Final = """
SELECT p.sku, sum(s.on_hand - s.reserved) AS available, min(w.backordered) AS waiting
FROM products p
JOIN stock s ON s.product_id = p.id AND stockd_available(s.expiry, s.quarantined)
JOIN LATERAL (
    SELECT sum(ol.backordered) AS backordered FROM order_lines ol
    JOIN orders o ON o.id = ol.order_id
    WHERE ol.product_id = p.id AND o.status = 'open' AND ol.backordered > 0
) w ON w.backordered > 0
GROUP BY p.sku
HAVING sum(s.on_hand - s.reserved) > 0
LIMIT 1000
"""

PRODUCTS_BY_SKU: Final = "SELECT id, sku FROM products WHERE sku = ANY($1::text[])"

# -- simulation ---------------------------------------------------------------------

SIMULATION_CATALOG: Final = """
SELECT b.code, l.code AS location
FROM product_barcodes b
JOIN stock s ON s.product_id = b.product_id AND s.on_hand > 0
JOIN locations l ON l.id = s.location_id
WHERE b.pack_size = 1 AND b.code ~ '^[0-9]{14}$'
ORDER BY s.on_hand DESC
LIMIT $1
"""

# -- analytics ----------------------------------------------------------------------
# Forecasts, replenishment, projected-stockout alerts and reports. Weeks are ISO weeks
# (Monday first) and days are UTC days. Outbound demand is picks less the undo rows
# that reverse them, dated by the pick.

# Products with their stock position: $1 keyset bound (id), $2 sku or NULL, $3 limit.
ANALYTICS_POSITIONS: Final = """
SELECT p.id, p.sku, p.reorder_qty, p.lead_time_days, p.safety_stock,
       coalesce(s.on_hand, 0)::bigint AS on_hand, coalesce(s.reserved, 0)::bigint AS reserved,
       coalesce(s.expired, 0)::bigint AS expired,
       coalesce(b.backordered, 0)::bigint AS backordered,
       a.arrival_dates, a.arrival_quantities
FROM products p
LEFT JOIN LATERAL (
    SELECT sum(on_hand) AS on_hand, sum(reserved) AS reserved,
           sum(on_hand - reserved) FILTER (WHERE NOT stockd_available(expiry, quarantined))
               AS expired
    FROM stock WHERE product_id = p.id
) s ON true
LEFT JOIN LATERAL (
    SELECT sum(ol.backordered) AS backordered
    FROM order_lines ol JOIN orders o ON o.id = ol.order_id
    WHERE ol.product_id = p.id AND o.status = 'open' AND ol.backordered > 0
) b ON true
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(po.expected_date ORDER BY po.expected_date, po.id), '{}')
               AS arrival_dates,
           coalesce(array_agg(pol.quantity - pol.received ORDER BY po.expected_date, po.id),
                    '{}') AS arrival_quantities
    FROM purchase_order_lines pol JOIN purchase_orders po ON po.id = pol.po_id
    WHERE pol.product_id = p.id AND po.status = 'open' AND pol.quantity > pol.received
) a
WHERE p.id > $1 AND ($2::text IS NULL OR p.sku = $2)
ORDER BY p.id
LIMIT $3
"""

ANALYTICS_CACHED_FORECASTS: Final = """
SELECT f.product_id, p.sku, f.method, f.weeks::text AS weeks, f.detail::text AS detail,
       f.computed_at
FROM forecasts f JOIN products p ON p.id = f.product_id
WHERE $1::integer[] IS NULL OR f.product_id = ANY($1)
"""

ANALYTICS_SAVE_FORECAST: Final = """
INSERT INTO forecasts (product_id, computed_at, method, weeks, detail)
VALUES ($1, now(), $2, $3::jsonb, $4::jsonb)
ON CONFLICT (product_id) DO UPDATE SET
    computed_at = excluded.computed_at, method = excluded.method, weeks = excluded.weeks,
    detail = excluded.detail
"""

ANALYTICS_ACTIVE_STOCKOUTS: Final = """
SELECT product_id FROM alerts WHERE kind = 'projected_stockout' AND cleared_at IS NULL
"""

# $1 product id, $2 available, $3 threshold (forecast demand until a replenishment
# ordered today arrives), $4 sku, $5 detail (jsonb object, also merged into the event).
RAISE_PROJECTED_STOCKOUT: Final = """
WITH a AS (
    INSERT INTO alerts (product_id, kind, available, threshold, detail)
    VALUES ($1, 'projected_stockout', $2, $3, $5::jsonb)
    ON CONFLICT (product_id, kind) WHERE cleared_at IS NULL DO NOTHING
    RETURNING id
)
INSERT INTO outbox (type, payload)
SELECT 'alert.raised',
       $5::jsonb || jsonb_build_object('alert_id', a.id, 'kind', 'projected_stockout',
                                       'sku', $4::text, 'available', $2::bigint,
                                       'threshold', $3::bigint)
FROM a
RETURNING (payload->>'alert_id')::bigint AS alert_id
"""

# $1 product id, $2 sku, $3 available, $4 detail (jsonb object, merged into the event).
CLEAR_PROJECTED_STOCKOUT: Final = """
WITH a AS (
    UPDATE alerts SET cleared_at = now()
    WHERE product_id = $1 AND kind = 'projected_stockout' AND cleared_at IS NULL
    RETURNING id
)
INSERT INTO outbox (type, payload)
SELECT 'alert.cleared',
       $4::jsonb || jsonb_build_object('alert_id', a.id, 'kind', 'projected_stockout',
                                       'sku', $2::text, 'available', $3::bigint)
FROM a
RETURNING (payload->>'alert_id')::bigint AS alert_id
"""

# Turnover over [$1, $2): on hand at both ends and outbound units in between.
REPORT_TURNOVER: Final = """
SELECT p.sku, p.name, p.category, p.unit_cost,
       coalesce(sum(m.delta) FILTER (WHERE m.ts < $1), 0)::bigint AS opening,
       coalesce(sum(m.delta), 0)::bigint AS closing,
       coalesce((SELECT sum(-o.delta - coalesce(u.delta, 0))
                 FROM movements o LEFT JOIN movements u ON u.reverses = o.id
                 WHERE o.product_id = p.id AND o.kind = 'pick' AND o.ts >= $1 AND o.ts < $2),
                0)::bigint AS units_out,
       coalesce((SELECT sum(o.delta + coalesce(u.delta, 0))
                 FROM movements o LEFT JOIN movements u ON u.reverses = o.id
                 WHERE o.product_id = p.id AND o.kind = 'return' AND o.ts >= $1 AND o.ts < $2),
                0)::bigint AS returned,
       coalesce((SELECT sum(-o.delta - coalesce(u.delta, 0))
                 FROM movements o LEFT JOIN movements u ON u.reverses = o.id
                 WHERE o.product_id = p.id AND o.kind = 'scrap' AND o.ts >= $1 AND o.ts < $2),
                0)::bigint AS scrapped
FROM products p LEFT JOIN movements m ON m.product_id = p.id AND m.ts < $2
GROUP BY p.id
ORDER BY p.sku
"""

# Deadstock at $1, window from $2: on hand, last pick not undone, outbound in the window.
REPORT_ACTIVITY: Final = """
SELECT p.sku, p.name, p.category, p.unit_cost,
       coalesce((SELECT sum(m.delta) FROM movements m
                 WHERE m.product_id = p.id AND m.ts < $1), 0)::bigint AS on_hand,
       (SELECT max(o.ts) FROM movements o
        WHERE o.product_id = p.id AND o.kind = 'pick' AND o.ts < $1
          AND NOT EXISTS (SELECT 1 FROM movements u WHERE u.reverses = o.id)) AS last_outbound,
       coalesce((SELECT sum(-o.delta - coalesce(u.delta, 0))
                 FROM movements o LEFT JOIN movements u ON u.reverses = o.id
                 WHERE o.product_id = p.id AND o.kind = 'pick' AND o.ts >= $2 AND o.ts < $1),
                0)::bigint AS units_out
FROM products p
ORDER BY p.sku
"""

# Valuation: on hand at $1 from the ledger.
REPORT_HOLDINGS: Final = """
SELECT p.sku, p.name, p.category, p.unit_cost, coalesce(sum(m.delta), 0)::bigint AS on_hand
FROM products p LEFT JOIN movements m ON m.product_id = p.id AND m.ts < $1
GROUP BY p.id
ORDER BY p.sku
"""

NOTIFY_OUTBOX: Final = "SELECT pg_notify('stockd_outbox', '')"

FIND_PRODUCT_FOR_UPDATE: Final = """
SELECT p.id, p.sku, p.reorder_point,
       coalesce((SELECT b.pack_size FROM product_barcodes b
                 WHERE b.code = $1 AND b.product_id = p.id), 1) AS pack_size
FROM products p
WHERE p.id = coalesce((SELECT b.product_id FROM product_barcodes b WHERE b.code = $1),
                      (SELECT s.id FROM products s WHERE s.sku = $2))
FOR NO KEY UPDATE OF p
"""
