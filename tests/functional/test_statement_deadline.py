"""Every database call has a deadline: a hung primary is a 503, within the bound.

PostgreSQL "hangs" behind :class:`~tests.faultproxy.FaultProxy` (connections stay
open, not a byte moves: a frozen process, a stuck disk, a partition). A statement past
``database.statement_timeout_s`` fails and its connection is closed at once, never
given back to the pool; ``stockd web`` answers API reads and writes that are not
movements (a product, here) with a 503 problem and ``Retry-After`` within about that,
and serves again once PostgreSQL answers. The Patroni drills in ``tests/ha`` freeze a
real leader (SIGSTOP) with the same bound.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from stock_core.domain.token import Role
from stock_core.errors import DatabaseUnavailableError
from stock_core.service import StockService
from stock_core.store.failover import ConnectOptions
from stock_core.store.web_pool import open_web_pool
from tests.cluster import StockdProcess
from tests.faultproxy import FaultProxy
from tests.integration.catalog_fixture import load_sample_catalog

DEADLINE = 1.0
"""``database.statement_timeout_s`` (and the connect and acquire deadlines) here."""
BOUND = 4 * DEADLINE
"""An answer must come within this (the deadline and a loaded machine's slack): asyncpg's
own ``command_timeout`` was 60 s and waited as long again for a hung server's cancel."""


async def test_a_statement_past_its_deadline_fails_and_its_connection_is_dropped_at_once(
    proxy: FaultProxy, database_url: str
) -> None:
    options = ConnectOptions(connect_timeout=DEADLINE, statement_timeout=DEADLINE)
    url = proxy.url_through(database_url)
    async with open_web_pool(
        url, min_size=2, max_size=2, acquire_timeout=DEADLINE, options=options
    ) as db:
        service = StockService(db.pool, notify=False)
        async with db.pool.acquire() as conn:
            closed = asyncio.Event()
            conn.add_termination_listener(lambda _conn: closed.set())
            took: list[float] = []

            async def hung_transaction() -> None:
                async with conn.transaction():
                    await proxy.ahang()
                    started = time.monotonic()
                    with pytest.raises(TimeoutError):
                        await conn.fetchval("SELECT 1")
                    took.append(time.monotonic() - started)

            with pytest.raises(asyncpg.InterfaceError, match="connection is closed"):
                await hung_transaction()  # its end: the connection was dropped at once
            assert conn.is_closed()
        # handed back to the pool, it is cleaned up (and the holder freed) there, once
        await asyncio.wait_for(closed.wait(), 0.5)
        (elapsed,) = took
        assert elapsed < BOUND, f"the statement failed after {elapsed:.2f} s"
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailableError, match="statement_timeout_s"):
            await service.list_products()  # a use case: the outage, named
        assert time.monotonic() - started < BOUND
        await proxy.aunhang()
        assert [p.sku for p in await service.list_products()] == []  # fresh connections


async def _call(
    http: aiohttp.ClientSession, method: str, url: str, token: str, body: object = None
) -> tuple[int, dict[str, object], dict[str, str], float]:
    started = time.monotonic()
    async with http.request(
        method, url, json=body, headers={"Authorization": f"Bearer {token}"}
    ) as reply:
        document = await reply.json(content_type=None)
        return reply.status, document, dict(reply.headers), time.monotonic() - started


@pytest.mark.timeout(120)
async def test_the_api_answers_503_within_the_statement_deadline_on_a_hung_primary(
    proxy: FaultProxy, database_url: str, service: StockService, tmp_path: Path
) -> None:
    await load_sample_catalog(service)
    manager, _ = await service.create_token("manager", Role.MANAGER)
    config = tmp_path / "stockd.toml"
    config.write_text(
        f'[web]\nhost = "127.0.0.1"\nport = 0\nacquire_timeout_s = {DEADLINE}\n\n'
        f"[database]\nstatement_timeout_s = {DEADLINE}\nconnect_timeout_s = {DEADLINE}\n"
    )
    web = StockdProcess(
        "web",
        config,
        database_url=proxy.url_through(database_url),
        home=tmp_path / "home",
        log_dir=tmp_path,
    )
    await web.start()
    assert web.url is not None
    api = f"{web.url}/api/v1"
    try:
        async with aiohttp.ClientSession() as http:
            status, _, _, _ = await _call(http, "GET", f"{api}/stock/WIDGET", manager)
            assert status == 200
            await proxy.ahang()
            calls = [
                ("GET", f"{api}/stock/WIDGET", None),
                ("GET", f"{api}/products", None),
                ("POST", f"{api}/products", {"sku": "HUNG-1", "name": "Hung"}),
            ]
            answers = [await _call(http, m, u, manager, b) for m, u, b in calls]
            for (method, url, _), (status, document, headers, took) in zip(
                calls, answers, strict=True
            ):
                assert status == 503, (method, url, document)
                assert headers["Content-Type"].startswith("application/problem+json")
                assert headers["Retry-After"] == "1"
                assert document["status"] == 503
                assert took < BOUND, f"{method} {url} answered after {took:.2f} s"
            print(
                "hung primary, API answers: "
                + ", ".join(
                    f"{m} {u.rsplit('/v1', 1)[1]} 503 in {a[3] * 1000:.0f} ms"
                    for (m, u, _), a in zip(calls, answers, strict=True)
                )
            )
            await proxy.aunhang()
            deadline = time.monotonic() + 10
            while True:  # the next request makes fresh connections
                status, document, _, _ = await _call(http, "GET", f"{api}/stock/WIDGET", manager)
                if status == 200 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            assert status == 200, document
            status, document, _, _ = await _call(
                http, "POST", f"{api}/products", manager, {"sku": "AFTER-1", "name": "After"}
            )
            assert status == 201, document
    finally:
        await web.stop(signal.SIGTERM)


async def test_a_slow_statement_past_its_deadline_is_cancelled_on_the_server_too(
    database_url: str, pool: asyncpg.Pool
) -> None:
    options = ConnectOptions(statement_timeout=0.3)
    async with (
        open_web_pool(database_url, max_size=1, acquire_timeout=2, options=options) as db,
        db.pool.acquire() as conn,
    ):
        pid = conn.get_server_pid()
        with pytest.raises(TimeoutError):
            await conn.execute("SELECT pg_sleep(30)")

    async def running() -> bool:
        return bool(
            await pool.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", pid
            )
        )

    for _ in range(50):  # the cancel request is on its way (5 s at most)
        if not await running():
            break
        await asyncio.sleep(0.1)
    assert not await running(), "the server still runs the abandoned statement"
