"""``stockd verify``: the ledger checked against stock, from the database itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from stock_core.store import queries as q
from stock_core.store.connection import Connection
from stock_core.store.count_tasks import sql as count_sql

__all__ = ["VerifyReport", "verify"]


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


async def verify(conn: Connection) -> VerifyReport:
    """Check every invariant in one repeatable-read snapshot."""
    report = VerifyReport()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        totals = await conn.fetchrow(q.COUNT_TOTALS)
        assert totals is not None
        report.checked = dict(totals)
        for r in await conn.fetch(q.VERIFY_LEDGER_SUMS):
            report.failures.append(
                f"ledger sums to {r['ledger']} but on-hand is {r['on_hand']} for "
                f"{r['sku']} at {r['location']} lot {r['lot'] or '-'}"
            )
        for r in await conn.fetch(q.VERIFY_NOT_NEGATIVE):
            report.failures.append(
                f"bad stock row {r['sku']} at {r['location']} lot {r['lot'] or '-'}: "
                f"on-hand {r['on_hand']}, reserved {r['reserved']}"
            )
        for r in await conn.fetch(q.VERIFY_RUNNING_BALANCES):
            report.failures.append(
                f"movement {r['id']} ({r['sku']} at {r['location']}) says on-hand after "
                f"{r['on_hand_after']} but the ledger runs to {r['running']}"
            )
        for r in await conn.fetch(q.VERIFY_KEYS):
            what = "rejected but has ledger rows" if r["rejected"] else "accepted but has no rows"
            report.failures.append(f"idempotency key {r['key']} {what}")
        for r in await conn.fetch(q.VERIFY_RESERVATIONS):
            report.failures.append(
                f"{r['sku']} at {r['location']} lot {r['lot'] or '-'}: {r['reserved']} reserved "
                f"but reservations hold {r['held']}"
            )
        for r in await conn.fetch(q.VERIFY_ORDER_LINES):
            report.failures.append(
                f"order {r['number']} ({r['status']}) line {r['sku']}: ordered {r['quantity']}, "
                f"reserved {r['reserved']} (held {r['held']}), backordered {r['backordered']}, "
                f"picked {r['picked']} do not add up"
            )
        for r in await conn.fetch(q.VERIFY_QUARANTINE):
            where = f"{r['sku']} at {r['location']} lot {r['lot'] or '-'}"
            if r["quarantined"] != (r["type"] == "quarantine"):
                report.failures.append(
                    f"{where}: the row does not know its location is {r['type']}"
                )
            else:
                report.failures.append(
                    f"{where}: {r['reserved']} reserved (reservations hold {r['held']}) "
                    "in a quarantine location"
                )
        for r in await conn.fetch(q.VERIFY_FIFO):
            report.failures.append(
                f"{r['sku']}: {r['available']} available while {r['waiting']} are backordered"
            )
        for r in await conn.fetch(q.VERIFY_UNDOS):
            report.failures.append(f"undo {r['id']} does not mirror movement {r['reverses']}")
        for r in await conn.fetch(count_sql.VERIFY_COUNT_TASKS):
            report.failures.append(f"count task {r['id']} {r['problem']}")
    return report
