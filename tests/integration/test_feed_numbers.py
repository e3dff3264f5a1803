"""The feed's numbers in their own table (migration 0019): a database whose outbox
rows carried their seq is carried over whole, and numbering goes on gap-free."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from stock_core.model import FeedEvent
from stock_core.store.migrate import available_migrations
from stock_core.store.migrate import migrate
from stock_core.store.outbox import assign_sequence
from stock_core.store.outbox import events_after
from stock_core.store.outbox import feed_bounds
from stock_core.store.verify import verify
from tests.pg import PgCluster
from tests.pg import fresh_database

pytestmark = pytest.mark.asyncio

_FEED_NUMBERS = 19

_OLD_RELAY_STEP = """
WITH ready AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM outbox
    WHERE seq IS NULL AND id <= 3
      AND txid::text::bigint < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
)
UPDATE outbox o SET seq = ready.n FROM ready WHERE o.id = ready.id
"""


async def _migrated_before_feed_numbers(conn: asyncpg.Connection) -> None:
    async with conn.transaction():
        await conn.execute(
            "CREATE TABLE stockd_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for migration in available_migrations():
            if migration.version >= _FEED_NUMBERS:
                break
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO stockd_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )


async def _event(conn: asyncpg.Connection, n: int) -> None:
    await conn.execute(
        "INSERT INTO outbox (type, payload) VALUES ('stock.changed', $1::jsonb)", f'{{"n": {n}}}'
    )


async def _numbered_until(conn: asyncpg.Connection, head: int) -> list[FeedEvent]:
    """Sequence until the feed reaches ``head``; the events numbered on the way. (On a
    shared server, transactions in other databases hold the horizon back a while: their
    ids count too.)"""
    found: list[FeedEvent] = []
    async with asyncio.timeout(30):
        while (await feed_bounds(conn))[1] < head:
            step = await assign_sequence(conn)
            if step is not None and step.events:
                found += step.events
            else:
                await asyncio.sleep(0.05)
    return found


async def test_numbered_events_keep_their_seq_and_the_rest_are_numbered_once(
    pg_cluster: PgCluster,
) -> None:
    name = "stockd_feed_numbers_migration"
    await fresh_database(pg_cluster.admin_url, name)
    conn = await asyncpg.connect(pg_cluster.url_for(name))
    try:
        await _migrated_before_feed_numbers(conn)
        for n in range(1, 6):
            await _event(conn, n)
        # the old relay (its statement, up to the first three events) had numbered what
        # it could: only rows whose transactions had all ended, below the snapshot's xmin
        # (on a busy shared server that may be none of them yet)
        await conn.execute(_OLD_RELAY_STEP)

        assert [m.version for m in await migrate(conn)] == [
            m.version for m in available_migrations() if m.version >= _FEED_NUMBERS
        ]

        await _numbered_until(conn, 5)  # the migration numbered what had ended by then
        assert await feed_bounds(conn) == (1, 5)
        events = await events_after(conn, 0)
        assert [(e.seq, e.payload["n"]) for e in events] == [(i, i) for i in range(1, 6)]
        # new events after the migration: numbered next, each once, in order
        for n in range(6, 9):
            await _event(conn, n)
        numbered = await _numbered_until(conn, 8)
        assert [(e.seq, e.payload["n"]) for e in numbered] == [(6, 6), (7, 7), (8, 8)]
        again = await assign_sequence(conn)
        assert again is not None
        assert again.events == []
        assert await feed_bounds(conn) == (1, 8)
    finally:
        await conn.close()
        await pg_cluster.drop_database(name)


async def test_an_event_of_a_transaction_still_open_is_numbered_after_it_commits(
    pg_cluster: PgCluster, database_name: str
) -> None:
    """Ids are not commit order: while a transaction that began earlier is open, the
    events committed after it wait for it (the feed is in commit order of the oldest
    open transaction), then all are numbered: none is skipped by the horizon."""
    url = pg_cluster.url_for(database_name)
    slow, relay = await asyncpg.connect(url), await asyncpg.connect(url)
    try:
        await relay.execute("SELECT 1")
        tx = slow.transaction()
        await tx.start()
        await _event(slow, 1)  # the lower id, still open
        await _event(relay, 2)  # a higher id, committed
        step = await assign_sequence(relay)
        assert step is not None
        assert step.events == []
        await tx.commit()
        numbered = await _numbered_until(relay, 2)
        assert [(e.seq, e.payload["n"]) for e in numbered] == [(1, 1), (2, 2)]
        # a rolled-back event is never numbered, and leaves no gap
        tx = slow.transaction()
        await tx.start()
        await _event(slow, 3)
        await tx.rollback()
        await _event(relay, 4)
        numbered = await _numbered_until(relay, 3)
        assert [(e.seq, e.payload["n"]) for e in numbered] == [(3, 4)]
    finally:
        await slow.close()
        await relay.close()


async def test_verify_finds_a_gap_and_an_event_never_numbered(
    pg_cluster: PgCluster, database_name: str
) -> None:
    conn = await asyncpg.connect(pg_cluster.url_for(database_name))
    try:
        for n in range(1, 5):
            await _event(conn, n)
        await _numbered_until(conn, 4)
        assert (await verify(conn)).ok
        await conn.execute("DELETE FROM feed WHERE seq = 2")  # a gap, and an event left out
        await conn.execute("UPDATE feed SET seq = 9 WHERE seq = 3")
        report = await verify(conn)
        assert not report.ok
        text = report.render()
        assert "the feed holds 3 numbers from 1 to 9: 6 missing" in text
        assert "(stock.changed) of a finished transaction has no feed number" in text
    finally:
        await conn.close()


async def test_after_a_restore_into_another_cluster_every_event_is_numbered_once(
    pg_cluster: PgCluster, database_name: str
) -> None:
    """pg_dump and restore into a new cluster: its transaction ids start below the ones
    stored (here: the horizon is made to belong to another cluster and to lie far ahead
    of this one's ids). Events written since are numbered, none twice."""
    conn = await asyncpg.connect(pg_cluster.url_for(database_name))
    try:
        for n in range(1, 4):
            await _event(conn, n)
        await _numbered_until(conn, 3)
        await conn.execute(
            "UPDATE feed_horizon SET system_id = system_id + 1,"
            " txid = (pg_current_xact_id()::text::bigint + 1000000000)::text::xid8"
        )
        for n in range(4, 6):
            await _event(conn, n)
        numbered = await _numbered_until(conn, 5)
        assert [(e.seq, e.payload["n"]) for e in numbered] == [(4, 4), (5, 5)]
        assert await conn.fetchval(
            "SELECT system_id = (SELECT system_identifier FROM pg_control_system()) AND"
            " txid < (pg_current_xact_id()::text::bigint + 1000)::text::xid8 FROM feed_horizon"
        )
        await _event(conn, 6)
        assert [(e.seq, e.payload["n"]) for e in await _numbered_until(conn, 6)] == [(6, 6)]
        assert (await verify(conn)).ok
        # and a second number for an event is refused by the database itself
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute("INSERT INTO feed (seq, outbox_id) SELECT 99, outbox_id FROM feed")
    finally:
        await conn.close()
