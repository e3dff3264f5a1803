"""The one-transaction-per-scan ceilings: what plain asyncpg reaches on this machine,
the baseline a benchmark's figure is divided by."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from typing import Any

import asyncpg
from figures import percentiles

__all__ = ["raw_ceiling"]

# The loops write copies of the product's tables (same columns, keys, checks and
# indexes), never ``stock`` or ``movements`` themselves: the ledger must still sum to
# stock for ``stockd verify`` after a benchmark.
_BASELINE_TABLES = (
    "CREATE TABLE IF NOT EXISTS bench_stock (LIKE stock INCLUDING ALL)",
    """CREATE TABLE IF NOT EXISTS bench_ledger
        (LIKE movements INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES
         INCLUDING IDENTITY)""",
)
_SCAN_WORK_TABLES = (
    "CREATE TABLE IF NOT EXISTS bench_idempotency_keys (LIKE idempotency_keys INCLUDING ALL)",
    """CREATE TABLE IF NOT EXISTS bench_scan_ledger
        (LIKE movements INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES
         INCLUDING IDENTITY)""",
    # movements' foreign keys, which LIKE does not copy
    """DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'bench_scan_ledger_key') THEN
            ALTER TABLE bench_scan_ledger
                ADD CONSTRAINT bench_scan_ledger_key FOREIGN KEY (idempotency_key)
                    REFERENCES bench_idempotency_keys,
                ADD CONSTRAINT bench_scan_ledger_product FOREIGN KEY (product_id)
                    REFERENCES products,
                ADD CONSTRAINT bench_scan_ledger_location FOREIGN KEY (location_id)
                    REFERENCES locations;
        END IF;
    END $$""",
    "CREATE TABLE IF NOT EXISTS bench_outbox (LIKE outbox INCLUDING ALL)",
)
_BASELINE_UPDATE = """
UPDATE bench_stock SET on_hand = on_hand + 1, updated_at = now()
WHERE product_id = $1 AND location_id = $2 AND lot = ''
RETURNING on_hand
"""
_BASELINE_INSERT = """
INSERT INTO bench_ledger (kind, product_id, location_id, lot, delta, on_hand_after,
                          idempotency_key, actor, scanner, scan_seq)
VALUES ('receive', $1, $2, '', 1, $3, $4, 'bench', 'bench', $5)
"""
_SCAN_KEY = """
INSERT INTO bench_idempotency_keys (key, fingerprint) VALUES ($1, $2)
ON CONFLICT (key) DO NOTHING RETURNING true
"""
_SCAN_LEDGER = """
INSERT INTO bench_scan_ledger (kind, product_id, location_id, lot, delta, on_hand_after,
                               idempotency_key, actor, scanner, scan_seq)
VALUES ('receive', $1, $2, '', 1, $3, $4, 'bench', 'bench', $5)
RETURNING id, ts
"""
_SCAN_OUTBOX = "INSERT INTO bench_outbox (type, payload) VALUES ('stock.changed', $1::jsonb)"


async def raw_ceiling(
    url: str,
    *,
    concurrency: int = 32,
    seconds: float = 8.0,
    warmup: float = 1.0,
    notify: bool = False,
    work: str = "plain",
) -> dict[str, Any]:
    """Transactions per second of a raw asyncpg loop, ``concurrency`` connections, one
    stock row each, one transaction after another on each connection.

    ``work="plain"``: each transaction UPDATEs one stock row and INSERTs one ledger
    row. ``work="scan"``: the same work as a scan's, statement by statement: INSERT
    its idempotency key (``ON CONFLICT DO NOTHING``), UPDATE the stock row, INSERT
    the ledger row (with movements' foreign keys: to the key, product and
    location), INSERT an outbox row with a ``stock.changed``-sized jsonb payload.
    The tables are copies of ``stock``, ``movements``, ``idempotency_keys`` and
    ``outbox`` with their keys, checks and indexes (``bench_*``), so the product's
    own ledger is left untouched.

    ``notify``: the ledger copy gets a statement-level NOTIFY trigger, as
    ``outbox`` had before migration 0006 (a diagnostic: what a NOTIFY inside every
    writing transaction does to the ceiling; needs ``bench_notify()``).
    """
    if work not in ("plain", "scan"):
        raise ValueError(f"work is 'plain' or 'scan', not {work!r}")
    setup = await asyncpg.connect(url)
    try:
        for ddl in _BASELINE_TABLES + (_SCAN_WORK_TABLES if work == "scan" else ()):
            await setup.execute(ddl)
        await setup.execute("DROP TRIGGER IF EXISTS bench_notify ON bench_ledger")
        if notify:
            await setup.execute(
                "CREATE TRIGGER bench_notify AFTER INSERT ON bench_ledger"
                " FOR EACH STATEMENT EXECUTE FUNCTION bench_notify()"
            )
        location, location_code = await setup.fetchrow(
            "SELECT id, code FROM locations ORDER BY id LIMIT 1"
        )
        rows = await setup.fetch(
            "SELECT id, sku FROM products ORDER BY id DESC LIMIT $1", concurrency
        )
        products = [(r["id"], r["sku"]) for r in rows]
        await setup.executemany(
            "INSERT INTO bench_stock (product_id, location_id, lot, on_hand) VALUES ($1, $2, '', 0)"
            " ON CONFLICT DO NOTHING",
            [(p, location) for p, _ in products],
        )
    finally:
        await setup.close()
    conns = [await asyncpg.connect(url) for _ in range(concurrency)]
    run = os.urandom(4).hex()
    commits: list[float] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    t0, t1 = start + warmup, start + warmup + seconds
    latencies: list[float] = []

    async def plain(conn: asyncpg.Connection[Any], product: int, key: str, n: int) -> None:
        async with conn.transaction():
            on_hand = await conn.fetchval(_BASELINE_UPDATE, product, location)
            await conn.execute(_BASELINE_INSERT, product, location, on_hand, key, n)

    async def scan(conn: asyncpg.Connection[Any], product: int, sku: str, key: str, n: int) -> None:
        fingerprint = hashlib.sha256(key.encode()).hexdigest()
        async with conn.transaction():
            await conn.fetchval(_SCAN_KEY, key, fingerprint)
            on_hand = await conn.fetchval(_BASELINE_UPDATE, product, location)
            row = await conn.fetchrow(_SCAN_LEDGER, product, location, on_hand, key, n)
            payload = {
                "sku": sku,
                "location": location_code,
                "lot": "",
                "kind": "receive",
                "zone": "",
                "delta": 1,
                "on_hand": on_hand,
                "available": on_hand,
                "product_on_hand": on_hand,
                "product_available": on_hand,
                "movement_id": row["id"],
                "scanner": "bench",
                "scan_seq": n,
                "actor": "bench",
                "movement_ts": row["ts"].isoformat(),
            }
            await conn.execute(_SCAN_OUTBOX, json.dumps(payload))

    async def worker(index: int, conn: asyncpg.Connection[Any]) -> None:
        product, sku = products[index % len(products)]
        n = 0
        while loop.time() < t1:
            n += 1
            began = time.perf_counter()
            key = f"raw:{run}:{index}:{n}"
            if work == "scan":
                await scan(conn, product, sku, key, n)
            else:
                await plain(conn, product, key, n)
            now = loop.time()
            if t0 <= now <= t1:
                commits.append(now)
                latencies.append(time.perf_counter() - began)

    try:
        await asyncio.gather(*(worker(i, c) for i, c in enumerate(conns)))
    finally:
        await asyncio.gather(*(c.close() for c in conns))
    return {
        "work": work,
        "concurrency": concurrency,
        "notify_per_transaction": notify,
        "seconds": seconds,
        "transactions": len(commits),
        "tx_per_s": round(len(commits) / seconds, 1),
        "latency_ms": percentiles(latencies),
    }
