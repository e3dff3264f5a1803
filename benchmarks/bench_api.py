"""HTTP API: manual movements per second and stock-query latency at 8 and 32
concurrent clients, against ``stockd web`` (its default pool of 10 connections).

* ``POST /api/v1/movements`` (a receive, a fresh ``Idempotency-Key`` each, a worker
  token; each client its own SKU) for ``--seconds``;
* ``GET /api/v1/stock/{sku}`` (a display token, random SKUs) for ``--seconds``.

Baselines, same run, same concurrency: a raw asyncpg loop (one UPDATE + one INSERT
per transaction) for writes, a raw asyncpg read of one product's stock rows for
reads, and ``GET /healthz`` (aiohttp plus one ``SELECT 1``) as the HTTP floor.

The client runs in this process: by default ``http_client.HttpClient`` (one keep-alive
connection per client, requests as bytes: ~50 µs of CPU a request), or aiohttp's
client with ``--client aiohttp`` (~140 µs). On a two-core box the client competes with
the server, so each phase prints the CPU each process spent per request (web node,
PostgreSQL's backends, the client) besides requests per second: those figures hold
when other work shares the machine, the rates do not.

    python benchmarks/bench_api.py [--seconds 6] [--concurrency 8,32] [--client aiohttp]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from ceiling import raw_ceiling
from figures import CpuMeter
from figures import machine_facts
from figures import percentiles
from figures import quiet_gc
from figures import write_results
from http_client import HttpClient
from http_client import get_bytes
from http_client import post_json_bytes
from processes import profile_summary
from processes import remove_run_dir
from processes import start_profile
from processes import start_web
from processes import tear_down
from scratch_db import BenchDatabase
from scratch_db import bench_database
from scratch_db import postmaster_pid
from scratch_db import statements_reset
from scratch_db import statements_top

from tests.cluster import StockdProcess

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
    answered = 0

    async def client(index: int) -> None:
        nonlocal errors, answered
        n = 0
        while loop.time() < t1:
            n += 1
            answered += 1
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
        "answered": answered,
        "latency_ms": percentiles(latencies),
    }


Send = Callable[[int, str, str, Any, dict[str, str]], Awaitable[int]]
"""``send(client, method, path, json_body, headers)`` -> the response's status."""


def light_sender(base: str, clients: int) -> tuple[Send, Callable[[], Awaitable[None]]]:
    """Requests through :class:`HttpClient`, one connection per client."""
    host, _, port = base.removeprefix("http://").partition(":")
    conns = [HttpClient(host, int(port)) for _ in range(clients)]

    async def send(client: int, method: str, path: str, body: Any, headers: dict[str, str]) -> int:
        conn = conns[client]
        if method == "POST":
            return await conn.request(post_json_bytes(conn.authority, path, body, headers))
        return await conn.request(get_bytes(conn.authority, path, headers))

    async def close() -> None:
        for conn in conns:
            await conn.close()

    return send, close


def aiohttp_sender(base: str, session: aiohttp.ClientSession) -> Send:
    async def send(_client: int, method: str, path: str, body: Any, headers: dict[str, str]) -> int:
        async with session.request(method, f"{base}{path}", json=body, headers=headers) as r:
            await r.read()
            return r.status

    return send


async def measure(
    db: BenchDatabase,
    send: Send,
    concurrency: int,
    seconds: float,
    *,
    web: StockdProcess,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Each phase at ``concurrency``, then the baselines; with ``profile`` (a folder)
    py-spy records ``web`` during each phase, and when the database loaded
    ``pg_stat_statements`` each phase reports its statements."""
    worker = await db.token("worker", f"bench-worker-{concurrency}")
    display = await db.token("display", f"bench-display-{concurrency}")
    skus = [p.sku for p in db.warehouse.products]
    run = uuid.uuid4().hex[:8]
    w_headers = {"Authorization": f"Bearer {worker}"}
    d_headers = {"Authorization": f"Bearer {display}"}
    statuses: dict[int, int] = {}

    def counted(status: int) -> int:
        statuses[status] = statuses.get(status, 0) + 1
        return status

    async def post(client: int, n: int) -> bool:
        body = {"kind": "receive", "sku": skus[client], "location": "DOCK-1", "quantity": 1}
        headers = {**w_headers, "Idempotency-Key": f"{run}-{client}-{n}"}
        return counted(await send(client, "POST", "/api/v1/movements", body, headers)) == 201

    async def get(client: int, _n: int) -> bool:
        sku = random.choice(skus)
        return counted(await send(client, "GET", f"/api/v1/stock/{sku}", None, d_headers)) == 200

    async def healthz(client: int, _n: int) -> bool:
        return await send(client, "GET", "/healthz", None, {}) == 200

    pool = db.pool
    assert pool is not None

    async def raw_read(_client: int, _n: int) -> bool:
        async with pool.acquire() as conn:
            await conn.fetch(_RAW_STOCK, random.choice(skus))
        return True

    out: dict[str, Any] = {}
    cpu = CpuMeter(**_pids(db))
    for name, request in (("movements_post", post), ("stock_get", get), ("healthz", healthz)):
        stacks = None if profile is None else profile / f"{name}-c{concurrency}.txt"
        spy = None if stacks is None else await start_profile(web, stacks, seconds)
        await statements_reset(db)
        cpu.start()
        out[name] = await closed_loop(concurrency, seconds, request)
        statements = await statements_top(db, out[name]["answered"], limit=10)
        if statements:
            out[name]["statements"] = statements
        if spy is not None and stacks is not None:
            await spy.wait()
            out[name]["profile_web"] = profile_summary(stacks, limit=25)
        out[name]["cpu_cores"] = cpu.stop()
        out[name]["cpu_us_per_request"] = per_request(cpu.seconds, out[name]["answered"])
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


def per_request(seconds: dict[str, float], requests: int) -> dict[str, int]:
    """CPU µs each process spent per request (``requests``: all answered while measured,
    the warm-up's included)."""
    return {
        name: round(spent / requests * 1e6)
        for name, spent in seconds.items()
        if name in ("bench", "web", "postgres") and requests > 0
    }


_PIDS: dict[str, int] = {}


def _pids(db: BenchDatabase) -> dict[str, int]:
    pg = postmaster_pid(db)
    return {**_PIDS, **({"postgres": pg} if pg else {})}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--concurrency", default="8,32")
    parser.add_argument(
        "--client",
        choices=("light", "aiohttp"),
        default="light",
        help="the load client: http_client.HttpClient (default) or aiohttp's",
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="pg_stat_statements per phase (a private cluster on binaries that ship it)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy the web node during each phase; collapsed stacks go in this folder",
    )
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    levels = [int(c) for c in args.concurrency.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    top = max(levels)
    async with bench_database(NAME, pool_size=top + 2, statements=args.statements) as db:
        facts = machine_facts(db.pg_version, db.where)
        print(
            f"== HTTP API ({facts['cpu_count']} CPUs, PostgreSQL {db.pg_version};"
            f" client: {args.client})"
        )
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
                    if args.client == "light":
                        send, close = light_sender(web.url, c)
                    else:
                        send, close = aiohttp_sender(web.url, session), _nothing
                    try:
                        res = results[f"c{c}"] = await measure(
                            db, send, c, args.seconds, web=web, profile=args.profile
                        )
                    finally:
                        await close()
                    _report(c, res)
            results["web_peak_rss_mib"] = round(web.peak_rss_kib() / 1024, 1)
        finally:
            await tear_down([web])
            remove_run_dir(tmp)
        write_results(
            NAME,
            {
                "benchmark": NAME,
                "machine": facts,
                "client": args.client,
                "scaled": "none; stockd web with its default pool (10 connections)",
                **results,
            },
        )


async def _nothing() -> None:
    return None


def _report(c: int, res: dict[str, Any]) -> None:
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
    for name, label in (("movements_post", "POST"), ("stock_get", "GET"), ("healthz", "healthz")):
        us = res[name]["cpu_us_per_request"]
        print(
            f"             cpu µs per {label}: web {us.get('web')}, PostgreSQL"
            f" {us.get('postgres')}, client {us.get('bench')}; cores"
            f" {res[name]['cpu_cores']}"
        )
    print(f"             statuses {res['http_statuses']}")


if __name__ == "__main__":
    asyncio.run(main())
