"""Making a pool's connections: host by host, each with its own deadline, to a primary
on the right history, with keepalives, noticing a connection pooler (see
:mod:`stock_core.store.failover`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import Final
from urllib.parse import parse_qsl
from urllib.parse import urlencode

import asyncpg

from stock_core.domain.lineage import Lineage
from stock_core.domain.lineage import LineageVerdict
from stock_core.domain.lineage import judge
from stock_core.domain.lineage import lineage_from_text
from stock_core.domain.lineage import lineage_to_text
from stock_core.errors import NoPrimaryError
from stock_core.store._boundary import UNAVAILABLE_ERRORS
from stock_core.store.connection import Connection
from stock_core.store.connection import Pool

__all__ = [
    "BACKEND_IS",
    "PROBE_SERVER",
    "ConnectOptions",
    "Connector",
    "connector_of",
    "split_hosts",
]

log = logging.getLogger(__name__)

PROBE_SERVER: Final = """
SELECT pg_is_in_recovery() AS standby,
       current_setting('default_transaction_read_only') = 'on' AS read_only,
       (SELECT system_identifier FROM pg_control_system()) AS system_id,
       CASE WHEN pg_is_in_recovery() THEN 0
            ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int
       END AS timeline
"""
"""Is the server a primary that takes writes, and which cluster and timeline is it on.

The timeline is read from the name of the WAL file being written: a promoted server
writes on its new timeline at once, while ``pg_control_checkpoint()`` shows it only
after the next checkpoint."""

_CONNECT_FAILURES: tuple[type[BaseException], ...] = (
    *UNAVAILABLE_ERRORS,
    asyncpg.CannotConnectNowError,
)
"""This host cannot be used now (down, hung, starting up): try the next."""

BACKEND_IS: Final = "SELECT 1 WHERE pg_backend_pid() = %d"
"""One row when the server backend is the process the start-up reply named (a
pooler's names another)."""

_POOLERS_LOGGED: set[str] = set()
"""Hosts already logged as poolers by this process (one line each, not one a pool)."""


@dataclass(frozen=True)
class ConnectOptions:
    """How each connection is made: ``[database]`` settings."""

    connect_timeout: float = 2.0
    """Seconds for one host to accept, authenticate and answer the probe."""
    keepalive: float = 10.0
    """Seconds of silence before TCP keepalive probes start (3 probes, ``keepalive/5``
    apart); unacknowledged data fails the connection after ``2 × keepalive``."""
    statement_cache: bool | None = None
    """asyncpg's prepared statement cache: on, off, or ``None``: on unless the server
    turns out to be a connection pooler (pgbouncer), whose transaction mode loses
    prepared statements between transactions (see :meth:`Connector.is_pooler`)."""
    statement_timeout: float = 60.0
    """Seconds one statement may take (asyncpg's ``command_timeout``): past it the
    statement fails with ``TimeoutError`` and its :class:`DeadlineConnection` is dropped."""


def split_hosts(url: str) -> list[str]:
    """One URL per host of a multi-host URL, ``target_session_attrs`` taken out.

    ``postgresql://u@h1:5432,h2:5433/db?x=1`` → ``postgresql://u@h1:5432/db?x=1`` and
    ``postgresql://u@h2:5433/db?x=1``. Anything that is not such a URL (a Unix socket
    given as ``?host=``, a key=value DSN) comes back whole, as the one target.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return [url]
    netloc, slash, tail = rest.partition("/")
    credentials, at, hosts = netloc.rpartition("@")
    path, qmark, query = tail.partition("?")
    if qmark:
        pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True)]
        kept = [(k, v) for k, v in pairs if k != "target_session_attrs"]
        query = urlencode(kept) if len(kept) != len(pairs) else query
        qmark = "?" if query else ""
    suffix = f"{slash}{path}{qmark}{query}"
    names = [host for host in hosts.split(",") if host]
    if not names:  # the host is in the query (a Unix socket) or the environment
        return [f"{scheme}://{netloc}{suffix}"]
    return [f"{scheme}://{credentials}{at}{host}{suffix}" for host in names]


def _host_of(url: str) -> str:
    rest = url.partition("://")[2]
    return rest.partition("/")[0].rpartition("@")[2] or url


class _Refused(Exception):
    """This host answered but must not be used (a standby, read-only, or behind)."""


def _set_keepalive(conn: asyncpg.Connection[Any], idle: float) -> None:
    transport = getattr(conn, "_transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, max(1, round(idle)))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(1, round(idle / 5)))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, round(idle * 2000))


_CONNECTORS: dict[int, Connector] = {}
"""Open pools' connectors by ``id(pool)`` (asyncpg's pools take no weak references);
:meth:`Connector.detach` removes one when its pool closes."""


def connector_of(pool: Pool | Connection) -> Connector | None:
    """The :class:`Connector` a pool was opened with, if any."""
    connector = _CONNECTORS.get(id(pool))
    return connector if connector is not None and connector.pool is pool else None


class Connector:
    """Makes the connections of one pool (see the module's docstring)."""

    def __init__(
        self,
        url: str,
        options: ConnectOptions | None = None,
        *,
        writer: bool = True,
        lineage_file: Path | None = None,
        read_only_fallback: bool = False,
    ) -> None:
        self.hosts = split_hosts(url)
        self.options = options or ConnectOptions()
        self.writer = writer
        self.read_only_fallback = read_only_fallback and len(self.hosts) == 1
        """Admit the one server even while it is read-only (a fenced primary): reads go
        on, writes fail as an outage. Only with a single host: with several, a read-only
        one is passed over for the primary."""
        self.lineage_file = lineage_file
        self.lineage: Lineage | None = None
        """The lineage this pool last wrote on (``None``: none seen yet)."""
        self.epoch = 0
        """Bumped at each new lineage taken (a failover, another system)."""
        self.refused_behind = 0
        """Servers refused for being behind the lineage (an old primary come back)."""
        self._listeners: list[Callable[[Lineage | None, Lineage], None]] = []
        self._connections: weakref.WeakSet[asyncpg.Connection[Any]] = weakref.WeakSet()
        self._first = 0
        """Index of the host that answered last: tried first."""
        self.poolers: dict[str, bool] = {}
        """Each host URL's verdict, a connection pooler or not (with ``statement_cache``
        ``None``): asked on the first connection to it."""
        self._save_lock = asyncio.Lock()
        self.pool: Pool | None = None

    def attach(self, pool: Pool) -> None:
        """Make this the connector :func:`connector_of` finds for ``pool``."""
        self.pool = pool
        _CONNECTORS[id(pool)] = self

    def detach(self) -> None:
        if self.pool is not None and _CONNECTORS.get(id(self.pool)) is self:
            del _CONNECTORS[id(self.pool)]
        self.pool = None

    async def load(self) -> None:
        """Read the lineage kept in ``lineage_file`` (nothing kept: none known)."""
        if self.lineage_file is None:
            return
        try:
            text = await asyncio.to_thread(self.lineage_file.read_text)
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("cannot read %s (%s): the first primary is trusted", self.lineage_file, exc)
            return
        self.lineage = lineage_from_text(text)
        if self.lineage is None:
            log.warning("%s is damaged: the first primary is trusted", self.lineage_file)

    def on_new_lineage(self, listener: Callable[[Lineage | None, Lineage], None]) -> None:
        """Call ``listener(old, new)`` when a connection finds a new lineage."""
        self._listeners.append(listener)

    def terminate_all(self) -> int:
        """Close every connection this connector made, at once (no goodbye to a hung
        server); the pool opens new ones, host by host. Returns how many were open."""
        closed = 0
        for conn in list(self._connections):
            if not conn.is_closed():
                conn.terminate()
                closed += 1
        return closed

    async def __call__(
        self,
        dsn: str | None = None,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        connection_class: type[asyncpg.Connection[Any]] = asyncpg.Connection,
        record_class: type[asyncpg.Record] = asyncpg.Record,
        **kwargs: Any,
    ) -> asyncpg.Connection[Any]:
        kwargs.pop("timeout", None)
        kwargs.pop("target_session_attrs", None)
        order = self.hosts[self._first :] + self.hosts[: self._first]
        failures: list[BaseException] = []
        for url in order:
            try:
                conn = await self._open(
                    url, connection_class=connection_class, record_class=record_class, **kwargs
                )
            except TimeoutError as exc:
                late = TimeoutError(
                    f"{_host_of(url)} did not answer within {self.options.connect_timeout:g} s"
                    " (database.connect_timeout_s)"
                )
                late.__cause__ = exc
                failures.append(late)
                continue
            except _CONNECT_FAILURES as exc:
                failures.append(exc)
                continue
            except Exception as exc:
                if len(self.hosts) == 1:
                    raise
                failures.append(exc)
                continue
            try:
                await self._admit(conn, url)
            except _Refused as exc:
                conn.terminate()
                failures.append(exc)
                continue
            except BaseException as exc:
                conn.terminate()
                if not isinstance(exc, (*UNAVAILABLE_ERRORS, asyncpg.PostgresError)):
                    raise
                failures.append(exc)
                continue
            self._first = self.hosts.index(url)
            self._connections.add(conn)
            return conn
        if len(failures) == 1 and not isinstance(failures[0], _Refused):
            raise failures[0]
        detail = "; ".join(f"{type(e).__name__}: {e}" for e in failures)
        for failure in failures:  # a refusal that is no outage (a bad password) says most
            if not isinstance(failure, (*UNAVAILABLE_ERRORS, _Refused)):
                raise failure
        raise NoPrimaryError(f"no usable primary among {len(self.hosts)} host(s): {detail}")

    async def _open(self, url: str, **kwargs: Any) -> asyncpg.Connection[Any]:
        """A connection to ``url``, with asyncpg's statement cache unless it is a pooler."""

        async def connect(cache: bool) -> asyncpg.Connection[Any]:
            sized = kwargs if cache else {**kwargs, "statement_cache_size": 0}
            conn: asyncpg.Connection[Any] = await asyncpg.connect(
                url, timeout=self.options.connect_timeout, **sized
            )
            return conn

        wanted = self.options.statement_cache
        if wanted is not None or url in self.poolers:
            return await connect(wanted if wanted is not None else not self.poolers[url])
        conn = await connect(True)
        try:
            pooled = await self.is_pooler(conn, url)
        except BaseException:
            conn.terminate()
            raise
        if not pooled:
            return conn
        conn.terminate()  # it may not keep its cache: once more, without
        return await connect(False)

    async def is_pooler(self, conn: asyncpg.Connection[Any], url: str) -> bool:
        """Whether ``conn`` reached its server through a connection pooler.

        A pooler (pgbouncer, in any pool mode) answers the start-up itself, with a
        backend key of its own for cancel requests: its "process id" is not the server
        backend's ``pg_backend_pid()``. A TCP proxy (HAProxy) passes the server's on.
        Asked in the simple query protocol, so nothing is prepared on the way.
        """
        async with asyncio.timeout(self.options.connect_timeout):
            status = await conn.execute(BACKEND_IS % int(conn.get_server_pid()))
        pooled = status != "SELECT 1"
        self.poolers[url] = pooled
        host = _host_of(url)
        if pooled and host not in _POOLERS_LOGGED:
            _POOLERS_LOGGED.add(host)
            log.info(
                "%s is a connection pooler (pgbouncer?): asyncpg's prepared statement cache "
                "is off on its connections (database.statement_cache)",
                host,
            )
        return pooled

    async def _admit(self, conn: asyncpg.Connection[Any], url: str) -> None:
        _set_keepalive(conn, self.options.keepalive)
        if not self.writer:
            return
        async with asyncio.timeout(self.options.connect_timeout):
            row = await conn.fetchrow(PROBE_SERVER)
        assert row is not None
        host = _host_of(url)
        if row["standby"]:
            raise _Refused(f"{host} is a standby")
        if row["read_only"] and not self.read_only_fallback:
            raise _Refused(f"{host} is read-only (default_transaction_read_only)")
        seen = Lineage(int(row["system_id"]), int(row["timeline"]))
        verdict = judge(self.lineage, seen)
        if verdict is LineageVerdict.BEHIND:
            self.refused_behind += 1
            log.warning(
                "refused %s: it is on %s, behind %s written on before (an old primary?)",
                host,
                seen,
                self.lineage,
            )
            raise _Refused(f"{host} is behind: {seen}, wrote on {self.lineage}")
        if verdict is LineageVerdict.SAME and self.lineage == seen:
            return
        old, self.lineage = self.lineage, seen
        if verdict is not LineageVerdict.SAME:
            self.epoch += 1
            log.warning("PostgreSQL at %s is on %s (was %s): a failover", host, seen, old)
            for listener in self._listeners:
                listener(old, seen)
        await self._save(seen)

    async def _save(self, lineage: Lineage) -> None:
        if self.lineage_file is None:
            return
        async with self._save_lock:
            try:
                await asyncio.to_thread(_write_atomically, self.lineage_file, lineage)
            except OSError as exc:
                log.warning("cannot keep the lineage in %s: %s", self.lineage_file, exc)


def _write_atomically(path: Path, lineage: Lineage) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    with temp.open("w") as out:
        out.write(lineage_to_text(lineage))
        out.flush()
        os.fsync(out.fileno())
    temp.replace(path)
