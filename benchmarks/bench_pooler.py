"""The write path through pgbouncer (transaction mode) beside a direct connection.

Brings up deploy/ha's stack (``deploy/ha/stack.py``: two PostgreSQL 15 nodes under
Patroni in synchronous mode, HAProxy, pgbouncer in transaction mode in front of
HAProxy's primary port) and, in the same run, posts scan-sized movements (a receive
of one unit, its own idempotency key) from 32 concurrent writers for ``--seconds``
through three paths to the same primary:

* **direct**: a pool on the leader's own port (the multi-host URL's choice);
* **haproxy**: a pool on HAProxy's primary port (one TCP hop more);
* **pgbouncer**: a pool on pgbouncer (transaction mode, prepared-statement cache
  off, as ``database.statement_cache = false`` sets it), which shares 20 server
  connections among every client.

Each writer posts through ``StockService.post`` (the API's write path: group commit
of whatever is in flight). The figure is committed writes per second; the ratios to
the direct path are printed. Afterwards every write is in the ledger exactly once.

    python benchmarks/bench_pooler.py [--seconds 10] [--writers 32]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from typing import Any

import asyncpg
from figures import machine_facts  # (puts the repository on sys.path)
from figures import write_results  # (puts the repository on sys.path)

from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.service import StockService
from stock_core.store.database import open_database
from stock_core.store.failover import ConnectOptions
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from tests.ha.cluster import HaCluster
from tests.ha.cluster import missing_tools
from tests.integration.catalog_fixture import load_sample_catalog

SKUS = ("WIDGET", "GADGET", "SPROCKET", "BOLT", "NUT")
LOCATIONS = ("A-01", "A-02", "B-01", "DOCK-1")


async def _phase(name: str, url: str, *, seconds: float, writers: int, cache: bool) -> float:
    options = ConnectOptions(statement_cache=cache)
    counter = itertools.count()
    done = 0
    async with open_database(
        url, run_migrations=False, min_size=writers // 2, max_size=writers, options=options
    ) as db:
        service = StockService(db.pool, notify=False)
        stop = time.monotonic() + seconds

        async def writer(w: int) -> None:
            nonlocal done
            while time.monotonic() < stop:
                n = next(counter)
                receive = Receive(
                    ProductRef(sku=Sku(SKUS[n % len(SKUS)])),
                    LocationCode(LOCATIONS[w % len(LOCATIONS)]),
                    1,
                )
                await service.post(Envelope(IdempotencyKey(f"{name}:{n}"), receive))
                done += 1

        started = time.monotonic()
        await asyncio.gather(*(writer(w) for w in range(writers)))
        elapsed = time.monotonic() - started
    rate = done / elapsed
    print(f"  {name:10s} {rate:8.0f} writes/s  ({done} in {elapsed:.1f} s)", flush=True)
    return rate


async def main(seconds: float, writers: int) -> int:
    missing = missing_tools()
    if missing:
        print(f"needs {', '.join(missing)}: run scripts/ensure-test-tools", file=sys.stderr)
        return 1
    print("bringing up the HA stack (deploy/ha/stack.py)", flush=True)
    cluster = await HaCluster.up()
    try:
        leader = await cluster.leader()
        async with open_database(cluster.urls["haproxy"], max_size=2) as db:
            await load_sample_catalog(StockService(db.pool))
            version = str(await db.pool.fetchval("SHOW server_version"))
        paths = {
            "direct": (leader.url, True),
            "haproxy": (cluster.urls["haproxy"], True),
            "pgbouncer": (cluster.urls["pgbouncer"], False),
        }
        rates: dict[str, float] = {}
        print(f"{writers} writers, {seconds:g} s each, synchronous replication:")
        for name, (url, cache) in paths.items():
            rates[name] = await _phase(name, url, seconds=seconds, writers=writers, cache=cache)
        conn = await asyncpg.connect(cluster.urls["haproxy"])
        try:
            keys = await conn.fetchval(
                "SELECT count(*) FROM movements WHERE idempotency_key NOT LIKE 'setup%'"
            )
            twice = await conn.fetchval(
                "SELECT count(*) FROM (SELECT idempotency_key FROM movements"
                " GROUP BY idempotency_key HAVING count(*) > 1) d"
            )
        finally:
            await conn.close()
        for name in ("haproxy", "pgbouncer"):
            print(f"  {name} / direct: {rates[name] / rates['direct']:.2f}x")
        print(f"  ledger: {keys} movements, {twice} keys written twice")
        data: dict[str, Any] = {
            "machine": machine_facts(version, "deploy/ha stack: Patroni, 2 nodes, synchronous"),
            "writers": writers,
            "seconds": seconds,
            "writes_per_s": {k: round(v, 1) for k, v in rates.items()},
            "ratio_to_direct": {k: round(v / rates["direct"], 3) for k, v in rates.items()},
            "ledger_movements": int(keys),
            "keys_written_twice": int(twice),
        }
        write_results("pooler", data)
        return 0 if twice == 0 else 1
    finally:
        await cluster.down()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--writers", type=int, default=32)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.seconds, args.writers)))
