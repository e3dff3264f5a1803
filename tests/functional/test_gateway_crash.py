"""``stockd gateway`` killed with SIGKILL three times mid-run: no acknowledged scan lost.

The gateway runs as a real subprocess on a TOML config, reaching PostgreSQL through
the fault proxy; scanners sit on stable pty paths and keep scanning receive scans
with unique GS1 lots through every kill, waiting a bounded time for each answer and
never resending an unanswered scan (as a worker would not know to). The second life
runs with the database cut, so it is killed with acknowledged scans only in its
spool; the third starts with the database back and is killed young, while it replays.

The one instant a random kill rarely hits, after a replay's commit and before the
spool is trimmed, is tested in process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import signal
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import pytest

from hardware_mocks.frames import DATALOGIC
from hardware_mocks.frames import GENERIC_BEL
from hardware_mocks.frames import HONEYWELL
from hardware_mocks.frames import ScannerModel
from hardware_mocks.pty_scanner import PtyScanner
from scanner_gateway.committer import Committer
from scanner_gateway.spool import Spool
from scanner_gateway.spool import pending_records
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import ScannerId
from tests.cluster import StockdProcess
from tests.faultproxy import FaultProxy
from tests.gateway_harness import all_accounted_for
from tests.gateway_harness import byte_escapes
from tests.gateway_harness import eventually
from tests.gateway_harness import ledger_rows
from tests.timing import UNIT

WIDGET = "05012345678900"
CUSTOM_FEEDBACK = dataclasses.replace(
    GENERIC_BEL, name="custom", ack=b"\x06", nak=b"\x15", feedback="custom"
)
MODELS: tuple[ScannerModel, ...] = (HONEYWELL, DATALOGIC, CUSTOM_FEEDBACK, HONEYWELL)
ANSWER_TIMEOUT = 1.0 * UNIT
"""Answers take milliseconds; a scan unanswered this long went to a dead gateway."""


@pytest.fixture
async def scanners(tmp_path: Path) -> AsyncIterator[list[PtyScanner]]:
    opened: list[PtyScanner] = []
    try:
        for i, model in enumerate(MODELS):
            opened.append(await PtyScanner.create(tmp_path / f"tty-k{i}", model, name=f"k{i}"))
        yield opened
    finally:
        for scanner in opened:
            await scanner.aclose()


def _config(tmp_path: Path, scanners: list[PtyScanner]) -> Path:
    lines = [
        "[gateway]",
        f'spool_dir = "{tmp_path / "spool"}"',
        "group_commit = false",  # the e2e and outage tests cover group commit
        "reconnect_max_s = 0.5",
        "",
    ]
    for scanner in scanners:
        model = scanner.model
        lines += [
            "[[scanners]]",
            f'id = "{scanner.name}"',
            f'url = "{scanner.path}"',
            f"baudrate = {model.baudrate}",
            f'terminator = "{model.terminator_name}"',
            f'feedback = "{model.feedback}"',
            'mode = "receive"',
            'location = "DOCK-1"',
        ]
        if model.feedback == "custom":
            lines += [f"ack = '{byte_escapes(model.ack or b'')}'"]
            lines += [f"nak = '{byte_escapes(model.nak or b'')}'"]
        lines.append("")
    path = tmp_path / "stockd.toml"
    path.write_text("\n".join(lines))
    return path


@dataclass
class _Worker:
    scanner: PtyScanner
    acked: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    sent: int = 0

    def lots_sent(self) -> list[str]:
        return [self._lot(n) for n in range(self.sent)]

    def _lot(self, n: int) -> str:
        return f"{self.scanner.name}-{n:05d}"

    async def run(self, stop: asyncio.Event) -> None:
        aim = "]C1" if self.scanner.model.aim else None
        while not stop.is_set():
            lot = self._lot(self.sent)
            self.sent += 1
            before = self.scanner.feedback
            self.scanner.send_scan(f"01{WIDGET}10{lot}", aim=aim)
            try:
                after = await self.scanner.wait_feedback(before.events + 1, ANSWER_TIMEOUT)
            except TimeoutError:
                self.unanswered.append(lot)  # never resent
                await asyncio.sleep(0.2)
                continue
            assert after.acks == before.acks + 1, f"{lot} refused"
            self.acked.append(lot)
            await asyncio.sleep(0.03)


async def test_sigkill_three_times_loses_no_acknowledged_scan_and_counts_none_twice(
    service: StockService,
    pool: Pool,
    proxy: FaultProxy,
    database_url: str,
    scanners: list[PtyScanner],
    tmp_path: Path,
) -> None:
    rng = random.Random(3)
    gateway = StockdProcess(
        "gateway",
        _config(tmp_path, scanners),
        database_url=proxy.url_through(database_url),
        log_dir=tmp_path,
    )
    workers = [_Worker(s) for s in scanners]
    stop = asyncio.Event()
    spool_dir = tmp_path / "spool"
    acked_per_life: list[int] = []
    in_spool_at_kill: list[int] = []
    replayed_not_trimmed: list[int] = []  # in the ledger and still in the spool
    spooled_at_kill = 0

    def acked() -> int:
        return sum(len(w.acked) for w in workers)

    running: list[asyncio.Task[None]] = []
    try:
        for life in range(3):
            await gateway.start()
            if not running:
                running = [asyncio.create_task(w.run(stop)) for w in workers]
            before = acked()
            if life == 1:
                await proxy.acut()
            # the third life dies young: while it replays what the second one spooled
            lifetime = rng.uniform(0.05, 0.35) if life == 2 else rng.uniform(1.5, 2.5)
            await asyncio.sleep(lifetime * UNIT)
            assert await gateway.stop(signal.SIGKILL) == -signal.SIGKILL
            acked_per_life.append(acked() - before)
            records = pending_records(spool_dir)
            in_spool_at_kill.append(len(records))
            spooled_lots = {
                r.envelope.command.lot for r in records if isinstance(r.envelope.command, Receive)
            }
            assert len(spooled_lots) == len(records)
            committed = {r["lot"] for r in await ledger_rows(pool)}
            replayed_not_trimmed.append(len(spooled_lots & committed))
            if life == 1:  # killed with acknowledged scans still only in its spool
                spooled_at_kill = len(records)
                assert spooled_at_kill > 0, acked_per_life
                # (acknowledged, or answered just as it died: the worker cannot tell)
                assert spooled_lots <= {lot for w in workers for lot in w.lots_sent()}
                await proxy.arestore()
        await gateway.start()
        before = acked()
        await asyncio.sleep(1.5 * UNIT)
        stop.set()
        async with asyncio.timeout(5 * UNIT):
            await asyncio.gather(*running)
        acked_per_life.append(acked() - before)
        everything = {lot for w in workers for lot in w.acked}
        await eventually(lambda: not pending_records(spool_dir), 10 * UNIT, "spool drained")
        assert await gateway.stop(signal.SIGTERM) == 0, gateway.tail()
    finally:
        stop.set()
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        if gateway.process is not None:
            await gateway.stop(signal.SIGKILL)

    assert all(acked_per_life[life] > 0 for life in (0, 1, 3)), acked_per_life
    rows = await ledger_rows(pool)
    lots = Counter(r["lot"] for r in rows)
    twice = [lot for lot, n in lots.items() if n > 1]
    assert not twice, f"counted twice: {twice}"
    lost = everything - set(lots)
    assert not lost, f"acknowledged but not in the ledger: {sorted(lost)}"
    unanswered = {lot for w in workers for lot in w.unanswered}
    assert set(lots) <= everything | unanswered  # nothing that was never sent
    for worker in workers:  # one scanner's scans reach the ledger in the order sent
        mine = [r["lot"] for r in rows if r["scanner"] == worker.scanner.name]
        assert mine == sorted(mine), worker.scanner.name
    assert (await service.stock_of("WIDGET")).on_hand == len(rows)
    await all_accounted_for(service)
    print(
        f"sent {sum(w.sent for w in workers)}, acked {len(everything)} {acked_per_life},"
        f" unanswered {len(unanswered)}, in ledger {len(rows)},"
        f" in the spool at each kill {in_spool_at_kill}, of which already in the"
        f" ledger {replayed_not_trimmed}"
    )


class _FreezesBeforeTrim(Spool):
    """A spool whose owner dies between a replay's commit and trimming the file."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.reached = asyncio.Event()

    async def remove_head(self, count: int) -> None:
        self.reached.set()
        await asyncio.Event().wait()  # the process is gone: this never returns


async def test_a_replay_that_died_before_trimming_the_spool_changes_nothing_the_second_time(
    service: StockService, pool: Pool, tmp_path: Path
) -> None:
    envelopes = [
        Envelope(
            IdempotencyKey(f"k9:{1_000_000_000 + n}"),
            Receive(ProductRef(barcode=WIDGET), LocationCode("DOCK-1"), 1, lot=f"k9-{n:05d}"),
            actor="scanner:k9",
            scanner=ScannerId("k9"),
            scan_seq=1_000_000_000 + n,
        )
        for n in range(3)
    ]
    dying = _FreezesBeforeTrim(tmp_path)
    await dying.open()
    await dying.append(envelopes)  # spooled and acknowledged while offline
    committer = Committer(service, dying)
    await committer.start()
    async with asyncio.timeout(5 * UNIT):
        await dying.reached.wait()
    await committer.stop()  # dead before it trimmed the spool ...
    await dying.close()
    assert len(await ledger_rows(pool)) == 3  # ... but after the commit

    reborn = Spool(tmp_path)
    await reborn.open()
    assert reborn.pending == 3
    committer = Committer(service, reborn)
    await committer.start()
    try:
        async with asyncio.timeout(5 * UNIT):
            await committer.wait_drained()
    finally:
        await committer.stop()
        await reborn.close()
    assert committer.replayed == 3
    rows = await ledger_rows(pool)
    assert [r["lot"] for r in rows] == ["k9-00000", "k9-00001", "k9-00002"]
    assert (await service.stock_of("WIDGET")).on_hand == 3
    await all_accounted_for(service)
