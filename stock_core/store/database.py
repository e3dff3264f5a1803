"""Where the database is: ``DATABASE_URL`` / config, or an embedded PostgreSQL.

The embedded server comes from the ``pgserver`` package (PostgreSQL binaries on
PyPI), keeps its data under ``STOCKD_HOME/pgdata``, listens on a Unix socket only,
is reused by later runs and stopped when the last process using it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import Final

import asyncpg

from stock_core.embedded import default_home
from stock_core.embedded import embedded_url
from stock_core.errors import DatabaseAccessError
from stock_core.errors import DatabaseUnavailableError
from stock_core.store._boundary import UNAVAILABLE_ERRORS
from stock_core.store.failover import ConnectOptions
from stock_core.store.failover import Connector
from stock_core.store.failover import DeadlineConnection
from stock_core.store.migrate import Migration
from stock_core.store.migrate import migrate
from stock_core.store.privileges import ensure_login_role
from stock_core.store.privileges import grant_app_role
from stock_core.store.privileges import missing_privileges
from stock_core.store.privileges import owner_powers

__all__ = ["EMBEDDED_APP_ROLE", "PING", "Database", "close_pool", "open_database", "with_user"]

PING: Final = "SELECT 1"
"""Whether the server answers (health checks, keeping a listening connection alive)."""

log = logging.getLogger(__name__)

_CLOSE_WAIT = 5.0
"""Seconds a pool's polite close may take before its connections are dropped."""
_OUTAGE: tuple[type[BaseException], ...] = (*UNAVAILABLE_ERRORS, DatabaseUnavailableError)
"""The server cannot be used now: unreachable, or no host is a primary to write on."""

"""Seconds a pool's polite close may take before its connections are dropped."""
EMBEDDED_APP_ROLE = "stockd_app"
"""The embedded server's app role: created by stockd, owns nothing."""


@dataclass
class Database:
    """An open pool plus where it points. ``embedded`` holds the server handle, if any.

    ``url`` is the app's own (its pools connect with it); ``admin_url`` the schema
    owner's, when migrations ran over another role; ``applied`` the migrations this
    open applied.
    """

    pool: asyncpg.Pool[Any]
    url: str
    embedded: Any = None
    connector: Connector | None = None
    """Makes the pool's connections: host by host, primary only, on the right timeline."""
    admin_url: str | None = None
    app_role: str | None = None
    applied: list[Migration] = field(default_factory=list)

    @property
    def description(self) -> str:
        return f"embedded PostgreSQL at {self.url}" if self.embedded else _redact(self.url)


def with_user(url: str, user: str) -> str:
    """``url`` with its user (and password) replaced by ``user``, no password."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a postgresql:// URL: {_redact(url)}")
    authority, slash, tail = rest.partition("/")
    host = authority.rsplit("@", 1)[1] if "@" in authority else authority
    return f"{scheme}://{user}@{host}{slash}{tail}"


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


async def _prepare_schema(
    admin_url: str, app_role: str | None, *, create_role: bool
) -> list[Migration]:
    """Migrate over the owner's ``admin_url`` and grant ``app_role``; one connection."""
    try:
        conn = await asyncpg.connect(admin_url, timeout=10, command_timeout=60)
    except UNAVAILABLE_ERRORS as exc:
        error = DatabaseUnavailableError(f"cannot reach PostgreSQL at {_redact(admin_url)}: {exc}")
        error.setting = "database.admin_url"
        raise error from exc
    except asyncpg.PostgresError as exc:
        raise DatabaseAccessError(
            f"PostgreSQL at {_redact(admin_url)} refused the schema owner's login: {exc}",
            "database.admin_url",
        ) from exc
    except (asyncpg.InterfaceError, ValueError) as exc:  # not a URL asyncpg can use
        raise DatabaseAccessError(
            f"not a PostgreSQL URL: {_redact(admin_url)} ({exc})", "database.admin_url"
        ) from exc
    try:
        try:
            applied = await migrate(conn)
        except asyncpg.InsufficientPrivilegeError as exc:
            raise DatabaseAccessError(
                f"the role of {_redact(admin_url)} cannot run stockd's migrations ({exc}): "
                "it must own the database's public schema",
                "database.admin_url",
            ) from exc
        if app_role:
            if create_role:
                await ensure_login_role(conn, app_role)
            try:
                await grant_app_role(conn, app_role)
            except asyncpg.UndefinedObjectError as exc:
                raise DatabaseAccessError(
                    f"role {app_role} does not exist ({exc}): create it as a login role "
                    "(docs/how-to/deploy.md) or name another",
                    "database.app_role",
                ) from exc
            except asyncpg.InsufficientPrivilegeError as exc:
                raise DatabaseAccessError(
                    f"the role of {_redact(admin_url)} cannot grant {app_role} its "
                    f"privileges ({exc}): it must own the schema",
                    "database.admin_url",
                ) from exc
        return applied
    finally:
        await conn.close()


async def _check_app_role(pool: asyncpg.Pool[Any], url: str, *, separate_admin: bool) -> None:
    """Refuse to serve as a role that lacks what stockd needs; warn when it has more."""
    async with pool.acquire() as conn:
        missing = await missing_privileges(conn)
        powers = await owner_powers(conn)
    if missing:
        shown = ", ".join(missing[:4]) + (
            f" and {len(missing) - 4} more" if len(missing) > 4 else ""
        )
        raise DatabaseAccessError(
            f"the role of {_redact(url)} lacks {shown}: grant them (docs/how-to/deploy.md), "
            "or set [database] admin_url and app_role so that stockd grants them",
            "database.url",
        )
    if powers and separate_admin:
        log.warning(
            "%s: the app connects with owner powers over the ledger; give [database] url "
            "a role that owns nothing (docs/how-to/deploy.md)",
            powers,
        )
    elif powers:
        log.info(
            "%s, so it could drop the ledger's append-only trigger: set [database] admin_url "
            "(the owner, for migrations) and app_role, and url to that role "
            "(docs/how-to/deploy.md)",
            powers,
        )


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
    admin_url: str | None = None,
    app_role: str | None = None,
) -> AsyncIterator[Database]:
    """Open a pool on ``url`` (or the embedded server under ``home``), migrated.

    Migrations, and the grants that give ``app_role`` what the app needs, run over
    ``admin_url`` (the schema owner) when it is given, else over ``url`` itself. The
    embedded server migrates as its superuser and serves as :data:`EMBEDDED_APP_ROLE`
    (created on first use; it owns nothing). Then the pool's own role is checked: one
    that lacks a privilege stockd needs is :class:`DatabaseAccessError`.

    With ``tolerate_outage`` (the gateway) an unreachable server is not fatal: the
    pool is created empty and connects when PostgreSQL returns; until then callers
    get :class:`DatabaseUnavailableError` and the gateway spools.

    Connections are made by a :class:`~stock_core.store.failover.Connector` (each
    host of a multi-host URL with its own deadline, a read-write primary only, not
    behind the timeline written on before, kept in ``lineage_file`` when given).
    """
    embedded = None
    create_role = False
    if not url:
        embedded, admin_url = await embedded_url(home or default_home())
        log.info("using embedded PostgreSQL under %s", home or default_home())
        app_role = app_role or EMBEDDED_APP_ROLE
        url = with_user(admin_url, app_role)
        create_role = True
    applied: list[Migration] = []
    if run_migrations and (admin_url or app_role):
        try:
            applied = await _prepare_schema(admin_url or url, app_role, create_role=create_role)
        except DatabaseUnavailableError:
            if not tolerate_outage:
                raise
            log.warning("PostgreSQL unreachable at start: scans will be spooled")
    connector = Connector(url, options, lineage_file=lineage_file)
    await connector.load()
    try:
        pool = await asyncpg.create_pool(
            url,
            min_size=0 if tolerate_outage else min_size,
            max_size=max_size,
            command_timeout=connector.options.statement_timeout,
            reset=_keep_session,
            connect=connector,
            connection_class=DeadlineConnection,
        )
    except UNAVAILABLE_ERRORS as exc:
        raise DatabaseUnavailableError(f"cannot reach PostgreSQL at {_redact(url)}: {exc}") from exc
    except DatabaseUnavailableError as exc:
        raise DatabaseUnavailableError(f"cannot reach PostgreSQL at {_redact(url)}: {exc}") from exc
    connector.attach(pool)
    try:
        try:
            async with pool.acquire() as conn:
                if run_migrations and not (admin_url or app_role):
                    applied = await migrate(conn)
            await _check_app_role(pool, url, separate_admin=bool(admin_url) and not embedded)
        except _OUTAGE as exc:
            if not tolerate_outage:
                raise DatabaseUnavailableError(
                    f"cannot reach PostgreSQL at {_redact(url)}: {exc}"
                ) from exc
            log.warning("PostgreSQL unreachable at start (%s): scans will be spooled", exc)
        except asyncpg.InsufficientPrivilegeError as exc:
            raise DatabaseAccessError(
                f"the role of {_redact(url)} cannot run stockd's migrations ({exc}): set "
                "[database] admin_url to the schema owner's URL, or run stockd migrate with it",
                "database.admin_url",
            ) from exc
        yield Database(
            pool=pool,
            url=url,
            embedded=embedded,
            connector=connector,
            admin_url=admin_url,
            app_role=app_role,
            applied=applied,
        )
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
