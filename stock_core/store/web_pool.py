"""The web node's own database pool: bounded, and a request never waits on it for long.

In ``stockd serve`` the gateway and the web app have a pool each, so nothing the web
side does (slow CSV downloads, metrics scrapes, many displays catching up) can take a
connection a scan needs. On the web pool every ``acquire`` has a deadline
(``web.acquire_timeout_s``): past it, :class:`~stock_core.errors.PoolExhaustedError` (a
:class:`~stock_core.errors.DatabaseUnavailableError`), which the API answers ``503``
``busy`` with ``Retry-After`` and the feed with close code 1013.

It is built here rather than by :func:`~stock_core.store.database.open_database`,
which has no acquire deadline (it serves the gateway, whose scans queue instead; see
``docs/topics/write-path.md``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from collections.abc import Generator
from typing import TYPE_CHECKING
from typing import Any

import asyncpg
from asyncpg.pool import PoolAcquireContext
from asyncpg.pool import PoolConnectionProxy

from stock_core.errors import PoolExhaustedError
from stock_core.store._boundary import translated
from stock_core.store.database import Database
from stock_core.store.database import close_pool
from stock_core.store.failover import ConnectOptions
from stock_core.store.failover import Connector
from stock_core.store.failover import DeadlineConnection

__all__ = ["WebPool", "open_web_pool"]


if TYPE_CHECKING:
    _AcquireContext = PoolAcquireContext[Any]
    _Pool = asyncpg.Pool[Any]
else:  # asyncpg's classes are not generic at run time
    _AcquireContext = PoolAcquireContext
    _Pool = asyncpg.Pool


class _DeadlineAcquire(_AcquireContext):
    """``pool.acquire()`` (as ``async with`` or ``await``) that turns its timeout into
    :class:`PoolExhaustedError`."""

    __slots__ = ()

    def _exhausted(self, exc: BaseException) -> PoolExhaustedError:
        return PoolExhaustedError(
            f"no database connection free within {self.timeout:g} s (the web pool is busy "
            "or PostgreSQL is slow to answer)"
        )

    async def __aenter__(self) -> PoolConnectionProxy[Any]:
        try:
            return await super().__aenter__()
        except TimeoutError as exc:
            raise self._exhausted(exc) from exc

    def __await__(self) -> Generator[Any, None, PoolConnectionProxy[Any]]:
        try:
            return (yield from super().__await__())
        except TimeoutError as exc:
            raise self._exhausted(exc) from exc


class WebPool(_Pool):
    """An asyncpg pool whose ``acquire`` waits at most ``acquire_timeout`` seconds."""

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext[Any]:
        return _DeadlineAcquire(self, self.acquire_timeout if timeout is None else timeout)


async def _keep_session(conn: asyncpg.Connection[Any]) -> None:
    """No reset round trip on release (as the gateway's pool: stockd keeps no session
    state; an open transaction is still rolled back by asyncpg)."""


@contextlib.asynccontextmanager
async def open_web_pool(
    url: str,
    *,
    max_size: int,
    acquire_timeout: float,
    min_size: int = 1,
    tolerate_outage: bool = False,
    embedded: Any = None,
    options: ConnectOptions | None = None,
    writer: bool = True,
) -> AsyncIterator[Database]:
    """A :class:`WebPool` on ``url`` (already migrated), as a :class:`Database`.

    Its connections come from a :class:`~stock_core.store.failover.Connector`: host by
    host, a read-write primary (any server when not a ``writer``: a replica's pool; a
    single server that is read-only, for reads), never one behind the timeline written
    on before.
    """
    # reads go on while the one server is read-only (a fenced primary); writes are 503s
    connector = Connector(url, options, writer=writer, read_only_fallback=True)
    pool = WebPool(
        url,
        min_size=0 if tolerate_outage else min(min_size, max_size),
        max_size=max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        setup=None,
        init=None,
        reset=_keep_session,
        connect=connector,
        loop=None,
        connection_class=DeadlineConnection,
        record_class=asyncpg.Record,
        command_timeout=connector.options.statement_timeout,
        timeout=10,
        acquire_timeout=acquire_timeout,
    )
    with translated("cannot reach PostgreSQL for the web pool"):
        await pool
    connector.attach(pool)
    try:
        yield Database(pool=pool, url=url, embedded=embedded, connector=connector)
    finally:
        connector.detach()
        await close_pool(pool, connector)
