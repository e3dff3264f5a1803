"""What every group of use cases shares: the pool, a guarded connection, and waking
the feed relays after a commit."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Coroutine
from typing import Any
from typing import Concatenate
from typing import Generic
from typing import ParamSpec
from typing import Self
from typing import TypeVar
from typing import overload

from stock_core.domain.movement import Outcome
from stock_core.errors import StockRejection
from stock_core.group_commit import GroupCommit
from stock_core.store import failover
from stock_core.store import ledger
from stock_core.store import outbox
from stock_core.store._boundary import translated
from stock_core.store.connection import Connection
from stock_core.store.connection import Pool
from stock_core.types import ReasonCode

__all__ = ["ServiceBase", "on_connection", "pokes", "required"]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_S = TypeVar("_S", bound="ServiceBase")


def pokes(
    method: Callable[Concatenate[_S, _P], Coroutine[Any, Any, _R]],
) -> Callable[Concatenate[_S, _P], Coroutine[Any, Any, _R]]:
    """Mark a use case that commits events: wake the feed relays afterwards."""

    @functools.wraps(method)
    async def wrapper(service: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return await method(service, *args, **kwargs)
        finally:
            service._poke()

    return wrapper


class ServiceBase:
    """The state the use cases share (set up by :class:`~stock_core.service.StockService`)."""

    pool: Pool
    reasons: tuple[ReasonCode, ...]
    """The return and scrap reasons :meth:`post` accepts (``[stock] reasons``)."""
    replicas: failover.ReplicaRouter | None
    """Where reports, exports and backtests read (a replica within its lag bound);
    ``None``: the primary. Stock figures that decide anything never come from it."""
    notifier: outbox.OutboxNotifier | None
    write_deadline: float | None
    """Seconds a :meth:`post` may take (connecting included) before its connection is
    dropped and it fails as unavailable (``None``: no bound). The web app sets one, so a
    hung primary cannot hold the API's group commit for a minute."""
    _locations: ledger.LocationCache
    _group: GroupCommit[Outcome]

    def _poke(self) -> None:
        """Events were committed: wake the feed relays (coalesced NOTIFY)."""
        if self.notifier is not None:
            self.notifier.poke()

    @contextlib.asynccontextmanager
    async def _connection(self, deadline: float | None = None) -> AsyncIterator[Connection]:
        """A pooled connection; losing PostgreSQL becomes DatabaseUnavailableError.

        With ``deadline`` (seconds, connecting included) the connection is dropped when
        it passes (:func:`~stock_core.store.failover.bounded`): never a wait on a hung
        server."""
        with translated():
            if deadline is not None:
                async with failover.bounded(self.pool, deadline) as conn:
                    yield conn
                return
            async with self.pool.acquire() as conn:
                yield conn

    async def _report_pool(self) -> Pool:
        return self.pool if self.replicas is None else await self.replicas.pool()

    @contextlib.asynccontextmanager
    async def _report_connection(self) -> AsyncIterator[Connection]:
        """A connection for a report or an export: the replica's while it keeps up."""
        pool = await self._report_pool()
        with translated():
            async with pool.acquire() as conn:
                yield conn


async def required(
    conn: Connection,
    lookup: Callable[[Connection, str], Awaitable[_R | None]],
    key: str,
    unknown: Callable[[str], StockRejection],
) -> _R:
    """What ``lookup`` finds by ``key`` (a SKU, a location code); ``unknown(key)`` is
    raised when it finds nothing."""
    found = await lookup(conn, key)
    if found is None:
        raise unknown(key)
    return found


def on_connection(
    work: Callable[Concatenate[Connection, _P], Awaitable[_R]], *, poke: bool = False
) -> _OnConnection[_P, _R]:
    """A use case that is one store function, run on a pooled connection.

    ``list_webhooks = on_connection(webhooks.list_webhooks)`` gives the service a method
    taking the store function's arguments after ``conn``: the connection comes from the
    pool and losing PostgreSQL becomes ``DatabaseUnavailableError``, as in every use
    case. Its documentation is the store function's. With ``poke`` it commits events:
    the feed relays are woken afterwards (as :func:`pokes` does).
    """
    return _OnConnection(work, poke)


class _OnConnection(Generic[_P, _R]):
    def __init__(
        self, work: Callable[Concatenate[Connection, _P], Awaitable[_R]], poke: bool
    ) -> None:
        self.work = work
        self.poke = poke
        self.__doc__ = work.__doc__

    @overload
    def __get__(self, service: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(
        self, service: ServiceBase, owner: type | None = None
    ) -> Callable[_P, Coroutine[Any, Any, _R]]: ...

    def __get__(
        self, service: ServiceBase | None, owner: type | None = None
    ) -> Self | Callable[_P, Coroutine[Any, Any, _R]]:
        if service is None:
            return self
        work, poke = self.work, self.poke

        async def use_case(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                async with service._connection() as conn:
                    return await work(conn, *args, **kwargs)
            finally:
                if poke:
                    service._poke()

        use_case.__doc__ = work.__doc__
        return use_case
