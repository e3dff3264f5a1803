"""From envelopes to outcomes: group commit, and the spool when PostgreSQL is away.

:class:`Committer` takes envelopes from every scanner. With group commit on, whatever
is queued is posted as one transaction (:class:`~stock_core.group_commit.GroupCommit`;
the store plans plain scans set-wise, each with its own outcome); with it off, each
envelope is its own transaction (as many at once as the pool has connections). When
the database cannot be reached, or does not answer within ``commit_timeout``, the
envelopes are appended to the spool and fsynced, and the scanner is told they were
taken (:data:`SPOOLED`). While anything is spooled, new envelopes are spooled behind it, so
each scanner's scans reach the ledger in the order they were made. The replay task
drains the spool in order; a scan refused on replay becomes a spool exception.

A timed-out commit may in fact have landed. Replaying it is harmless: its idempotency
key returns the first outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from scanner_gateway.spool import Spool
from stock_core.domain.movement import Envelope, Outcome
from stock_core.errors import DatabaseUnavailableError, StockRejection
from stock_core.group_commit import GroupCommit
from stock_core.service import StockService
from stock_core.store.connection import UNAVAILABLE_ERRORS

__all__ = ["SPOOLED", "Committer", "Spooled", "is_unavailable"]

log = logging.getLogger(__name__)


class Spooled:
    """The envelope is durably in the spool; it reaches the ledger on replay."""

    def __repr__(self) -> str:
        return "SPOOLED"


SPOOLED: Final = Spooled()

_REPLAY_BATCH = 256
_PROBE_INTERVAL = 0.5
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    DatabaseUnavailableError,
    TimeoutError,
    *UNAVAILABLE_ERRORS,
)


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means "PostgreSQL went away", directly or as its cause.

    Losing the connection inside a transaction surfaces from asyncpg as an
    ``InterfaceError`` ("the underlying connection is closed") raised by the
    transaction's exit while handling the real ``ConnectionDoesNotExistError``; that
    is an outage too, and the scan it hit must be spooled, not refused: its commit
    may have landed, and a nak would make the worker scan it again.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, _UNAVAILABLE):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


class Committer:
    def __init__(
        self,
        service: StockService,
        spool: Spool,
        *,
        group_commit: bool = True,
        batch_max: int = 256,
        commit_timeout: float = 3.0,
        workers: int = 2,
    ) -> None:
        self.service = service
        self.spool = spool
        self.group_commit = group_commit
        self.batch_max = batch_max
        self.commit_timeout = commit_timeout
        # Off, each envelope is its own transaction, as many at once as the pool has
        # connections: a scan waits for a connection in this queue, never inside its
        # commit timeout (where waiting would look like an outage and spool it).
        self._group: GroupCommit[Outcome | Spooled] = (
            GroupCommit(self._post, batch_max=batch_max, concurrency=workers)
            if group_commit
            else GroupCommit(self._post, batch_max=1, concurrency=service.pool.get_max_size())
        )
        self._replay_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.online = True
        self.replayed = 0
        self.spooled = 0
        self.exceptions = 0
        self.batches = 0

    async def start(self) -> None:
        if self.spool.pending:
            self.online = False
            log.warning("spool holds %d scan(s) from before: replaying", self.spool.pending)
        self._tasks = [asyncio.create_task(self._replay_forever(), name="spool-replay")]
        self._replay_wake.set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._group.close()

    async def submit(self, envelope: Envelope) -> Outcome | Spooled:
        """The envelope's outcome, or :data:`SPOOLED` once it is durably spooled."""
        return await self._group.submit(envelope)

    async def wait_drained(self) -> None:
        """Wait until the spool is empty (bound it with ``asyncio.timeout``)."""
        while self.spool.pending:
            self._replay_wake.set()
            await asyncio.sleep(0.05)

    async def _post(self, envelopes: list[Envelope]) -> list[Outcome | Spooled]:
        if self.online and not self.spool.pending:
            try:
                async with asyncio.timeout(self.commit_timeout):
                    result: list[Outcome | Spooled] = list(await self.service.post_batch(envelopes))
                self.batches += 1
                return result
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                if self.online:
                    log.warning("PostgreSQL unavailable (%s): spooling scans", exc)
                self.online = False
        await self.spool.append(envelopes)
        self.spooled += len(envelopes)
        self._replay_wake.set()
        return [SPOOLED] * len(envelopes)

    async def _replay_forever(self) -> None:
        while True:
            if not self.spool.pending:
                self._replay_wake.clear()
                await self._replay_wake.wait()
                continue
            try:
                replayed = await self._replay_some()
            except Exception:  # never let the spool stop draining for good
                log.exception("spool replay failed; retrying")
                replayed = False
            if not replayed:
                await asyncio.sleep(_PROBE_INTERVAL)

    async def _replay_some(self) -> bool:
        """Replay the oldest spooled scans; ``False`` while the database is still away."""
        records = self.spool.head(_REPLAY_BATCH)
        try:
            async with asyncio.timeout(self.commit_timeout * 2):
                outcomes = await self.service.post_batch([r.envelope for r in records])
                failures = [
                    (r.envelope, o, r.spooled_at)
                    for r, o in zip(records, outcomes, strict=True)
                    if isinstance(o, StockRejection)
                ]
                await self.service.record_spool_exceptions(failures)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            return False
        await self.spool.remove_head(len(records))
        self.replayed += len(records)
        self.exceptions += len(failures)
        for envelope, rejection, _ in failures:
            log.warning(
                "spooled scan %s refused on replay: %s (kept as a spool exception)",
                envelope.key,
                rejection.reason,
            )
        if not self.spool.pending:
            self.online = True
            log.info("spool drained: %d scan(s) replayed", self.replayed)
        return True
