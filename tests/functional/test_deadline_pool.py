"""The pool stays whole when statements miss their deadlines and callers give up.

A :class:`DeadlineConnection` drops a connection whose statement missed its deadline
or whose caller was cancelled. The pool must hand that holder back exactly once:
asyncpg answers a second hand-back with "release() called on a free connection
holder", and the pool then loses track of the connection (a web node that hangs on
SIGTERM, a later "connection handed out inside a transaction").
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

import pytest

from stock_core.errors import DatabaseUnavailableError
from stock_core.store.database import Database
from stock_core.store.failover import ConnectOptions
from stock_core.store.failover import bounded
from stock_core.store.web_pool import open_web_pool

pytestmark = pytest.mark.asyncio

_SIZE = 4


async def _one(pool: Any, rng: random.Random) -> None:
    kind = rng.random()
    sleep = rng.uniform(0.0, 0.06)
    if kind < 0.4:  # a service call with its own deadline
        async with bounded(pool, rng.uniform(0.005, 0.05)) as conn, conn.transaction():
            await conn.execute("SELECT pg_sleep($1)", sleep)
    elif kind < 0.7:  # a caller's timeout around a plain acquire (the token writer)
        async with asyncio.timeout(rng.uniform(0.005, 0.05)), pool.acquire() as conn:
            await conn.execute("SELECT pg_sleep($1)", sleep)
    else:  # a request cancelled by its client mid-statement

        async def request() -> None:
            async with bounded(pool, 1.0) as conn, conn.transaction():
                await conn.execute("SELECT pg_sleep($1)", sleep)

        task = asyncio.create_task(request())
        await asyncio.sleep(rng.uniform(0.0, 0.05))
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):  # or it finished first
            await task


async def test_deadlines_and_cancels_hand_each_connection_back_once(database_url: str) -> None:
    problems: list[str] = []
    rng = random.Random(11)

    async def worker() -> None:
        for _ in range(60):
            try:
                await _one(db.pool, rng)
            except (TimeoutError, DatabaseUnavailableError):
                pass  # what the caller is told: the point is what the pool does next
            except Exception as exc:  # anything else is the defect
                problems.append(f"{type(exc).__name__}: {exc}")

    options = ConnectOptions(statement_timeout=0.03)
    async with open_web_pool(
        database_url, max_size=_SIZE, acquire_timeout=2.0, options=options
    ) as db:
        await asyncio.gather(*(worker() for _ in range(8)))
        assert problems == []
        pool: Any = db.pool
        holders = pool._holders  # asyncpg's own bookkeeping
        assert [h for h in holders if h._in_use is not None] == []
        # every holder is back in the queue, and each connection still works
        async with bounded(db.pool, 5.0) as conn:
            assert await conn.fetchval("SELECT 1") == 1
        conns = [await db.pool.acquire(timeout=2.0) for _ in range(_SIZE)]
        for conn in conns:
            assert not conn.is_in_transaction()
            await db.pool.release(conn)
        async with asyncio.timeout(5.0):
            await db.pool.close()


async def test_a_statement_past_its_deadline_is_dropped_and_the_next_caller_is_served(
    database: Database,
) -> None:
    with pytest.raises(DatabaseUnavailableError):
        async with bounded(database.pool, 0.2) as conn:
            await conn.execute("SELECT pg_sleep(2)")
    async with bounded(database.pool, 2.0) as conn:
        assert await conn.fetchval("SELECT 2") == 2
