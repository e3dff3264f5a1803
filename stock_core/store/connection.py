"""Connection types and the asyncpg errors that mean "the database is not there"."""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

__all__ = ["UNAVAILABLE_ERRORS", "Connection", "Pool"]

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
)
"""asyncpg and socket errors that mean "PostgreSQL cannot be reached now"."""
