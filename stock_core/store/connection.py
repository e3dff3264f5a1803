"""Connection types and the asyncpg errors that mean "the database cannot take writes now"."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from stock_core.errors import DatabaseUnavailableError

__all__ = ["UNAVAILABLE_ERRORS", "Connection", "Pool", "with_retries"]

_T = TypeVar("_T")

Connection: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"
Pool: TypeAlias = "asyncpg.Pool[Any]"

UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
)
"""asyncpg and socket errors that mean "PostgreSQL cannot take writes now": it cannot be
reached, or it is read-only (a hot standby, or a former primary after a failover), which
for a writer is the same outage: the gateway spools, the API answers 503, background
tasks retry."""


async def with_retries(
    pool: Pool, work: Callable[[Connection], Awaitable[_T]], attempts: int = 8
) -> _T:
    """Run ``work`` on a pooled connection; retry deadlocks and serialization failures.

    ``work`` must be one transaction (it was rolled back when it is retried). Losing
    PostgreSQL becomes :class:`~stock_core.errors.DatabaseUnavailableError`.
    """
    for attempt in range(attempts):
        try:
            async with pool.acquire() as conn:
                return await work(conn)
        except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))
        except UNAVAILABLE_ERRORS as exc:
            raise DatabaseUnavailableError(f"PostgreSQL unavailable: {exc}") from exc
    raise AssertionError("unreachable")  # pragma: no cover
