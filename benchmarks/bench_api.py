"""HTTP API: manual movements per second and stock-query latency at 8 and 32
concurrent clients, against ``stockd web`` (its default pool of 10 connections).

* ``POST /api/v1/movements`` (a receive, a fresh ``Idempotency-Key`` each, a worker
  token; each client its own SKU) for ``--seconds``;
* ``GET /api/v1/stock/{sku}`` (a display token, random SKUs) for ``--seconds``.

Baselines, same run, same concurrency: a raw asyncpg loop (one UPDATE + one INSERT
per transaction) for writes, a raw asyncpg read of one product's stock rows for
reads, and ``GET /healthz`` (aiohttp plus one ``SELECT 1``) as the HTTP floor. The
client is aiohttp in this process; its own CPU is printed, since on a two-core
box it competes with the server.

    python benchmarks/bench_api.py [--seconds 6] [--concurrency 8,32]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from ceiling import raw_ceiling
from figures import CpuMeter, machine_facts, percentiles, quiet_gc, write_results
from processes import start_web
from scratch_db import BenchDatabase, bench_database, postmaster_pid

NAME = "api"

_RAW_STOCK = """
SELECT p.sku, s.location_id, s.lot, s.on_hand, s.reserved
FROM products p LEFT JOIN stock s ON s.product_id = p.id
WHERE p.sku = $1
"""


async def closed_loop(
    concurrency: int,
    seconds: float,
    request: Callable[[int, int], Awaitable[bool]],
    warmup: float = 0.5,
) -> dict[str, Any]:
    """``concurrency`` clients each calling ``request(client, n)`` back to back."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    t0, t1 = start + warmup, start + warmup + seconds
    latencies: list[float] = []
    errors = 0

    async def client(index: int) -> None:
        nonlocal errors
        n = 0
        while loop.time() < t1:
            n += 1
            began = time.perf_counter()
            ok = await request(index, n)
            took = time.perf_counter() - began
            if t0 <= loop.time() <= t1:
                if ok:
                    latencies.append(took)
                else:
                    errors += 1

    with quiet_gc():
        await asyncio.gather(*(client(i) for i in range(concurrency)))
    return {
        "concurrency": concurrency,
        "seconds": seconds,
        "requests": len(latencies),
        "per_s": round(len(latencies) / seconds, 1),
        "errors": errors,
        "latency_ms": percentiles(latencies),
    }


async def measure(
    db: BenchDatabase, base: str, session: aiohttp.ClientSession, concurrency: int, seconds: float
) -> dict[str, Any]:
    worker = await db.token("worker", f"bench-worker-{concurrency}")
    display = await db.token("display", f"bench-display-{concurrency}")
    skus = [p.sku for p in db.warehouse.products]
    run = uuid.uuid4().hex[:8]
    w_headers = {"Authorization": f"Bearer {worker}"}
    d_headers = {"Authorization": f"Bearer {display}"}
    statuses: dict[int, int] = {}

    async def post(client: int, n: int) -> bool:
        body = {"kind": "receive", "sku": skus[client], "location": "DOCK-1", "quantity": 1}
        headers = {**w_headers, "Idempotency-Key": f"{run}-{client}-{n}"}
        async with session.post(f"{base}/api/v1/movements", json=body, headers=headers) as r:
            await r.read()
            statuses[r.status] = statuses.get(r.status, 0) + 1
            return r.status == 201

    async def get(_client: int, _n: int) -> bool:
        sku = random.choice(skus)
        async with session.get(f"{base}/api/v1/stock/{sku}", headers=d_headers) as r:
            await r.read()
            statuses[r.status] = statuses.get(r.status, 0) + 1
            return r.status == 200

    async def healthz(_client: int, _n: int) -> bool:
        async with session.get(f"{base}/healthz") as r:
            await r.read()
            return r.status == 200

    pool = db.pool
    assert pool is not None

    async def raw_read(_client: int, _n: int) -> bool:
        async with pool.acquire() as conn:
            await conn.fetch(_RAW_STOCK, random.choice(skus))
        return True

    out: dict[str, Any] = {}
    cpu = CpuMeter(**_pids(db))
    for name, request in (("movements_post", post), ("stock_get", get), ("healthz", healthz)):
        cpu.start()
        out[name] = await closed_loop(concurrency, seconds, request)
        out[name]["cpu_cores"] = cpu.stop()
    out["http_statuses"] = statuses
    cpu.start()
    out["baseline_raw_write_tx"] = await raw_ceiling(
        db.url, concurrency=concurrency, seconds=seconds, warmup=0.5
    )
    out["baseline_raw_write_tx"]["cpu_cores"] = cpu.stop()
    cpu.start()
    out["baseline_raw_stock_read"] = await closed_loop(concurrency, seconds, raw_read)
    out["baseline_raw_stock_read"]["cpu_cores"] = cpu.stop()
    return out


_PIDS: dict[str, int] = {}


def _pids(db: BenchDatabase) -> dict[str, int]:
    pg = postmaster_pid(db)
    return {**_PIDS, **({"postgres": pg} if pg else {})}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--concurrency", default="8,32")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    top = max(levels)
    async with bench_database(NAME, pool_size=top + 2) as db:
        facts = machine_facts(db.pg_version, db.where)
        print(f"== HTTP API ({facts['cpu_count']} CPUs, PostgreSQL {db.pg_version})")
        web = await start_web(db.url, tmp)
        _PIDS["web"] = web.pid
        results: dict[str, Any] = {}
        try:
            assert web.url is not None
            connector = aiohttp.TCPConnector(limit=top, force_close=False)
            async with aiohttp.ClientSession(connector=connector) as session:
                probe = await db.token("display", "probe")
                async with session.get(
                    f"{web.url}/api/v1/stock/{db.warehouse.products[0].sku}",
                    headers={"Authorization": f"Bearer {probe}"},
                ) as r:
                    if r.status != 200:
                        raise SystemExit(f"GET /api/v1/stock is not there yet: {r.status}")
                for c in levels:
                    res = results[f"c{c}"] = await measure(db, web.url, session, c, args.seconds)
                    post, get = res["movements_post"], res["stock_get"]
                    raw_w, raw_r = res["baseline_raw_write_tx"], res["baseline_raw_stock_read"]
                    health = res["healthz"]
                    post["ratio_to_raw_tx"] = round(post["per_s"] / max(raw_w["tx_per_s"], 1), 3)
                    get["ratio_to_raw_read"] = round(get["per_s"] / max(raw_r["per_s"], 1), 3)
                    print(
                        f"{c:3d} clients: POST movements {post['per_s']:.0f}/s"
                        f" (p50 {post['latency_ms'].get('p50')} ms, p99"
                        f" {post['latency_ms'].get('p99')} ms, errors {post['errors']});"
                        f" raw tx {raw_w['tx_per_s']:.0f}/s -> {post['ratio_to_raw_tx']:.2f}x"
                    )
                    print(
                        f"             GET stock {get['per_s']:.0f}/s (p50"
                        f" {get['latency_ms'].get('p50')} ms, p99 {get['latency_ms'].get('p99')}"
                        f" ms); raw read {raw_r['per_s']:.0f}/s (p99"
                        f" {raw_r['latency_ms'].get('p99')} ms) -> {get['ratio_to_raw_read']:.2f}x;"
                        f" /healthz {health['per_s']:.0f}/s (p99"
                        f" {health['latency_ms'].get('p99')} ms)"
                    )
                    print(
                        f"             cpu POST {post['cpu_cores']} GET {get['cpu_cores']};"
                        f" statuses {res['http_statuses']}"
                    )
            results["web_peak_rss_mib"] = round(web.peak_rss_kib() / 1024, 1)
        finally:
            if web.running:
                await web.stop()
            shutil.rmtree(tmp, ignore_errors=True)
        write_results(
            NAME,
            {
                "benchmark": NAME,
                "machine": facts,
                "scaled": "none; stockd web with its default pool (10 connections)",
                **results,
            },
        )


if __name__ == "__main__":
    asyncio.run(main())
