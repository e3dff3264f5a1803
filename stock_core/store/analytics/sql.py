"""SQL of analytics: stock positions, cached forecasts, projected stock-outs and reports.

Every statement a named ``Final`` constant, named for what it does.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACTIVE_PROJECTED_STOCKOUTS",
    "CACHED_FORECASTS",
    "CLEAR_PROJECTED_STOCKOUT",
    "DEMAND_PIECES",
    "PRODUCTS_FOR_FORECAST",
    "PRODUCT_POSITIONS",
    "RAISE_PROJECTED_STOCKOUT",
    "REPORT_ACTIVITY",
    "REPORT_HOLDINGS",
    "REPORT_TURNOVER",
    "SAVE_FORECAST",
]

# Products with their stock position: $1 keyset bound (id), $2 sku or NULL, $3 limit.
# Stock in transit between two warehouses is the company's and about to be available:
# it counts as on hand here, so replenishment does not order it again.
PRODUCT_POSITIONS: Final = """
SELECT p.id, p.sku, p.reorder_qty, p.lead_time_days, p.safety_stock,
       (coalesce(s.on_hand, 0) + t.in_transit)::bigint AS on_hand,
       coalesce(s.reserved, 0)::bigint AS reserved,
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
    SELECT coalesce(sum(tl.quantity - tl.received), 0) AS in_transit
    FROM transfer_lines tl WHERE tl.product_id = p.id AND tl.received < tl.quantity
) t
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

CACHED_FORECASTS: Final = """
SELECT f.product_id, p.sku, f.method, f.weeks::text AS weeks, f.detail::text AS detail,
       f.computed_at
FROM forecasts f JOIN products p ON p.id = f.product_id
WHERE $1::integer[] IS NULL OR f.product_id = ANY($1)
"""

SAVE_FORECAST: Final = """
INSERT INTO forecasts (product_id, computed_at, method, weeks, detail)
VALUES ($1, now(), $2, $3::jsonb, $4::jsonb)
ON CONFLICT (product_id) DO UPDATE SET
    computed_at = excluded.computed_at, method = excluded.method, weeks = excluded.weeks,
    detail = excluded.detail
"""

ACTIVE_PROJECTED_STOCKOUTS: Final = """
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


# Which ledger rows a report over one warehouse ($N) or all (NULL) sums for on-hand: that
# warehouse's locations; over all, every row but a transfer's (shipped and received they
# cancel out; in transit they are still the company's stock).
def _on_hand_rows(warehouse: str) -> str:
    return f"""(CASE WHEN {warehouse}::text IS NULL THEN m.transfer_id IS NULL
              ELSE m.location_id IN (
                  SELECT id FROM locations l WHERE l.warehouse = {warehouse}) END)"""


# Whether movement ``o`` is at one of the warehouse's locations (over all, anywhere).
def _at_warehouse(warehouse: str) -> str:
    return f"""({warehouse}::text IS NULL OR o.location_id IN (
               SELECT id FROM locations l WHERE l.warehouse = {warehouse}))"""


# The movements ``o`` of one kind of product p in [since, until) at the warehouse, each
# with the undo row ``u`` that reverses it, if any.
def _kind_between(kind: str, since: str, until: str, warehouse: str) -> str:
    return f"""FROM movements o LEFT JOIN movements u ON u.reverses = o.id
                 WHERE o.product_id = p.id AND o.kind = '{kind}'
                   AND o.ts >= {since} AND o.ts < {until} AND {_at_warehouse(warehouse)}"""


# Turnover over [$1, $2) (warehouse $3): on hand at both ends and outbound units between.
REPORT_TURNOVER: Final = f"""
SELECT p.sku, p.name, p.category, p.unit_cost,
       coalesce(sum(m.delta) FILTER (WHERE m.ts < $1), 0)::bigint AS opening,
       coalesce(sum(m.delta), 0)::bigint AS closing,
       coalesce((SELECT sum(-o.delta - coalesce(u.delta, 0))
                 {_kind_between("pick", "$1", "$2", "$3")}),
                0)::bigint AS units_out,
       coalesce((SELECT sum(o.delta + coalesce(u.delta, 0))
                 {_kind_between("return", "$1", "$2", "$3")}),
                0)::bigint AS returned,
       coalesce((SELECT sum(-o.delta - coalesce(u.delta, 0))
                 {_kind_between("scrap", "$1", "$2", "$3")}),
                0)::bigint AS scrapped
FROM products p LEFT JOIN movements m ON m.product_id = p.id AND m.ts < $2
    AND {_on_hand_rows("$3")}
GROUP BY p.id
ORDER BY p.sku
"""

# Deadstock at $1, window from $2 (warehouse $3): on hand, last pick not undone,
# outbound in the window.
REPORT_ACTIVITY: Final = f"""
SELECT p.sku, p.name, p.category, p.unit_cost,
       coalesce((SELECT sum(m.delta) FROM movements m
                 WHERE m.product_id = p.id AND m.ts < $1
                   AND {_on_hand_rows("$3")}),
                0)::bigint AS on_hand,
       (SELECT max(o.ts) FROM movements o
        WHERE o.product_id = p.id AND o.kind = 'pick' AND o.ts < $1 AND {_at_warehouse("$3")}
          AND NOT EXISTS (SELECT 1 FROM movements u WHERE u.reverses = o.id)) AS last_outbound,
       coalesce((SELECT sum(-o.delta - coalesce(u.delta, 0))
                 {_kind_between("pick", "$2", "$1", "$3")}),
                0)::bigint AS units_out
FROM products p
ORDER BY p.sku
"""

# Valuation: on hand at $1 from the ledger (warehouse $2; over all, in transit included).
REPORT_HOLDINGS: Final = f"""
SELECT p.sku, p.name, p.category, p.unit_cost, coalesce(sum(m.delta), 0)::bigint AS on_hand
FROM products p LEFT JOIN movements m ON m.product_id = p.id AND m.ts < $1
    AND {_on_hand_rows("$2")}
GROUP BY p.id
ORDER BY p.sku
"""

# Demand per product and *piece* (the days of an ISO week inside one calendar month,
# named by its first day) before the week starting $1 (a Monday); $2 product ids or
# NULL for all. Weekly totals are the pieces of a week, monthly ones those of a month.
# Demand is what customers asked for, not only what could be shipped (issue 12.16):
#   imported history, as imported;
#   order lines, on the day the order was placed, cancelled orders aside (a line that
#   was backordered is demand all the same: counting only picks would under-forecast
#   exactly the products that ran out);
#   picks not against an order — or against a cancelled one, whose lines are not
#   counted — less the undo rows that reverse them, dated by the pick. Picks against
#   a live order are already counted by its lines.
DEMAND_PIECES: Final = """
SELECT product_id,
       greatest(day - (extract(isodow FROM day)::integer - 1), date_trunc('month', day)::date)
           AS piece,
       sum(quantity)::bigint AS quantity
FROM (
    SELECT h.product_id, h.day, h.quantity::bigint AS quantity
    FROM demand_history h
    WHERE h.day < $1 AND ($2::integer[] IS NULL OR h.product_id = ANY($2))
    UNION ALL
    SELECT ol.product_id, (o.created_at AT TIME ZONE 'UTC')::date, ol.quantity::bigint
    FROM order_lines ol JOIN orders o ON o.id = ol.order_id
    WHERE o.status <> 'cancelled'
      AND o.created_at < ($1::date::timestamp AT TIME ZONE 'UTC')
      AND ($2::integer[] IS NULL OR ol.product_id = ANY($2))
    UNION ALL
    SELECT m.product_id, (m.ts AT TIME ZONE 'UTC')::date, -m.delta - coalesce(u.delta, 0)
    FROM movements m
    LEFT JOIN movements u ON u.reverses = m.id
    LEFT JOIN orders o ON o.id = m.order_id
    WHERE m.kind = 'pick' AND (m.order_id IS NULL OR o.status = 'cancelled')
      AND m.ts < ($1::date::timestamp AT TIME ZONE 'UTC')
      AND ($2::integer[] IS NULL OR m.product_id = ANY($2))
) d
GROUP BY 1, 2
ORDER BY 1, 2
"""

# Products (all, or those named by sku $1 or id $2) with the lead time that sets
# their backtest horizon.
PRODUCTS_FOR_FORECAST: Final = """
SELECT id, sku, lead_time_days FROM products
WHERE ($1::text[] IS NULL OR sku = ANY($1)) AND ($2::integer[] IS NULL OR id = ANY($2))
ORDER BY id
"""
