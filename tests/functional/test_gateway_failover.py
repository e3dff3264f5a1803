"""A sick primary is an outage like any other: no scanner ever waits on it.

The gateway's pool reaches PostgreSQL through :class:`~tests.faultproxy.FaultProxy`
(or a multi-host URL); the test's own pool goes direct. Faults: a server that hangs
(connections accepted, nothing answered: a frozen process, a partition), a server
that turns read-only (a fenced or demoted primary), a host of a multi-host URL that
hangs, a server behind the timeline the gateway wrote on (an old primary come back),
and a commit whose wait for a synchronous standby is cancelled. The Patroni drills in
``tests/ha`` do the same to a real cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import asyncpg
import pytest

from hardware_mocks.frames import HONEYWELL
from scanner_gateway.gateway import Gateway
from stock_core.domain.lineage import Lineage
from stock_core.domain.lineage import lineage_from_text
from stock_core.domain.lineage import lineage_to_text
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.errors import DatabaseUnavailableError
from stock_core.errors import NoPrimaryError
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.store.database import Database
from stock_core.store.database import open_database
from stock_core.store.failover import ConnectOptions
from stock_core.store.failover import Connector
from stock_core.store.failover import bounded
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from tests.cluster import PrivateCluster
from tests.faultproxy import FaultProxy
from tests.gateway_harness import Outage
from tests.gateway_harness import Rig
from tests.gateway_harness import eventually
from tests.gateway_harness import invariants_hold
from tests.gateway_harness import ledger_rows
from tests.gateway_harness import open_rig
from tests.gateway_harness import serving
from tests.integration.catalog_fixture import load_sample_catalog
from tests.timing import UNIT

WIDGET = "05012345678900"
REPLY_BOUND = 2.0
"""Seconds: every scan is answered within this, whatever the database does."""


@dataclass
class _Worker:
    rig: Rig
    answers: list[tuple[str, str | None, float]] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            lot = f"{self.rig.id}-{n:04d}"
            started = time.monotonic()
            answer = await self.rig.scan(f"01{WIDGET}10{lot}", aim="]C1")
            self.answers.append((lot, answer, time.monotonic() - started))
            n += 1
            await asyncio.sleep(0.05)


Fault = AsyncIterator[None]
"""A fault as an async generator: it starts at its first step and ends at its second."""


async def _run_through_fault(gateway: Gateway, rigs: list[Rig], fault: Fault) -> list[_Worker]:
    """Scanners scan before, during and after ``fault`` (an async generator: the fault
    starts at its first step and ends at its second); then the spool drains."""
    workers = [_Worker(r) for r in rigs]
    stop = asyncio.Event()
    await eventually(
        lambda: all(s.state == "connected" for s in gateway.statuses()),
        5 * UNIT,
        "all scanners connected",
    )
    running = [asyncio.create_task(w.run(stop)) for w in workers]
    try:
        await asyncio.sleep(1.0 * UNIT)
        await anext(fault)
        with contextlib.suppress(StopAsyncIteration):
            await anext(fault)
        await asyncio.sleep(1.5 * UNIT)
    finally:
        stop.set()
        await asyncio.gather(*running)
    async with asyncio.timeout(20 * UNIT):
        await gateway.committer.wait_drained()
    return workers


async def _every_scan_answered_through(
    service: StockService, outage: Outage, directory: Path, rig_ids: list[str], fault: Fault
) -> None:
    """Pty scanners at DOCK-1 scan through ``fault`` (see :func:`_run_through_fault`)
    at a gateway over ``outage``: every scan acknowledged in time, at least ten a
    scanner spooled, each lot in the ledger once."""
    rigs = [await open_rig(i, "pty", HONEYWELL, directory, location="DOCK-1") for i in rig_ids]
    gateway = outage.gateway([r.config for r in rigs], directory / "spool")
    async with serving(gateway, *rigs):
        workers = await _run_through_fault(gateway, rigs, fault)
        spooled = gateway.committer.spooled
    assert spooled >= len(rigs) * 10, spooled
    answers = [a for w in workers for a in w.answers]
    assert Counter(answer for _, answer, _ in answers) == {"ack": len(answers)}
    slow = sorted(t for _, _, t in answers if t > REPLY_BOUND)
    assert not slow, f"{len(slow)} replies over {REPLY_BOUND} s: {slow[-5:]}"
    lots = Counter(r["lot"] for r in await ledger_rows(service.pool))
    assert set(lots) == {lot for lot, _, _ in answers}
    assert max(lots.values()) == 1
    await invariants_hold(service)


async def test_a_hung_database_gets_every_scan_answered_within_two_seconds(
    service: StockService, outage: Outage, tmp_path: Path
) -> None:
    async def hang() -> AsyncIterator[None]:
        await outage.proxy.ahang()  # connections stay open; nothing is answered
        yield
        await asyncio.sleep(6 * UNIT)
        await outage.proxy.aunhang()

    hung = [f"hung{i}" for i in range(6)]
    await _every_scan_answered_through(service, outage, tmp_path, hung, hang())


async def test_a_read_only_primary_is_an_outage_scans_are_spooled_not_refused(
    service: StockService, outage: Outage, admin_database_url: str, tmp_path: Path
) -> None:
    async def read_only(on: bool) -> None:
        # What a fenced or demoted node looks like to its clients; the sessions are
        # ended so the setting reaches them (the test's own pool reconnects too).
        value = "on" if on else "off"
        conn = await asyncpg.connect(admin_database_url)  # the owner: the app role may not
        try:
            name = await conn.fetchval("SELECT current_database()")
            await conn.execute("SET default_transaction_read_only = off")
            await conn.execute(
                f'ALTER DATABASE "{name}" SET default_transaction_read_only = {value}'
            )
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
        finally:
            await conn.close()

    async def fault() -> AsyncIterator[None]:
        await read_only(True)
        yield
        await asyncio.sleep(5 * UNIT)
        await read_only(False)

    read_only_ids = [f"ro{i}" for i in range(4)]
    await _every_scan_answered_through(service, outage, tmp_path, read_only_ids, fault())


async def _silent_server() -> tuple[asyncio.Server, int, list[asyncio.StreamWriter]]:
    """Accepts connections and never says a word: a hung PostgreSQL, as TCP sees it."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1]), held


async def test_each_host_of_a_multi_host_url_gets_its_own_connect_deadline(
    proxy: FaultProxy, database_url: str
) -> None:
    server, silent_port, held = await _silent_server()
    try:
        direct = proxy.url_through(database_url)
        prefix, rest = direct.split("@", 1)
        both = f"{prefix}@127.0.0.1:{silent_port},{rest}"
        # asyncpg's own multi-host connect spends its one timeout on the hung host
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await asyncpg.connect(both, timeout=1.0)
        assert time.monotonic() - started < 2.0
        # the connector gives each host its own
        connector = Connector(both, ConnectOptions(connect_timeout=1.0))
        started = time.monotonic()
        conn = await connector()
        took = time.monotonic() - started
        try:
            assert await conn.fetchval("SELECT 1") == 1
        finally:
            await conn.close()
        assert 1.0 <= took < 1.8, took
        # and tries the host that answered first next time
        started = time.monotonic()
        conn = await connector()
        await conn.close()
        assert time.monotonic() - started < 0.5
        assert len(held) == 2  # asyncpg's try and the connector's first: not its second
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_server_behind_the_timeline_written_on_is_refused_and_a_failover_is_heard(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    probe = await asyncpg.connect(database_url)
    try:
        system_id = int(await probe.fetchval("SELECT system_identifier FROM pg_control_system()"))
    finally:
        await probe.close()
    kept = tmp_path / "lineage"
    # the gateway wrote on timeline 2 of this system: a server still on timeline 1 is
    # an old primary come back (still read-write), and is never written to
    kept.write_text(lineage_to_text(Lineage(system_id, 2)))
    connector = Connector(database_url, lineage_file=kept)
    await connector.load()
    with caplog.at_level(logging.WARNING), pytest.raises(NoPrimaryError, match="is behind"):
        await connector()
    assert connector.refused_behind == 1
    assert "an old primary?" in caplog.text
    # another system (a cluster rebuilt or restored) is taken, as a failover is
    kept.write_text(lineage_to_text(Lineage(system_id + 1, 5)))
    connector = Connector(database_url, lineage_file=kept)
    await connector.load()
    heard: list[tuple[Lineage | None, Lineage]] = []
    connector.on_new_lineage(lambda old, new: heard.append((old, new)))
    conn = await connector()
    await conn.close()
    assert heard == [(Lineage(system_id + 1, 5), Lineage(system_id, 1))]
    assert connector.epoch == 1
    assert lineage_from_text(kept.read_text()) == Lineage(system_id, 1)


@pytest.fixture
async def sync_cluster() -> AsyncIterator[PrivateCluster]:
    """A server of this test's own, whose commits the test can make wait for a
    synchronous standby that never comes (each then waits until it is cancelled)."""
    cluster = await asyncio.to_thread(PrivateCluster.create)
    try:
        yield cluster
    finally:
        await asyncio.to_thread(cluster.destroy)


async def test_a_commit_the_synchronous_standby_never_confirmed_is_spooled_then_settled_by_its_key(
    sync_cluster: PrivateCluster, tmp_path: Path
) -> None:
    url = await sync_cluster.create_database("syncrep")
    async with open_database(url, max_size=4) as db:
        service = StockService(db.pool)
        await load_sample_catalog(service)
        await _standby_names(url, "'ghost'")
        rig = await open_rig("sync", "pty", HONEYWELL, tmp_path, location="DOCK-1")
        gateway = Gateway(
            StockService(db.pool), [rig.config], tmp_path / "spool", commit_timeout=5.0
        )
        await gateway.start()
        try:
            await eventually(lambda: gateway.statuses()[0].state == "connected", 5 * UNIT, "up")
            canceller = asyncio.create_task(_cancel_sync_waits(url, after=0.5))
            assert await rig.scan(f"01{WIDGET}10LOT-1", aim="]C1") == "ack"
            assert await canceller >= 1
            # committed locally, but never confirmed: spooled, not counted as done
            assert gateway.committer.spooled == 1
            assert gateway.committer.batches == 0
            await _standby_names(url, "")
            async with asyncio.timeout(10 * UNIT):
                await gateway.committer.wait_drained()
        finally:
            await gateway.stop()
            await rig.close()
        rows = await ledger_rows(db.pool)
        assert [r["lot"] for r in rows] == ["LOT-1"]  # its key found the local commit
        await invariants_hold(service)


_EMPTY = "''"


async def _standby_names(url: str, value: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = {value or _EMPTY}")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    await asyncio.sleep(0.3)  # the reload reaches every backend


async def _cancel_sync_waits(url: str, after: float) -> int:
    """Cancel (as an operator, or a failover manager, would) every backend waiting
    for the synchronous standby; how many there were."""
    await asyncio.sleep(after)
    conn = await asyncpg.connect(url)
    try:
        for _ in range(50):
            found = await conn.fetchval(
                "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity"
                " WHERE wait_event = 'SyncRep'"
            )
            if found:
                return int(found)
            await asyncio.sleep(0.1)
        return 0
    finally:
        await conn.close()


async def test_after_a_failover_the_window_is_posted_again_first_and_kept_across_a_restart(
    service: StockService, pool: Pool, gateway_db: Database, tmp_path: Path
) -> None:
    rig = await open_rig("win", "pty", HONEYWELL, tmp_path, location="DOCK-1")
    spool_dir = tmp_path / "spool"
    gateway = Gateway(StockService(gateway_db.pool), [rig.config], spool_dir)
    connector = gateway_db.connector
    assert connector is not None
    await gateway.start()
    try:
        await eventually(lambda: gateway.statuses()[0].state == "connected", 5 * UNIT, "up")
        for n in range(10):
            assert await rig.scan(f"01{WIDGET}10W-{n:02d}", aim="]C1") == "ack"
        assert connector.lineage is not None
        # As if the gateway had been writing on another cluster until now: the next
        # connection finds a new lineage, which is what a failover looks like.
        connector.lineage = Lineage(connector.lineage.system_id + 1, connector.lineage.timeline)
        connector.terminate_all()
        for n in range(10, 15):
            assert await rig.scan(f"01{WIDGET}10W-{n:02d}", aim="]C1") == "ack"
        async with asyncio.timeout(10 * UNIT):
            await gateway.committer.wait_drained()
        await eventually(
            lambda: gateway.committer.window_replayed >= 10, 10 * UNIT, "the window posted again"
        )
        assert gateway.committer.failovers == 1
        assert gateway.committer.window_restored == 0  # all there: answered by their keys
    finally:
        await gateway.stop()
    lots = [r["lot"] for r in await ledger_rows(pool)]
    assert lots == [f"W-{n:02d}" for n in range(15)]
    await invariants_hold(service)
    # a gateway started on the same spool knows what its predecessor committed lately
    again = Gateway(StockService(gateway_db.pool), [rig.config], spool_dir)
    await again.start()
    try:
        assert len(again.committer.window) == 15
    finally:
        await again.stop()
        await rig.close()


async def test_a_gateway_stops_promptly_while_the_database_hangs(
    proxy: FaultProxy, gateway_db: Database, service: StockService, tmp_path: Path
) -> None:
    rig = await open_rig("stop", "pty", HONEYWELL, tmp_path, location="DOCK-1")
    gateway = Gateway(StockService(gateway_db.pool), [rig.config], tmp_path / "spool")
    await gateway.start()
    try:
        await eventually(lambda: gateway.statuses()[0].state == "connected", 5 * UNIT, "up")
        assert await rig.scan(f"01{WIDGET}10S-1", aim="]C1") == "ack"
        await proxy.ahang()
        assert await rig.scan(f"01{WIDGET}10S-2", aim="]C1") == "ack"  # spooled
        started = time.monotonic()
    finally:
        await gateway.stop()  # its last states cannot be written: dropped after 3 s
        await rig.close()
    assert time.monotonic() - started < 6.0
    assert gateway.committer.spooled == 1
    await proxy.aunhang()


async def test_an_api_write_on_a_hung_database_fails_within_its_deadline_and_applies_once_on_retry(
    proxy: FaultProxy, gateway_db: Database, service: StockService, pool: Pool
) -> None:
    api = StockService(gateway_db.pool, write_deadline=1.0)
    receive = Receive(ProductRef(sku=Sku("WIDGET")), LocationCode("A-01"), 3)
    envelope = Envelope(IdempotencyKey("api:retried"), receive)
    await proxy.ahang()
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailableError):
        await api.post(envelope)
    assert time.monotonic() - started < 1.8
    await proxy.aunhang()
    first = await api.post(envelope)  # the client's retry, same key
    again = await api.post(envelope)
    assert again.replayed
    assert again.movements == first.movements
    assert (await service.stock_of("WIDGET")).on_hand == 3


async def test_a_connection_dropped_under_a_transaction_is_an_outage_not_a_bug(
    gateway_db: Database,
) -> None:
    """After an outage the gateway drops every connection, the other worker's too: its
    batch must be spooled (an outage), not refused (asyncpg says InterfaceError)."""
    connector = gateway_db.connector
    assert connector is not None

    async def in_transaction() -> None:
        async with bounded(gateway_db.pool, 5.0) as conn, conn.transaction():
            await conn.execute("SELECT pg_sleep(1)")

    task = asyncio.create_task(in_transaction())
    await asyncio.sleep(0.3)
    assert connector.terminate_all() >= 1
    with pytest.raises(DatabaseUnavailableError, match="dropped"):
        await task


async def test_a_direct_server_keeps_the_statement_cache_and_is_not_taken_for_a_pooler(
    database_url: str,
) -> None:
    """``statement_cache`` unset: asked once a host (the pooler case, Debian's pgbouncer,
    is in tests/ha/test_poolers.py); a server reached directly keeps asyncpg's cache."""
    async with open_database(database_url, run_migrations=False, max_size=2) as db:
        connector = db.connector
        assert connector is not None
        assert connector.poolers == {database_url: False}
        async with db.pool.acquire() as conn:
            await conn.fetchval("SELECT $1::int + 1", 1)
            named = await conn.fetchval(
                "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE '__asyncpg_stmt_%'"
            )
        assert named >= 1  # prepared and kept: the cache is on
    off = ConnectOptions(statement_cache=False)
    async with open_database(database_url, run_migrations=False, max_size=2, options=off) as db:
        assert db.connector is not None
        assert db.connector.poolers == {}  # told: nothing asked
        async with db.pool.acquire() as conn:
            await conn.fetchval("SELECT $1::int + 1", 1)
            named = await conn.fetchval(
                "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE '__asyncpg_stmt_%'"
            )
        assert named == 0
