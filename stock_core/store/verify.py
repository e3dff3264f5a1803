"""``stockd verify``: the ledger checked against stock, from the database itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Final

import asyncpg

from stock_core.store.connection import Connection
from stock_core.store.count_tasks import sql as count_sql
from stock_core.store.outbox import sql as feed_sql
from stock_core.store.serials import sql as serial_sql
from stock_core.store.transfers import transfer_problems

__all__ = ["VerifyReport", "verify"]

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
        AND NOT EXISTS (SELECT 1 FROM count_task_keys c WHERE c.key = k.key)
        AND NOT EXISTS (SELECT 1 FROM transfers t WHERE t.idempotency_key = k.key))
    OR (k.rejection IS NOT NULL AND count(m.id) > 0)
ORDER BY k.key
LIMIT 1000
"""

VERIFY_UNDOS: Final = """
SELECT u.id, u.reverses
FROM movements u JOIN movements o ON o.id = u.reverses
WHERE u.kind <> 'undo' OR o.kind = 'undo' OR u.delta <> -o.delta
   OR u.product_id <> o.product_id OR u.location_id <> o.location_id OR u.lot <> o.lot
   OR u.serial IS DISTINCT FROM o.serial
ORDER BY u.id
LIMIT 1000
"""

COUNT_TOTALS: Final = """
SELECT (SELECT count(*) FROM movements) AS movements,
       (SELECT count(*) FROM stock) AS stock_rows,
       (SELECT count(*) FROM products) AS products,
       (SELECT count(*) FROM locations) AS locations,
       (SELECT count(*) FROM transfers) AS transfers
"""

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


@dataclass
class VerifyReport:
    checked: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def render(self) -> str:
        counts = ", ".join(f"{v} {k}" for k, v in self.checked.items())
        if self.ok:
            return f"verify: all invariants hold ({counts})"
        lines = [f"verify: {len(self.failures)} problem(s) ({counts})"]
        lines += [f"  - {f}" for f in self.failures]
        return "\n".join(lines)


def _line(template: str) -> Callable[[asyncpg.Record], str]:
    """A failure line: ``template`` filled in from a row's columns, a blank lot as ``-``."""

    def render(row: asyncpg.Record) -> str:
        columns = dict(row)
        if "lot" in columns:
            columns["lot"] = columns["lot"] or "-"
        return template.format_map(columns)

    return render


def _key_problem(r: asyncpg.Record) -> str:
    what = "rejected but has ledger rows" if r["rejected"] else "accepted but has no rows"
    return f"idempotency key {r['key']} {what}"


def _quarantine_problem(r: asyncpg.Record) -> str:
    where = f"{r['sku']} at {r['location']} lot {r['lot'] or '-'}"
    if r["quarantined"] != (r["type"] == "quarantine"):
        return f"{where}: the row does not know its location is {r['type']}"
    return (
        f"{where}: {r['reserved']} reserved (reservations hold {r['held']}) "
        "in a quarantine location"
    )


_CHECKS: Final[tuple[tuple[str, Callable[[asyncpg.Record], str]], ...]] = (
    (
        VERIFY_LEDGER_SUMS,
        _line("ledger sums to {ledger} but on-hand is {on_hand} for {sku} at {location} lot {lot}"),
    ),
    (
        VERIFY_NOT_NEGATIVE,
        _line(
            "bad stock row {sku} at {location} lot {lot}: on-hand {on_hand}, reserved {reserved}"
        ),
    ),
    (
        VERIFY_RUNNING_BALANCES,
        _line(
            "movement {id} ({sku} at {location}) says on-hand after {on_hand_after} but the "
            "ledger runs to {running}"
        ),
    ),
    (VERIFY_KEYS, _key_problem),
    (
        VERIFY_RESERVATIONS,
        _line("{sku} at {location} lot {lot}: {reserved} reserved but reservations hold {held}"),
    ),
    (
        VERIFY_ORDER_LINES,
        _line(
            "order {number} ({status}) line {sku}: ordered {quantity}, reserved {reserved} "
            "(held {held}), backordered {backordered}, picked {picked} do not add up"
        ),
    ),
    (VERIFY_QUARANTINE, _quarantine_problem),
    (VERIFY_FIFO, _line("{sku}: {available} available while {waiting} are backordered")),
    (VERIFY_UNDOS, _line("undo {id} does not mirror movement {reverses}")),
    (feed_sql.VERIFY_FEED, _line("{problem}")),
    (count_sql.VERIFY_COUNT_TASKS, _line("count task {id} {problem}")),
    (
        serial_sql.VERIFY_SERIAL_STOCK,
        _line(
            "{sku} ({tracking}-tracked) at {location} lot {lot}: on-hand {on_hand} but "
            "{serials} serial(s) in stock there"
        ),
    ),
    (
        serial_sql.VERIFY_SERIAL_LEDGER,
        _line(
            "{sku} serial {serial} is {status} but its ledger rows add up to {total} "
            "(or end elsewhere)"
        ),
    ),
)
"""Each invariant: the statement that finds the rows breaking it, and the failure line
of each row, in the order the report lists them."""


async def verify(conn: Connection) -> VerifyReport:
    """Check every invariant in one repeatable-read snapshot."""
    report = VerifyReport()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        totals = await conn.fetchrow(COUNT_TOTALS)
        assert totals is not None
        report.checked = dict(totals)
        for query, render in _CHECKS:
            report.failures.extend(render(r) for r in await conn.fetch(query))
        report.failures.extend(await transfer_problems(conn))
    return report
