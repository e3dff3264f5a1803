"""Expired stock: the ``expired`` alert (raised at write time and by the periodic
sweep) and the expiry report's rows.

A row has expired when its expiry date is before ``stockd_today()``, the UTC date
(migration 0009 defines both SQL functions; ``stockd_expired(expiry)`` is the test).
Its units, less what orders reserved before it expired, are ``expired``: on hand but
never available.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from stock_core.domain.reports import DatedStock
from stock_core.store.connection import Connection
from stock_core.store.records import from_record
from stock_core.types import Sku

__all__ = [
    "RAISE_EXPIRED_ALERT",
    "ExpirySweep",
    "dated_stock",
    "raise_expired_alert",
    "sweep_expired_alerts",
]

# $1 product id, $2 sku, $3 available. The alert's detail (merged into the event) holds
# the expired units and the earliest expiry among them. Does nothing when the product
# has no expired units or its alert is up already.
RAISE_EXPIRED_ALERT: Final = """
WITH e AS (
    SELECT sum(s.on_hand - s.reserved)::bigint AS expired, min(s.expiry) AS expiry
    FROM stock s
    WHERE s.product_id = $1 AND stockd_expired(s.expiry) AND NOT s.quarantined
      AND s.on_hand > s.reserved
    HAVING sum(s.on_hand - s.reserved) > 0
), a AS (
    INSERT INTO alerts (product_id, kind, available, threshold, detail)
    SELECT $1, 'expired', $3, 0, jsonb_build_object('expired', e.expired, 'expiry', e.expiry)
    FROM e
    ON CONFLICT (product_id, kind) WHERE cleared_at IS NULL DO NOTHING
    RETURNING id, detail
)
INSERT INTO outbox (type, payload)
SELECT 'alert.raised', a.detail || jsonb_build_object('alert_id', a.id, 'kind', 'expired',
                                                      'sku', $2::text, 'available', $3::bigint,
                                                      'threshold', 0)
FROM a
"""

# The sweep, set-wise: every product with expired units and no active alert gets one.
SWEEP_RAISE_EXPIRED: Final = """
WITH e AS (
    SELECT s.product_id,
           sum(s.on_hand - s.reserved)
               FILTER (WHERE stockd_expired(s.expiry) AND NOT s.quarantined)::bigint AS expired,
           min(s.expiry) FILTER (WHERE stockd_expired(s.expiry) AND NOT s.quarantined
                                   AND s.on_hand > s.reserved) AS expiry,
           coalesce(sum(s.on_hand - s.reserved)
                    FILTER (WHERE stockd_available(s.expiry, s.quarantined)), 0)::bigint
               AS available
    FROM stock s
    WHERE s.product_id IN (SELECT product_id FROM stock
                           WHERE expiry < stockd_today() AND on_hand > reserved
                             AND NOT quarantined)
    GROUP BY s.product_id
), a AS (
    INSERT INTO alerts (product_id, kind, available, threshold, detail)
    SELECT e.product_id, 'expired', e.available, 0,
           jsonb_build_object('expired', e.expired, 'expiry', e.expiry)
    FROM e WHERE e.expired > 0
    ORDER BY e.product_id
    ON CONFLICT (product_id, kind) WHERE cleared_at IS NULL DO NOTHING
    RETURNING id, product_id, available, detail
)
INSERT INTO outbox (type, payload)
SELECT 'alert.raised', a.detail || jsonb_build_object('alert_id', a.id, 'kind', 'expired',
                                                      'sku', p.sku, 'available', a.available,
                                                      'threshold', 0)
FROM a JOIN products p ON p.id = a.product_id
ORDER BY a.id
RETURNING payload->>'sku' AS sku
"""

# The sweep: every active expired alert whose product has no expired units left clears.
SWEEP_CLEAR_EXPIRED: Final = """
WITH a AS (
    UPDATE alerts al SET cleared_at = now()
    WHERE al.kind = 'expired' AND al.cleared_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM stock s
                      WHERE s.product_id = al.product_id AND stockd_expired(s.expiry)
                        AND NOT s.quarantined AND s.on_hand > s.reserved)
    RETURNING al.id, al.product_id
)
INSERT INTO outbox (type, payload)
SELECT 'alert.cleared',
       jsonb_build_object('alert_id', a.id, 'kind', 'expired', 'sku', p.sku,
                          'available', (SELECT coalesce(sum(s.on_hand - s.reserved), 0)::bigint
                                        FROM stock s WHERE s.product_id = a.product_id
                                          AND stockd_available(s.expiry,
                                                               s.quarantined)),
                          'expired', 0)
FROM a JOIN products p ON p.id = a.product_id
ORDER BY a.id
RETURNING payload->>'sku' AS sku
"""

# Stock rows holding units that expire before $1 days from today: the expiry report.
DATED_STOCK: Final = """
SELECT p.sku, p.name, p.category, p.unit_cost, l.code AS location, s.lot, s.expiry,
       s.on_hand, s.reserved, stockd_today() AS today
FROM stock s JOIN products p ON p.id = s.product_id JOIN locations l ON l.id = s.location_id
WHERE s.expiry IS NOT NULL AND s.on_hand > 0 AND s.expiry < stockd_today() + $1::integer
ORDER BY s.expiry, p.sku, l.code, s.lot
"""

TODAY: Final = "SELECT stockd_today()"


async def raise_expired_alert(conn: Connection, product_id: int, sku: str, available: int) -> None:
    """Raise the product's ``expired`` alert if it has expired units and none is up."""
    await conn.execute(RAISE_EXPIRED_ALERT, product_id, sku, available)


@dataclass(frozen=True)
class ExpirySweep:
    """One pass of the periodic check: the products whose alert rose or cleared."""

    raised: tuple[Sku, ...]
    cleared: tuple[Sku, ...]


async def sweep_expired_alerts(conn: Connection) -> ExpirySweep:
    """Raise ``expired`` for every product whose stock passed its date and clear it
    where none is left, each with its event, in one transaction."""
    async with conn.transaction():
        raised = [Sku(r["sku"]) for r in await conn.fetch(SWEEP_RAISE_EXPIRED)]
        cleared = [Sku(r["sku"]) for r in await conn.fetch(SWEEP_CLEAR_EXPIRED)]
    return ExpirySweep(tuple(raised), tuple(cleared))


async def dated_stock(conn: Connection, days: int) -> tuple[date, list[DatedStock]]:
    """Today (UTC, as the database sees it) and the rows expiring before ``days`` from it."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        today: date = await conn.fetchval(TODAY)
        rows = await conn.fetch(DATED_STOCK, days)
    return today, [from_record(DatedStock, r) for r in rows]
