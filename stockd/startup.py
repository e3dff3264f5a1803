"""Start-up failures as one line (SPEC, promise 9), and the two resources that cause most.

A command that cannot start raises :class:`StartupError`; ``stockd`` prints its text as
``stockd: <text>`` on standard error and exits 1, after stopping whatever it had started
(so an embedded PostgreSQL it started stops too). The text names the cause and the
setting to change.

* :func:`listen` binds the web port before anything else starts: a port in use is
  reported at once, before an embedded PostgreSQL, a gateway or a forecast run is
  started only to be stopped again.
* :func:`database` opens the database, waiting at most ``[database] wait_s`` for a
  server that does not answer yet (a container starting next to it); a server that
  answers and refuses (no such role or database, a bad URL) fails at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from stock_core.errors import DatabaseAccessError
from stock_core.errors import DatabaseUnavailableError
from stock_core.store.database import Database
from stock_core.store.database import open_database
from stock_core.store.failover import ConnectOptions
from stockd.settings import Settings
from stockd.settings import WebSettings

__all__ = ["StartupError", "close_sockets", "connect_options", "database", "listen"]

log = logging.getLogger("stockd")

_BACKLOG = 512
_RETRY_EVERY = 0.5
"""Seconds between attempts while waiting for PostgreSQL."""


class StartupError(Exception):
    """The command cannot start; ``str()`` is one line: the cause and what to change."""


_URL_SETTING = "set [database] url or DATABASE_URL"


def listen(web: WebSettings) -> list[socket.socket]:
    """Listening sockets for ``web.host``/``web.port``; :class:`StartupError` when taken.

    One socket per address the host name stands for (``localhost``: IPv4 and IPv6), as
    aiohttp's ``TCPSite`` would bind; with port 0 only the first, so there is one port.
    """
    port_names = "set [web] port or STOCKD_WEB__PORT"
    host_names = "set [web] host or STOCKD_WEB__HOST"
    try:
        infos = socket.getaddrinfo(
            web.host or None, web.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise StartupError(f"cannot listen on host {web.host!r}: {reason}: {host_names}") from exc
    addresses = list(dict.fromkeys((i[0], i[1], i[2], i[4]) for i in infos))
    if web.port == 0:
        addresses = addresses[:1]
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, address in addresses:
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                raise _bind_error(exc, web, port_names, host_names) from exc
            sock.listen(_BACKLOG)
            sock.setblocking(False)
    except BaseException:
        close_sockets(sockets)
        raise
    return sockets


def close_sockets(sockets: list[socket.socket]) -> None:
    """Close what :func:`listen` opened."""
    for sock in sockets:
        sock.close()


def _bind_error(exc: OSError, web: WebSettings, port_names: str, host_names: str) -> StartupError:
    if exc.errno == errno.EADDRINUSE:
        return StartupError(f"port {web.port} is in use: {port_names}")
    if exc.errno == errno.EACCES:
        return StartupError(
            f"port {web.port} needs privileges this process lacks (ports below 1024): {port_names}"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return StartupError(f"host {web.host} is not an address of this machine: {host_names}")
    return StartupError(f"cannot listen on {web.host}:{web.port}: {exc.strerror}: {port_names}")


@contextlib.asynccontextmanager
async def database(
    settings: Settings,
    *,
    run_migrations: bool = True,
    min_size: int = 2,
    max_size: int = 10,
    tolerate_outage: bool = False,
    lineage_file: Path | None = None,
    serving: bool = True,
) -> AsyncIterator[Database]:
    """:func:`~stock_core.store.database.open_database`, waiting ``[database] wait_s`` at most.

    ``serving``: for ``web``, ``gateway``, ``serve`` (statements bounded by
    ``statement_timeout_s``); else a one-shot command (see :func:`connect_options`).

    With ``tolerate_outage`` (``gateway``, ``serve``) an unreachable server is not an
    error at all: those start and spool. Anything else that stops the pool from opening
    is a :class:`StartupError`.
    """
    url = settings.database.url
    where = _where(url, settings)
    wait = settings.database.wait_s
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    stack = contextlib.AsyncExitStack()
    while True:
        try:
            db = await stack.enter_async_context(
                open_database(
                    url,
                    home=settings.home,
                    run_migrations=run_migrations,
                    min_size=min_size,
                    max_size=max_size,
                    tolerate_outage=tolerate_outage,
                    options=connect_options(settings, serving=serving),
                    lineage_file=lineage_file,
                    admin_url=settings.database.admin_url,
                    app_role=settings.database.app_role,
                )
            )
        except DatabaseAccessError as exc:
            raise StartupError(f"bad setting {exc.setting}: {_short(exc)}") from exc
        except DatabaseUnavailableError as exc:
            if loop.time() >= deadline:
                cause = exc.__cause__ or exc
                if exc.setting == "database.admin_url":
                    admin = _where(settings.database.admin_url, settings)
                    raise StartupError(
                        f"cannot reach PostgreSQL at {admin} (waited {wait:g} s: "
                        f"{_short(cause)}): set [database] admin_url or "
                        "STOCKD_DATABASE__ADMIN_URL, or wait longer with [database] wait_s"
                    ) from exc
                raise StartupError(
                    f"cannot reach PostgreSQL at {where} (waited {wait:g} s: {_short(cause)}): "
                    f"{_URL_SETTING}, or wait longer with [database] wait_s"
                ) from exc
            log.debug("PostgreSQL at %s does not answer yet: %s", where, exc)
            await asyncio.sleep(min(_RETRY_EVERY, max(deadline - loop.time(), 0.0)))
            continue
        except asyncpg.PostgresError as exc:
            raise StartupError(
                f"PostgreSQL at {where} refused stockd: {_short(exc)}: {_URL_SETTING}"
            ) from exc
        except (asyncpg.InterfaceError, ValueError) as exc:  # not a URL asyncpg can use
            raise StartupError(f"bad setting database.url: {_short(exc)}: {_URL_SETTING}") from exc
        except Exception as exc:
            if url:
                raise
            # pgserver: initdb or pg_ctl failed, the home is not writable, ...
            raise StartupError(
                f"cannot start the embedded PostgreSQL under {settings.home}: {_short(exc)}: "
                f"set STOCKD_HOME to a writable directory, or {_URL_SETTING}"
            ) from exc
        break
    async with stack:
        yield db


ONE_SHOT_STATEMENT_TIMEOUT = 600.0
"""Seconds a statement of a one-shot command (``verify``, ``import``, an export, …) may
take: those read the whole ledger on purpose, and nobody waits on them at a counter."""


def connect_options(settings: Settings, *, serving: bool = True) -> ConnectOptions:
    """How each connection is made, from ``[database]``; a serving process's statements
    have ``statement_timeout_s``, a one-shot command's at least
    :data:`ONE_SHOT_STATEMENT_TIMEOUT`."""
    statement_timeout = settings.database.statement_timeout_s
    cache = settings.database.statement_cache
    if not serving:
        statement_timeout = max(statement_timeout, ONE_SHOT_STATEMENT_TIMEOUT)
    return ConnectOptions(
        connect_timeout=settings.database.connect_timeout_s,
        keepalive=settings.database.keepalive_s,
        statement_cache=None if cache == "auto" else cache,
        statement_timeout=statement_timeout,
    )


def _where(url: str | None, settings: Settings) -> str:
    """Where the database is, without the password."""
    if not url:
        return f"the embedded server under {settings.home}"
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
    return url


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
