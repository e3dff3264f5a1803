"""Posting movement commands: stock change, ledger rows and events in one transaction.

``post_batch`` runs many envelopes in one transaction (group commit), each inside its
own savepoint so one refusal does not undo the others; every envelope keeps its own
outcome. A batch that meets a deadlock or serialization failure is retried whole: it
was rolled back, so nothing counts twice. A lost connection becomes
:class:`~stock_core.errors.DatabaseUnavailableError`; the caller may retry with the
same keys, which makes the retry safe even when the commit had in fact landed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import asyncpg

from stock_core.domain.batch import is_plain
from stock_core.domain.count_task import CountPosting
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import MovementOutcome
from stock_core.domain.movement import Outcome
from stock_core.domain.movement import Undo
from stock_core.domain.movement import request_fingerprint
from stock_core.errors import ConstraintRejectedError
from stock_core.errors import IdempotencyConflictError
from stock_core.errors import InvalidMovementError
from stock_core.errors import StockRejection
from stock_core.store._boundary import checked
from stock_core.store._boundary import retrying
from stock_core.store._boundary import with_retries
from stock_core.store.connection import Connection
from stock_core.store.connection import Pool
from stock_core.store.failover import bounded
from stock_core.store.ledger import sql as q
from stock_core.store.ledger.batch import LocationCache
from stock_core.store.ledger.batch import post_plain
from stock_core.store.ledger.count import post_count_lines
from stock_core.store.ledger.writer import Writer
from stock_core.types import IdempotencyKey
from stock_core.types import MovementId

__all__ = [
    "LocationCache",
    "post",
    "post_atomic",
    "post_batch",
    "post_count_task_lines",
    "post_in",
]

log = logging.getLogger(__name__)


async def post_count_task_lines(
    conn: Connection, key: IdempotencyKey, actor: str, postings: Sequence[CountPosting]
) -> MovementOutcome:
    """Post confirmed count-task lines as ``count`` movements, in the caller's transaction.

    ``postings`` come sorted by product id (the order products are locked in).
    """
    await conn.execute(q.INSERT_IDEMPOTENCY_KEY, key, "count-task")
    writer = Writer(conn, Envelope(key=key, command=Undo(movement_id=MovementId(0)), actor=actor))
    await post_count_lines(writer, postings)
    return await writer.settle()


async def post_in(conn: Connection, envelope: Envelope) -> MovementOutcome:
    """One envelope inside the caller's transaction; a rejection is raised."""
    with checked():
        async with conn.transaction():
            return await Writer(conn, envelope).apply()


async def _record_rejection(
    conn: Connection, envelope: Envelope, rejection: StockRejection
) -> None:
    if isinstance(rejection, IdempotencyConflictError | InvalidMovementError):
        return  # nothing to remember: a bad request is not a first result
    await conn.execute(
        q.INSERT_REJECTED_KEY,
        envelope.key,
        request_fingerprint(envelope),
        json.dumps(rejection.to_dict()),
    )


async def _apply_in_transaction(
    conn: Connection, envelope: Envelope, locations: dict[str, tuple[int, str]] | None
) -> MovementOutcome:
    """One envelope in its own transaction (or savepoint, inside a batch)."""
    # The database's own guard (never negative) may catch what the rules did not.
    with checked():
        async with conn.transaction():
            return await Writer(conn, envelope, locations).apply()


def _runs(envelopes: Sequence[Envelope]) -> list[tuple[bool, list[Envelope]]]:
    """Consecutive envelopes grouped by whether they are plain, in order."""
    runs: list[tuple[bool, list[Envelope]]] = []
    for envelope in envelopes:
        plain = is_plain(envelope)
        if runs and runs[-1][0] == plain:
            runs[-1][1].append(envelope)
        else:
            runs.append((plain, [envelope]))
    return runs


async def _post_once(
    conn: Connection,
    envelopes: Sequence[Envelope],
    locations: LocationCache,
    *,
    set_based: bool = True,
) -> list[Outcome]:
    if len(envelopes) == 1 and not (set_based and is_plain(envelopes[0])):
        envelope = envelopes[0]
        try:
            return [await _apply_in_transaction(conn, envelope, locations)]
        except StockRejection as rejection:
            await _record_rejection(conn, envelope, rejection)
            return [rejection]
    outcomes: list[Outcome] = []
    async with conn.transaction():
        for plain, run in _runs(envelopes):
            if plain and set_based:
                outcomes.extend(await post_plain(conn, run, locations))
                continue
            for envelope in run:
                try:
                    outcomes.append(await _apply_in_transaction(conn, envelope, locations))
                except StockRejection as rejection:
                    await _record_rejection(conn, envelope, rejection)
                    outcomes.append(rejection)
    return outcomes


async def post_batch(
    pool: Pool | Connection,
    envelopes: Sequence[Envelope],
    locations: LocationCache | None = None,
    *,
    deadline: float | None = None,
    epoch: int | None = None,
) -> list[Outcome]:
    """Post envelopes in one transaction; one outcome per envelope, in order.

    Rejections come back as :class:`StockRejection` values (not raised). Raises
    :class:`DatabaseUnavailableError` when PostgreSQL cannot be reached; retrying the
    same envelopes later is safe.

    With ``deadline`` (seconds) each attempt, connecting included, is bounded by
    :func:`~stock_core.store.failover.bounded`: past it the connection is dropped and
    :class:`~stock_core.errors.DeadlineExceededError` raised, never a wait on a hung
    server; a commit the synchronous standby did not confirm is
    :class:`~stock_core.errors.CommitUnconfirmedError`; with ``epoch`` a failover
    since the caller last looked is :class:`~stock_core.errors.LineageChangedError`.
    """
    if not envelopes:
        return []
    if len({e.key for e in envelopes}) != len(envelopes):
        raise InvalidMovementError("a batch cannot carry the same idempotency key twice")
    cache = locations if locations is not None else {}

    async def attempt(set_based: bool) -> list[Outcome]:
        if not isinstance(pool, asyncpg.Pool):
            return await _post_once(pool, envelopes, cache, set_based=set_based)
        if deadline is not None:
            async with bounded(pool, deadline, epoch=epoch) as conn:
                return await _post_once(conn, envelopes, cache, set_based=set_based)
        async with pool.acquire() as conn:
            return await _post_once(conn, envelopes, cache, set_based=set_based)

    try:
        with checked():
            return await retrying(lambda: attempt(True))
    except ConstraintRejectedError:
        # The plan broke a guard the database keeps (a bug, never a stock rule):
        # nothing was written; post these envelopes one by one instead.
        log.exception("set-based batch refused by a constraint; posting one by one")
    with checked():
        return await retrying(lambda: attempt(False))


async def post(
    pool: Pool | Connection, envelope: Envelope, locations: LocationCache | None = None
) -> MovementOutcome:
    """Post one envelope; a rejection is raised."""
    (outcome,) = await post_batch(pool, [envelope], locations)
    if isinstance(outcome, StockRejection):
        raise outcome
    return outcome


async def post_atomic(
    pool: Pool, envelopes: Sequence[Envelope], locations: LocationCache | None = None
) -> list[MovementOutcome]:
    """All envelopes in one transaction, or none: the first rejection is raised."""
    if not envelopes:
        return []

    async def work(conn: Connection) -> list[MovementOutcome]:
        async with conn.transaction():
            return [await Writer(conn, envelope, locations).apply() for envelope in envelopes]

    return await with_retries(pool, work)
