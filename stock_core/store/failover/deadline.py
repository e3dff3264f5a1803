"""Deadlines on connections in use: a statement that misses its deadline drops its
connection (:class:`DeadlineConnection`), and :func:`bounded` lends a pooled connection
for a fixed time, noticing a commit a synchronous standby did not confirm (see
:mod:`stock_core.store.failover`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING
from typing import Any
from typing import Final

import asyncpg
from asyncpg import connect_utils

from stock_core.errors import CommitUnconfirmedError
from stock_core.errors import DatabaseUnavailableError
from stock_core.errors import DeadlineExceededError
from stock_core.errors import LineageChangedError
from stock_core.store._boundary import UNAVAILABLE_ERRORS
from stock_core.store.connection import Connection
from stock_core.store.connection import Pool
from stock_core.store.failover.connector import connector_of

__all__ = ["DeadlineConnection", "bounded"]

_SYNC_REP_STATE: Final = "01000"
_SYNC_REP_WORDS: Final = "synchronous replication"


def _is_unconfirmed_commit(message: object) -> bool:
    """The WARNING PostgreSQL sends with a commit it did not wait for a synchronous
    standby to confirm ("canceling wait for synchronous replication due to user
    request", or for a shutdown or a terminated backend)."""
    return getattr(message, "sqlstate", None) == _SYNC_REP_STATE and _SYNC_REP_WORDS in str(
        getattr(message, "message", "")
    )


_CANCEL_REQUESTS: set[asyncio.Task[None]] = set()
"""Cancel requests on their way to servers (kept so that they are not collected)."""


if TYPE_CHECKING:
    _Connection = asyncpg.Connection[Any]
else:  # asyncpg's classes are not generic at run time
    _Connection = asyncpg.Connection


class DeadlineConnection(_Connection):
    """A connection that is dropped when a statement misses its deadline.

    asyncpg's own answer to a statement past ``command_timeout`` (or to its caller
    being cancelled) is to ask the server to cancel it and keep the connection: the
    next use of it, and releasing it to the pool, wait for the server to acknowledge
    the cancel. A hung server never does, so the caller's deadline doubled, and a
    transaction's rollback waited as long again. Here the connection is closed at
    once instead (the waiting call has its ``TimeoutError`` already), and the cancel
    request still goes to the server in the background, so that a server that was
    merely slow stops the statement.
    """

    def _cancel_current_command(
        self, waiter: asyncio.Future[None], cancel_waiter: asyncio.Future[None] | None = None
    ) -> None:
        # asyncpg's internals (0.32), untyped: the protocol calls this on a timeout or
        # a cancelled caller, with the backend's key for a cancel request at hand.
        inner: Any = self
        protocol = inner._protocol
        loop: asyncio.AbstractEventLoop = inner._loop
        # After the protocol has finished its own bookkeeping of the cancel (it may
        # still write to the socket in this call): closing completes its waiters.
        loop.call_soon(self._drop_now)
        if protocol is None:
            return
        request = _request_cancel(
            inner, protocol.backend_pid, protocol.backend_secret, inner._config.command_timeout
        )
        task = loop.create_task(request)
        _CANCEL_REQUESTS.add(task)
        task.add_done_callback(_CANCEL_REQUESTS.discard)

    def _drop_now(self) -> None:
        """Close the socket. A connection lent out by a pool is only aborted: the pool's
        release of it (which follows, and may be on its way already) finishes the
        clean-up and hands the holder back. Terminating it here as well would hand the
        holder back twice (asyncpg: "release() called on a free connection holder"),
        and the pool would lose track of it."""
        inner: Any = self
        if inner._proxy is None:
            self.terminate()
        elif not inner._aborted:
            inner._abort()


async def _request_cancel(inner: Any, pid: int, secret: int, within: float | None) -> None:
    """Ask the server to cancel backend ``pid``'s statement; a hung one is given up on."""
    cancel: Any = getattr(connect_utils, "_cancel")  # noqa: B009 (private to asyncpg)
    with contextlib.suppress(Exception):
        async with asyncio.timeout(within or 5.0):
            await cancel(
                loop=inner._loop,
                addr=inner._addr,
                params=inner._params,
                backend_pid=pid,
                backend_secret=secret,
            )


@contextlib.asynccontextmanager
async def bounded(
    pool: Pool | Connection, seconds: float, *, epoch: int | None = None
) -> AsyncIterator[Connection]:
    """A pooled connection for at most ``seconds``, then terminated: never a wait.

    Past the deadline (waiting for a connection included) the block fails with
    :class:`DeadlineExceededError`. A commit a synchronous standby did not confirm
    fails with :class:`CommitUnconfirmedError`. With ``epoch``, a connection to a new
    lineage (a failover since the caller last looked) fails with
    :class:`LineageChangedError` before anything is written. Any outage drops the
    connection instead of giving it back, so the next one is made afresh. All three
    are :class:`DatabaseUnavailableError`: the outcome is unknown, retry by key.
    A bare connection (a test, a transaction of the caller's) is used as it is.
    """
    if not isinstance(pool, asyncpg.Pool):
        yield pool
        return
    loop = asyncio.get_running_loop()
    ends = loop.time() + seconds  # one deadline: waiting for the connection included
    try:
        acquired = pool.acquire(timeout=seconds)
        conn = await acquired.__aenter__()
    except TimeoutError as exc:
        raise DeadlineExceededError(f"no connection to PostgreSQL within {seconds:g} s") from exc
    fired = False

    def expire() -> None:
        nonlocal fired
        fired = True
        conn.terminate()

    handle = loop.call_at(ends, expire)
    unconfirmed: list[object] = []

    def heard(_con: object, message: object) -> None:
        if _is_unconfirmed_commit(message):
            unconfirmed.append(message)

    try:
        connector = connector_of(pool)
        if epoch is not None and connector is not None and connector.epoch != epoch:
            raise LineageChangedError(f"PostgreSQL is on a new lineage ({connector.lineage})")
        conn.add_log_listener(heard)
        yield conn
        if unconfirmed:  # (notices are handed over before the reply that follows them)
            raise CommitUnconfirmedError(
                "a commit's wait for the synchronous standby was cancelled: it may be lost"
                " on a failover (outcome unknown)"
            )
    except BaseException as exc:
        handle.cancel()
        _forget(conn, heard)
        if fired:
            await acquired.__aexit__(None, None, None)
            raise DeadlineExceededError(f"PostgreSQL did not answer within {seconds:g} s") from exc
        if isinstance(exc, Exception) and _closed(conn):
            # Dropped under the block (every connection is, after an outage elsewhere):
            # whatever asyncpg raised for it, this is the outage, outcome unknown.
            await acquired.__aexit__(None, None, None)
            raise DatabaseUnavailableError(
                f"the connection to PostgreSQL was dropped: {exc}"
            ) from exc
        if isinstance(exc, (*UNAVAILABLE_ERRORS, DatabaseUnavailableError, asyncio.CancelledError)):
            _drop(conn)
        await acquired.__aexit__(type(exc), exc, exc.__traceback__)
        raise
    handle.cancel()
    _forget(conn, heard)
    await acquired.__aexit__(None, None, None)


def _closed(conn: Connection) -> bool:
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:  # released already: the drop gave it back
        return True


def _drop(conn: Connection) -> None:
    """Close at once (no goodbye to a server that may be hung); already gone is fine."""
    with contextlib.suppress(asyncpg.InterfaceError):
        conn.terminate()


def _forget(conn: Connection, listener: Any) -> None:
    with contextlib.suppress(asyncpg.InterfaceError):
        conn.remove_log_listener(listener)
