"""The one place that knows asyncpg's errors: translate them, retry once what may be retried.

Three translations, by class (as asyncpg's ``exceptions/_base.py`` groups them):

- **Unavailable**: the server cannot be reached, the connection dropped, a timeout,
  an administrator shut it down, or it is read-only (a hot standby, or a former
  primary after a failover). For a writer these are the same outage:
  :class:`~stock_core.errors.DatabaseUnavailableError` (the gateway spools, the API
  answers 503, background tasks retry).
- **Retryable**: a deadlock or a serialization failure. The transaction was rolled
  back; :func:`retrying` runs it once more after a short random pause. Deadlocks do
  happen between concurrent group commits (tests/functional/test_gateway_e2e.py's
  sixteen scanners met one in about one run of four, each gone on the second run);
  none was measured twice in a row, and a second one is raised rather than hidden
  under more attempts.
- **A CHECK constraint**: the database's own guard (stock never negative) caught what
  the rules did not: :class:`~stock_core.errors.ConstraintRejectedError`.

Nothing else in ``stock_core`` names an asyncpg exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterator
from typing import TypeVar

import asyncpg

from stock_core.errors import CatalogConflictError
from stock_core.errors import ConstraintRejectedError
from stock_core.errors import DatabaseUnavailableError
from stock_core.errors import InvalidCatalogEntryError
from stock_core.store.connection import Connection
from stock_core.store.connection import Pool

__all__ = [
    "MAX_ATTEMPTS",
    "RETRYABLE_ERRORS",
    "UNAVAILABLE_ERRORS",
    "catalog_refusals",
    "checked",
    "is_unavailable",
    "retrying",
    "translated",
    "with_retries",
]

_T = TypeVar("_T")

MAX_ATTEMPTS = 2
"""Runs of one transaction before a deadlock or serialization failure is given up:
the first and one retry."""

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
reached (``OperatorInterventionError`` covers an admin shutdown), or it is read-only,
which for a writer is the same outage."""

RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)
"""The transaction was rolled back and may simply be run again."""

_OUTAGE: tuple[type[BaseException], ...] = (DatabaseUnavailableError, *UNAVAILABLE_ERRORS)

_CLOSED = "connection is closed"
"""What asyncpg's ``InterfaceError`` says of a connection closed under its caller."""


@contextlib.contextmanager
def translated(what: str = "PostgreSQL unavailable") -> Iterator[None]:
    """Losing PostgreSQL inside the block becomes :class:`DatabaseUnavailableError`."""
    try:
        yield
    except UNAVAILABLE_ERRORS as exc:
        raise DatabaseUnavailableError(f"{what}: {_said(exc)}") from exc
    except asyncpg.InterfaceError as exc:
        # A connection dropped under the block (a statement past its deadline, a server
        # that closed the session): asyncpg says "connection is closed".
        if not (is_unavailable(exc) or _CLOSED in str(exc)):
            raise
        raise DatabaseUnavailableError(f"{what}: {_said(exc)}") from exc


def _said(exc: BaseException) -> str:
    """What went wrong, in words (asyncpg's statement timeout says nothing)."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, TimeoutError):  # asyncpg's statement timeout says nothing
            said = str(current)
            return said or "no answer within the statement deadline (database.statement_timeout_s)"
        current = current.__context__
    return str(exc) or type(exc).__name__


@contextlib.contextmanager
def checked() -> Iterator[None]:
    """A CHECK constraint broken inside the block becomes :class:`ConstraintRejectedError`."""
    try:
        yield
    except asyncpg.CheckViolationError as exc:
        raise ConstraintRejectedError(exc.constraint_name or "a check constraint") from exc


@contextlib.contextmanager
def catalog_refusals(entry: str) -> Iterator[None]:
    """A catalog write (``entry``, e.g. "product X") the database refuses, as a rejection.

    A unique violation (a race for a SKU or barcode) is a :class:`CatalogConflictError`;
    a value a CHECK or a column type refuses (a numeric overflow) an
    :class:`InvalidCatalogEntryError` naming the column or constraint.
    """
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        raise CatalogConflictError(f"{entry} conflicts: {exc.detail}") from exc
    except (asyncpg.CheckViolationError, asyncpg.DataError) as exc:
        column = getattr(exc, "column_name", None) or getattr(exc, "constraint_name", None)
        raise InvalidCatalogEntryError(column or "body", str(exc)) from exc


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means "PostgreSQL cannot take writes now", directly or as its cause.

    That is: unreachable, timed out, or read-only. Losing the connection inside a
    transaction surfaces from asyncpg as an ``InterfaceError`` ("the underlying
    connection is closed") raised by the transaction's exit while handling the real
    ``ConnectionDoesNotExistError``; that is an outage too, so the chain of causes and
    contexts is followed.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, _OUTAGE):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


async def retrying(attempt: Callable[[], Awaitable[_T]], attempts: int = MAX_ATTEMPTS) -> _T:
    """Run ``attempt`` (one transaction) until it is not a deadlock or serialization failure.

    Losing PostgreSQL becomes :class:`DatabaseUnavailableError`; the last retryable
    failure is raised as it is.
    """
    for n in range(attempts):
        try:
            with translated():
                return await attempt()
        except RETRYABLE_ERRORS:
            if n == attempts - 1:
                raise
            await asyncio.sleep(random.uniform(0, 0.005 * 2**n))
    raise AssertionError("unreachable")  # pragma: no cover


async def with_retries(
    pool: Pool, work: Callable[[Connection], Awaitable[_T]], attempts: int = MAX_ATTEMPTS
) -> _T:
    """Run ``work`` on a pooled connection as :func:`retrying` does.

    ``work`` must be one transaction (it was rolled back when it is retried). A broken
    CHECK constraint becomes :class:`ConstraintRejectedError`.
    """

    async def attempt() -> _T:
        async with pool.acquire() as conn:
            return await work(conn)

    with checked():
        return await retrying(attempt, attempts)
