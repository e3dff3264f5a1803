"""Where the database is: ``DATABASE_URL`` / config, or an embedded PostgreSQL.

The embedded server comes from the ``pgserver`` package (PostgreSQL binaries on
PyPI), keeps its data under ``STOCKD_HOME/pgdata``, listens on a Unix socket only,
is reused by later runs and stopped when the last process using it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import platformdirs

from stock_core.errors import DatabaseUnavailableError
from stock_core.store.connection import UNAVAILABLE_ERRORS
from stock_core.store.failover import ConnectOptions, Connector
from stock_core.store.migrate import migrate

__all__ = ["Database", "close_pool", "default_home", "embedded_url", "open_database"]

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "stockd"
_CLOSE_WAIT = 5.0
_OUTAGE: tuple[type[BaseException], ...] = (*UNAVAILABLE_ERRORS, DatabaseUnavailableError)
"""The server cannot be used now: unreachable, or no host is a primary to write on."""

"""Seconds a pool's polite close may take before its connections are dropped."""


def default_home() -> Path:
    """``STOCKD_HOME``, else the user's data directory for stockd."""
    home = os.environ.get("STOCKD_HOME")
    return Path(home) if home else Path(platformdirs.user_data_dir("stockd"))


def _start_embedded(pgdata: Path) -> tuple[Any, str]:
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        from pgserver import postgres_server  # lazily: only the embedded default needs it

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = postgres_server.get_server(pgdata, cleanup_mode="stop")
    uri = server.get_uri()
    if EMBEDDED_DATABASE not in server.psql("SELECT datname FROM pg_database;"):
        with contextlib.suppress(Exception):  # lost a race with another process: fine
            server.psql(f"CREATE DATABASE {EMBEDDED_DATABASE};")
    return server, uri.replace("/postgres?", f"/{EMBEDDED_DATABASE}?")


async def embedded_url(home: Path) -> tuple[Any, str]:
    """Start (or join) the embedded server under ``home``; returns (handle, url)."""
    return await asyncio.to_thread(_start_embedded, home / "pgdata")


@dataclass
class Database:
    """An open pool plus where it points. ``embedded`` holds the server handle, if any."""

    pool: asyncpg.Pool[Any]
    url: str
    embedded: Any = None
    connector: Connector | None = None
    """Makes the pool's connections: host by host, primary only, on the right timeline."""

    @property
    def description(self) -> str:
        return f"embedded PostgreSQL at {self.url}" if self.embedded else _redact(self.url)


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{host}"
    return url


async def _keep_session(conn: asyncpg.Connection[Any]) -> None:
    """Give a connection back to the pool as it is: no reset round trip.

    asyncpg's default reset (advisory unlock, CLOSE ALL, UNLISTEN *, RESET ALL) costs
    a round trip on every release, a whole extra statement per scan or API call.
    stockd sets no session state: locks are transaction-scoped, cursors live inside
    transactions, and the feed relay removes its listeners before it releases. An
    open transaction is still rolled back (asyncpg does that before calling this).
    """


@contextlib.asynccontextmanager
async def open_database(
    url: str | None,
    *,
    home: Path | None = None,
    run_migrations: bool = True,
    min_size: int = 2,
    max_size: int = 10,
    tolerate_outage: bool = False,
    options: ConnectOptions | None = None,
    lineage_file: Path | None = None,
) -> AsyncIterator[Database]:
    """Open a pool on ``url`` (or the embedded server under ``home``), migrated.

    With ``tolerate_outage`` (the gateway) an unreachable server is not fatal: the
    pool is created empty and connects when PostgreSQL returns; until then callers
    get :class:`DatabaseUnavailableError` and the gateway spools.

    Connections are made by a :class:`~stock_core.store.failover.Connector` (each
    host of a multi-host URL with its own deadline, a read-write primary only, not
    behind the timeline written on before, kept in ``lineage_file`` when given).
    """
    embedded = None
    if not url:
        embedded, url = await embedded_url(home or default_home())
        log.info("using embedded PostgreSQL under %s", home or default_home())
    connector = Connector(url, options, lineage_file=lineage_file)
    await connector.load()
    try:
        pool = await asyncpg.create_pool(
            url,
            min_size=0 if tolerate_outage else min_size,
            max_size=max_size,
            command_timeout=60,
            reset=_keep_session,
            connect=connector,
        )
    except UNAVAILABLE_ERRORS as exc:
        raise DatabaseUnavailableError(f"cannot reach PostgreSQL at {_redact(url)}: {exc}") from exc
    except DatabaseUnavailableError as exc:
        raise DatabaseUnavailableError(f"cannot reach PostgreSQL at {_redact(url)}: {exc}") from exc
    connector.attach(pool)
    try:
        if run_migrations:
            try:
                async with pool.acquire() as conn:
                    await migrate(conn)
            except _OUTAGE as exc:
                if not tolerate_outage:
                    raise DatabaseUnavailableError(
                        f"cannot reach PostgreSQL at {_redact(url)}: {exc}"
                    ) from exc
                log.warning("PostgreSQL unreachable at start (%s): scans will be spooled", exc)
        yield Database(pool=pool, url=url, embedded=embedded, connector=connector)
    finally:
        connector.detach()
        await close_pool(pool, connector)


async def close_pool(pool: asyncpg.Pool[Any], connector: Connector | None = None) -> None:
    """Close ``pool`` politely, or at once when its server does not answer (a hung
    server would hold a polite close for ever)."""
    try:
        async with asyncio.timeout(_CLOSE_WAIT):
            await pool.close()
    except TimeoutError:
        log.warning("PostgreSQL did not answer the pool's close: connections dropped")
        if connector is not None:
            connector.terminate_all()
        pool.terminate()
