"""The one event path: outbox rows, sequenced in commit order, read by every web node.

Writers insert outbox rows in the same transaction as their change; ids come from an
identity and are *not* commit order (a transaction that took id 10 may commit after
one that took id 11). The sequencer therefore only numbers rows whose transactions
have all ended — ``txid`` below the oldest transaction still running (the current
snapshot's ``xmin``) — in id order, under a transaction-level advisory lock so one
process at a time does it. The numbers go into the narrow ``feed`` table (seq, outbox
id); ``feed_horizon`` remembers the ``xmin`` of the last step, so a step reads only
the rows of the transactions that ended since (an index range on ``txid``), and no
outbox row is ever rewritten. Each batch of numbers commits before the next is handed
out, so a reader asking for ``seq > n`` always sees a gap-free prefix, and no event
that commits late is ever skipped.

:class:`OutboxRelay` runs in every process that serves the feed: it sequences when
it can (any node may; the lock makes it safe), then reads new events in seq order
and hands them to a callback. It is woken by LISTEN/NOTIFY (``stockd_outbox`` on
insert, ``stockd_feed`` after sequencing) but polls the table as the truth.

**A lost history.** After a failover to an asynchronous standby that had not received
the last events, the new primary's feed ends earlier and numbers its new events with
the seq values the lost ones had. After every outage (and whenever the pool finds the
database on a new timeline) the relay compares the events it published last with the
table's; at the first that differs or is missing it resumes from there and calls
``on_fork(common, published)``: every seq above ``common`` it published is void, and
displays are to be sent a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import KW_ONLY
from dataclasses import InitVar
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

from asyncpg import InterfaceError
from asyncpg.pool import PoolConnectionProxy

from stock_core.errors import DatabaseUnavailableError
from stock_core.model import FeedEvent
from stock_core.store._boundary import translated
from stock_core.store.connection import Connection
from stock_core.store.connection import Pool
from stock_core.store.failover import connector_of
from stock_core.store.outbox import sql as q

__all__ = [
    "OutboxNotifier",
    "OutboxRelay",
    "Sequenced",
    "assign_sequence",
    "events_after",
    "feed_bounds",
]

log = logging.getLogger(__name__)

_PAGE = 1000
"""Events handed on at a time; the relay yields to the loop between pages."""

_REMEMBERED = 10_000
"""Events whose seq and time the relay keeps, to check the history after an outage."""


@dataclass(frozen=True)
class Sequenced:
    """What one sequencing step numbered: events ``after + 1`` … in order."""

    after: int
    events: list[FeedEvent]


async def assign_sequence(conn: Connection) -> Sequenced | None:
    """Number the ready outbox rows; ``None`` when another node holds the sequencer.

    The numbered events come back with it, so the node that numbered them can publish
    them without reading them again.
    """
    async with conn.transaction():
        lock = await conn.fetchrow(q.LOCK_SEQUENCER)
        assert lock is not None
        if not lock["locked"]:
            return None
        rows = await conn.fetch(q.ASSIGN_FEED_SEQ, lock["xmin"])
        if not rows:
            return Sequenced(0, [])
        rows.sort(key=lambda r: r["seq"])
        await conn.execute(q.NOTIFY_FEED, str(rows[-1]["seq"]))
    events = [FeedEvent(r["seq"], r["type"], r["ts"], json.loads(r["payload"])) for r in rows]
    return Sequenced(int(rows[0]["top"]), events)


async def events_after(conn: Connection, seq: int, limit: int = 1000) -> list[FeedEvent]:
    rows = await conn.fetch(q.FEED_AFTER, seq, limit)
    return [FeedEvent(r["seq"], r["type"], r["ts"], json.loads(r["payload"])) for r in rows]


async def feed_bounds(conn: Connection) -> tuple[int, int]:
    """(oldest retained seq, newest seq)."""
    head = await conn.fetchval(q.FEED_HEAD)
    tail = await conn.fetchval(q.FEED_TAIL)
    return int(tail), int(head)


@dataclass(eq=False)
class OutboxRelay:
    """Reads sequenced events in order and passes each to ``publish`` exactly once."""

    pool: Pool
    publish: Callable[[FeedEvent], None]
    _: KW_ONLY
    poll_interval: float = 0.25
    start_after: InitVar[int | None] = None
    on_fork: Callable[[int, int], None] | None = None
    last_seq: int | None = field(init=False)
    forks: int = field(default=0, init=False)
    """Lost histories found (a failover that lost published events)."""
    _published: deque[tuple[int, datetime, str]] = field(
        default_factory=lambda: deque(maxlen=_REMEMBERED), init=False, repr=False
    )
    _check_history: bool = field(default=False, init=False, repr=False)
    """Compare :attr:`_published` with the table at the next step (after an outage)."""
    _epoch: int = field(init=False, repr=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _listener: PoolConnectionProxy[Any] | None = field(default=None, init=False, repr=False)
    healthy: bool = field(default=False, init=False)

    def __post_init__(self, start_after: int | None) -> None:
        self.last_seq = start_after
        self._epoch = self._pool_epoch()

    def _notified(self, _conn: Connection, _pid: int, channel: str, payload: object) -> None:
        text, last = str(payload), self.last_seq
        own = channel == "stockd_feed" and last is not None and text.isdigit()
        if own and int(text) <= (last or 0):
            return  # what this relay numbered and published itself
        self._wake.set()

    async def _listen(self) -> None:
        if self._listener is not None:
            if not _closed(self._listener):
                return
            # The server closed the session (a restart, a failover): check the history.
            self._check_history = True
            await self._unlisten()
        conn = await self.pool.acquire()
        try:
            await conn.add_listener("stockd_outbox", self._notified)
            await conn.add_listener("stockd_feed", self._notified)
        except BaseException:
            await self._release(conn)
            raise
        self._listener = conn

    async def _release(self, conn: PoolConnectionProxy[Any]) -> None:
        """Give a listening connection back, listeners removed (asyncpg warns otherwise)."""
        for channel in ("stockd_outbox", "stockd_feed"):
            with contextlib.suppress(Exception):
                await conn.remove_listener(channel, self._notified)
        with contextlib.suppress(Exception):
            await self.pool.release(conn)

    async def _unlisten(self) -> None:
        conn, self._listener = self._listener, None
        if conn is not None:
            await self._release(conn)

    async def step(self) -> int:
        """Sequence and deliver what is ready; returns how many events were published."""
        with translated("feed relay"):
            return await self._step()

    def _pool_epoch(self) -> int:
        connector = connector_of(self.pool)
        return 0 if connector is None else connector.epoch

    def _hand_on(self, event: FeedEvent) -> None:
        self.publish(event)
        self.last_seq = event.seq
        self._published.append((event.seq, event.ts, event.type))

    async def _verify_history(self, conn: Connection) -> None:
        """Resume at the first published event the table no longer has (see above)."""
        published = self.last_seq
        if not self._published or published is None:
            return
        first = max(self._published[0][0], int(await conn.fetchval(q.FEED_TAIL)))
        rows = await conn.fetch(q.FEED_STAMPS, first, published)
        table = {r["seq"]: (r["seq"], r["ts"], r["type"]) for r in rows}
        common = published
        for stamp in self._published:
            if stamp[0] >= first and table.get(stamp[0]) != stamp:  # (pruned: not judged)
                common = stamp[0] - 1
                break
        if common == published:
            return
        while self._published and self._published[-1][0] > common:
            self._published.pop()
        self.last_seq = common
        self.forks += 1
        log.warning(
            "the feed's history changed: events %d to %d are not in PostgreSQL's outbox "
            "(a failover lost them); the feed resumes after %d and displays get a snapshot",
            common + 1,
            published,
            common,
        )
        if self.on_fork is not None:
            self.on_fork(common, published)

    async def _step(self) -> int:
        async with self.pool.acquire() as conn:
            epoch = self._pool_epoch()
            if self._check_history or epoch != self._epoch:
                await self._verify_history(conn)
                self._check_history, self._epoch = False, epoch
            numbered = await assign_sequence(conn)
            if self.last_seq is None:
                self.last_seq = (await feed_bounds(conn))[1]
            published = 0
            if numbered is not None and numbered.events and numbered.after == self.last_seq:
                # Numbered just now, right after what was published, under the lock:
                # nothing else can sit between. No need to read them back. Handed on a
                # page at a time, as a read would, so displays drain between pages.
                events = numbered.events
                for start in range(0, len(events), _PAGE):
                    if start:
                        await asyncio.sleep(0)
                    for event in events[start : start + _PAGE]:
                        self._hand_on(event)
                return len(events)
            while True:
                events = await events_after(conn, self.last_seq, _PAGE)
                for event in events:
                    self._hand_on(event)
                published += len(events)
                if len(events) < _PAGE:
                    return published

    async def run(self) -> None:
        while True:
            try:
                with translated("feed relay"):
                    await self._listen()
                    self._wake.clear()
                    await self.step()
                self.healthy = True
            except DatabaseUnavailableError as exc:
                if self.healthy:
                    log.warning("feed relay lost PostgreSQL: %s", exc)
                self.healthy = False
                self._check_history = True
                await self._unlisten()
                await asyncio.sleep(1.0)
                continue
            except Exception:
                # e.g. asyncpg's InterfaceError on a connection a server restart closed
                # mid-query: the relay must outlive anything the database does.
                log.exception("feed relay step failed; retrying")
                self.healthy = False
                self._check_history = True
                await self._unlisten()
                await asyncio.sleep(1.0)
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()

    async def close(self) -> None:
        await self._unlisten()


def _closed(conn: PoolConnectionProxy[Any]) -> bool:
    try:
        return conn.is_closed()
    except InterfaceError:  # closed by the server: the pool took it back already
        return True


class OutboxNotifier:
    """Tells relays that outbox rows committed: one coalesced NOTIFY, after the commit.

    Writers call :meth:`poke` after each commit that wrote events. At most one NOTIFY
    is in flight; pokes meanwhile are folded into one more. A NOTIFY inside every
    writing transaction would serialise all commits on PostgreSQL's notification
    lock; this way a busy gateway sends a few hundred a second at most. Lost
    notifications only cost latency: relays poll the table anyway.
    """

    def __init__(self, pool: Pool, *, min_interval: float = 0.002) -> None:
        self.pool = pool
        self.min_interval = min_interval
        self._pending = False
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    def poke(self) -> None:
        self._pending = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        while self._pending:
            self._pending = False
            try:
                async with asyncio.timeout(2.0):
                    await self.pool.execute(q.NOTIFY_OUTBOX)
                self.sent += 1
            except Exception:  # closing pool, lost server: the relays' polling covers it
                return
            await asyncio.sleep(self.min_interval)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
