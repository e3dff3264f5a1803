"""SQL of stock alerts: raised and cleared with stock, listed and acknowledged.

Every statement a named ``Final`` constant, named for what it does.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACKNOWLEDGE_ALERT",
    "ALERT_BY_ID",
    "CLEAR_ALERT",
    "LIST_ALERTS",
    "RAISE_ALERT",
]

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

_ALERT_COLUMNS: Final = """
SELECT a.id, a.kind, p.sku, p.name, a.raised_at, a.available, a.threshold,
       a.acknowledged_at, a.acknowledged_by, a.cleared_at, a.detail::text AS detail
FROM alerts a JOIN products p ON p.id = a.product_id
"""

ALERT_BY_ID: Final = _ALERT_COLUMNS + " WHERE a.id = $1"

LIST_ALERTS: Final = (
    _ALERT_COLUMNS
    + """ WHERE a.id > $1 AND ($2::boolean OR a.cleared_at IS NULL)
  AND ($3::text IS NULL OR a.kind = $3) AND ($4::text IS NULL OR p.sku = $4)
ORDER BY a.id LIMIT $5"""
)

# Only the first acknowledgement changes the alert and emits alert.acknowledged.
ACKNOWLEDGE_ALERT: Final = """
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
