"""stockd behind pgbouncer in transaction mode, with a direct LISTEN and a read replica.

One HA stack (deploy/ha): ``stockd serve`` reaches the primary through pgbouncer
(``database.statement_cache`` left unset: stockd notices the pooler and turns asyncpg's
prepared statement cache off by itself, one log line), LISTENs on a direct session
(``database.listen_url``, HAProxy's primary port) and sends reports to a streaming
replica (``database.replica_url``, HAProxy's replica port). Scans commit, the feed
delivers every event, a report answers; and the replica router sends reports to the
primary while the replica's replay is paused past its lag bound.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import aiohttp
import asyncpg
import pytest
import websockets

from hardware_mocks.pty_scanner import PtyScanner
from stock_core.domain.token import Role
from stock_core.service import StockService
from stock_core.store.database import open_database
from stock_core.store.failover import ReplicaRouter
from stock_core.store.migrate import migrate
from stock_core.store.web_pool import open_web_pool
from tests.cluster import ScannerLine
from tests.cluster import StockdProcess
from tests.cluster import free_port
from tests.cluster import started_serve
from tests.cluster import write_config
from tests.ha.cluster import HaCluster
from tests.integration.catalog_fixture import load_sample_catalog

pytestmark = pytest.mark.slow  # and opt-in: see tests/ha/conftest.py

WIDGET = "05012345678900"


async def _feed_events(url: str, token: str, want: int, timeout: float) -> list[dict[str, object]]:  # noqa: ASYNC109
    got: list[dict[str, object]] = []
    async with asyncio.timeout(timeout), websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        while sum(1 for e in got if e.get("type") == "stock.changed") < want:
            got.append(json.loads(await ws.recv()))
    return got


@pytest.mark.timeout(300)
async def test_behind_pgbouncer_with_a_direct_listen_and_a_replica_for_reports(
    tmp_path: Path,
) -> None:
    cluster = await HaCluster.up()
    serve: StockdProcess | None = None
    pty: PtyScanner | None = None
    try:
        direct = cluster.urls["haproxy"]
        conn = await asyncpg.connect(direct)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        async with open_database(direct, max_size=2) as db:
            service = StockService(db.pool)
            await load_sample_catalog(service)
            display, _ = await service.create_token("display", Role.DISPLAY)
            manager, _ = await service.create_token("manager", Role.MANAGER)
        pty = await PtyScanner.create(tmp_path / "tty", name="pooled")
        config = write_config(
            tmp_path / "stockd.toml",
            scanners=[ScannerLine(id="pooled", url=str(pty.path), location="DOCK-1")],
            spool_dir=tmp_path / "spool",
            web_port=free_port(),
        )
        config.write_text(
            config.read_text()
            + "\n[database]\n"
            + f'listen_url = "{direct}"\nreplica_url = "{cluster.urls["replicas"]}"\n'
            + "replica_max_lag_s = 5\n"
        )
        serve = await started_serve(config, cluster.urls["pgbouncer"], tmp_path)
        feed = asyncio.create_task(_feed_events(serve.feed_url, display, 30, 60))
        await asyncio.sleep(1.0)
        for n in range(30):
            before = pty.feedback
            pty.send_scan(f"01{WIDGET}10POOL-{n:03d}", aim="]C1")
            after = await pty.wait_feedback(before.events + 1, 5.0)
            assert after.acks == before.acks + 1, f"scan {n} was not acknowledged"
        events = await feed  # LISTEN on the direct session woke the relay for each
        assert sum(1 for e in events if e.get("type") == "stock.changed") >= 30
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{serve.url}/api/v1/reports/valuation",
                headers={"Authorization": f"Bearer {manager}"},
            ) as reply,
        ):
            assert reply.status == 200, await reply.text()
            assert (await reply.json())["total"]
        assert await serve.stop(signal.SIGTERM) == 0
        pooler = (
            f"{cluster.urls['pgbouncer'].rsplit('@', 1)[1].split('/')[0]} is a connection pooler"
        )
        said = [line for line in serve.tail(1_000_000).splitlines() if pooler in line]
        assert len(said) == 1, said  # one line, though two pools connect through it
        assert "statement cache is off" in said[0]
        serve = None
        async with open_database(direct, run_migrations=False, max_size=2) as db:
            lots = [r["lot"] for r in await db.pool.fetch("SELECT lot FROM movements ORDER BY id")]
        assert lots == [f"POOL-{n:03d}" for n in range(30)]

        # the router: the replica while it keeps up, the primary once it lags
        await _router_follows_the_lag(cluster)
    finally:
        if serve is not None:
            await serve.stop(signal.SIGKILL)
        if pty is not None:
            await pty.aclose()
        await cluster.down()


async def _router_follows_the_lag(cluster: HaCluster) -> None:
    leader = await cluster.leader()
    replica_node = next(n for n in cluster.nodes if n.name != leader.name)
    async with (
        open_web_pool(leader.url, max_size=2, acquire_timeout=2) as primary,
        open_web_pool(replica_node.url, max_size=2, acquire_timeout=2, writer=False) as replica,
    ):
        router = ReplicaRouter(primary.pool, replica.pool, max_lag=1.0, recheck=0.2)
        assert await router.pool() is replica.pool
        # Replay stalls (its process frozen: Patroni resumes a paused replay by itself)
        replaying = cluster.startup_pid(replica_node)
        assert replaying is not None
        os.kill(replaying, signal.SIGSTOP)
        try:
            conn = await asyncpg.connect(leader.url)
            try:
                deadline = time.monotonic() + 15
                while await router.pool() is replica.pool:
                    assert time.monotonic() < deadline, f"replica lag {router.lag}"
                    await conn.execute("UPDATE products SET name = name WHERE sku = 'WIDGET'")
                    await asyncio.sleep(0.3)
            finally:
                await conn.close()
            assert router.lag is not None
            assert router.lag > 1.0
        finally:
            os.kill(replaying, signal.SIGCONT)
        deadline = time.monotonic() + 15
        while await router.pool() is not replica.pool:
            assert time.monotonic() < deadline, f"replica lag {router.lag}"
            await asyncio.sleep(0.3)
