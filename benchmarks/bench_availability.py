"""Storefront availability: SKUs answered per second by ``GET /api/v1/availability``.

A catalog of ``--products`` products on ``stockd web``: two thirds with stock, some
of it reserved by orders, some products with a backorder queue and open purchase
orders. ``--concurrency`` clients (a shop token each) ask back to back for batches of
100 and of 1,000 random SKUs, and again with ``If-None-Match`` (answered 304).

Baselines, same run, same concurrency: ``GET /api/v1/stock/{sku}`` (one SKU a
request: what an integration does without this route), and the availability
statement itself on a raw asyncpg pool (100 SKUs a query: the database's share).

    python benchmarks/bench_availability.py [--seconds 5] [--concurrency 8] [--products 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
from datetime import date
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from bench_api import closed_loop
from figures import CpuMeter
from figures import machine_facts
from figures import write_results
from processes import remove_run_dir
from processes import start_web
from processes import tear_down
from scratch_db import bench_database
from scratch_db import postmaster_pid

from stock_core.domain.orders import OrderLineRequest
from stock_core.store.availability import AVAILABILITY_OF_SKUS

NAME = "availability"

_SEED_STOCK = """
INSERT INTO stock (product_id, location_id, on_hand)
SELECT p.id, (SELECT id FROM locations ORDER BY id LIMIT 1), 5 + (p.id * 7919) % 200
FROM products p WHERE p.id % 3 <> 0
"""


async def seed(db: Any, products: list[str]) -> dict[str, int]:
    """Stock for two thirds, then orders (reserving and backordering) and purchase orders."""
    service = db.service
    async with db.pool.acquire() as conn:
        await conn.execute(_SEED_STOCK)
    today = date.today()
    rng = random.Random(7)
    orders = pos = 0
    for n, sku in enumerate(rng.sample(products, min(len(products), 300))):
        await service.create_order(
            f"SO-{n}", [OrderLineRequest(sku, rng.randint(1, 150))], customer=f"C{n}"
        )
        orders += 1
        if n % 2 == 0:
            when = today + timedelta(days=rng.randint(3, 60))
            await service.create_purchase_order(
                f"PO-{n}", when, [OrderLineRequest(sku, rng.randint(20, 200))]
            )
            pos += 1
    return {"orders": orders, "purchase_orders": pos}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--products", type=int, default=2000)
    args = parser.parse_args()
    c = args.concurrency
    tmp = Path(tempfile.mkdtemp(prefix="bench-availability-"))
    async with bench_database(NAME, products=args.products, pool_size=c + 2) as db:
        facts = machine_facts(db.pg_version, db.where)
        print(f"== availability ({facts['cpu_count']} CPUs, PostgreSQL {db.pg_version})")
        skus = [p.sku for p in db.warehouse.products]
        seeded = await seed(db, skus)
        print(f"{len(skus)} products, {seeded['orders']} orders, {seeded['purchase_orders']} POs")
        web = await start_web(db.url, tmp)
        shop = {"Authorization": f"Bearer {await db.token('shop', 'bench-shop')}"}
        display = {"Authorization": f"Bearer {await db.token('display', 'bench-display')}"}
        pids = {"web": web.pid, **({"postgres": pg} if (pg := postmaster_pid(db)) else {})}
        cpu = CpuMeter(**pids)
        results: dict[str, Any] = {"products": len(skus), **seeded}
        try:
            assert web.url is not None
            base = web.url
            connector = aiohttp.TCPConnector(limit=c)
            async with aiohttp.ClientSession(connector=connector) as session:

                def batch(size: int, etags: dict[int, str] | None = None) -> Any:
                    fixed = [random.sample(skus, size) for _ in range(c)]

                    async def request(client: int, _n: int) -> bool:
                        chosen = fixed[client] if etags is not None else random.sample(skus, size)
                        url = f"{base}/api/v1/availability?" + "&".join(f"sku={s}" for s in chosen)
                        headers = dict(shop)
                        if etags is not None and client in etags:
                            headers["If-None-Match"] = etags[client]
                        async with session.get(url, headers=headers) as r:
                            await r.read()
                            if etags is not None:
                                etags[client] = r.headers.get("ETag", "")
                            return r.status in (200, 304)

                    return request

                async def one_stock(_client: int, _n: int) -> bool:
                    url = f"{base}/api/v1/stock/{random.choice(skus)}"
                    async with session.get(url, headers=display) as r:
                        await r.read()
                        return r.status == 200

                pool = db.pool
                assert pool is not None

                async def raw(_client: int, _n: int) -> bool:
                    async with pool.acquire() as conn:
                        await conn.fetch(AVAILABILITY_OF_SKUS, random.sample(skus, 100))
                    return True

                phases = (
                    ("availability_100", batch(100), 100),
                    ("availability_1000", batch(1000), 1000),
                    ("availability_100_not_modified", batch(100, {}), 100),
                    ("baseline_stock_get_one", one_stock, 1),
                    ("baseline_raw_statement_100", raw, 100),
                )
                for name, request, size in phases:
                    cpu.start()
                    res = await closed_loop(c, args.seconds, request)
                    res["cpu_cores"] = cpu.stop()
                    res["skus_per_s"] = round(res["per_s"] * size, 1)
                    results[name] = res
                one = results["baseline_stock_get_one"]["skus_per_s"]
                raw_rate = results["baseline_raw_statement_100"]["skus_per_s"]
                for name, _, _ in phases:
                    res = results[name]
                    res["ratio_to_stock_get"] = round(res["skus_per_s"] / max(one, 1), 2)
                    res["ratio_to_raw_statement"] = round(res["skus_per_s"] / max(raw_rate, 1), 3)
                    print(
                        f"{name:32s} {res['skus_per_s']:>9.0f} SKUs/s ({res['per_s']:.0f} req/s,"
                        f" p99 {res['latency_ms'].get('p99')} ms, errors {res['errors']}) ->"
                        f" {res['ratio_to_stock_get']:.1f}x GET stock one by one,"
                        f" {res['ratio_to_raw_statement']:.2f}x the raw statement"
                    )
        finally:
            await tear_down([web])
            remove_run_dir(tmp)
        write_results(NAME, {"benchmark": NAME, "machine": facts, "concurrency": c, **results})


if __name__ == "__main__":
    asyncio.run(main())
