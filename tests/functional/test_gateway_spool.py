"""The spool under real faults: damaged bytes, an old format, a failing disk, a full
spool, a second gateway, a read-only database, and a long outage's worth of scans.

Each fault is made for real: bytes flipped or cut out of the segment files on disk,
``spool.log`` written as the earlier version wrote it, a disk that fails mid-write (an
intercepting subclass, and a tiny tmpfs where the test may mount one), a second
process holding the lock, ``default_transaction_read_only`` on the test database.
PostgreSQL outages go through :class:`~tests.faultproxy.FaultProxy`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from hardware_mocks.frames import DATALOGIC
from hardware_mocks.frames import HONEYWELL
from scanner_gateway.committer import Committer
from scanner_gateway.errors import SpoolLockedError
from scanner_gateway.gateway import Gateway
from scanner_gateway.spool import RECORD_HEADER_SIZE
from scanner_gateway.spool import SEGMENT_HEADER_SIZE
from scanner_gateway.spool import Frame
from scanner_gateway.spool import Spool
from scanner_gateway.spool import decode_payload
from scanner_gateway.spool import pending_records
from scanner_gateway.spool import read_frames
from stock_core.domain.codec import envelope_to_dict
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Outcome
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.errors import DatabaseUnavailableError
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.store.database import open_database
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import ScannerId
from tests.failing_disk import FailingDiskSpool
from tests.gateway_harness import Outage
from tests.gateway_harness import Rig
from tests.gateway_harness import all_connected
from tests.gateway_harness import invariants_hold
from tests.gateway_harness import open_rig
from tests.gateway_harness import serving
from tests.timing import UNIT

WIDGET = "05012345678900"


async def drain(committer: Committer, within: float = 10.0) -> None:
    """Run ``committer`` until its spool is empty, then stop it and close the spool."""
    await committer.start()
    try:
        async with asyncio.timeout(within * UNIT):
            await committer.wait_drained()
    finally:
        await committer.stop()
        await committer.spool.close()


async def replay(service: StockService, directory: Path, **options: Any) -> Committer:
    """A committer over ``service`` (``options`` for it) replays the spool in
    ``directory`` to its end, as a restarted gateway would (see :func:`drain`)."""
    spool = Spool(directory)
    await spool.open()
    committer = Committer(service, spool, **options)
    await drain(committer)
    return committer


async def spool_receives(directory: Path, count: int, batch: int | None = None) -> None:
    """``count`` :func:`receive` scans appended to the spool in ``directory``, ``batch``
    at a time (all at once by default), then the spool closed: a gateway gone."""
    spool = Spool(directory)
    await spool.open()
    step = batch or count
    for start in range(0, count, step):
        await spool.append([receive(n) for n in range(start, min(start + step, count))])
    await spool.close()


def receive(n: int, scanner: str = "bulk") -> Envelope:
    """A receive of one WIDGET at DOCK-1 with a lot of its own, as a scanner sends it."""
    return Envelope(
        IdempotencyKey(f"{scanner}:{n}"),
        Receive(ProductRef(barcode=WIDGET), LocationCode("DOCK-1"), 1, lot=f"{scanner}-{n:06d}"),
        actor=f"scanner:{scanner}",
        scanner=ScannerId(scanner),
        scan_seq=n,
    )


def plain_receive(n: int) -> Envelope:
    """A receive with no lot: the common scan (and the store's fast path)."""
    return Envelope(
        IdempotencyKey(f"bulk:{n}"),
        Receive(ProductRef(barcode=WIDGET), LocationCode("DOCK-1"), 1),
        actor="scanner:bulk",
        scanner=ScannerId("bulk"),
        scan_seq=n,
    )


async def ledger_lots(pool: Pool) -> list[str]:
    rows = await pool.fetch("SELECT lot FROM movements ORDER BY id")
    return [r["lot"] for r in rows]


def frames_on_disk(directory: Path) -> list[tuple[Path, Frame]]:
    """Every whole record in the spool's segments, with its file (offsets in the file)."""
    found: list[tuple[Path, Frame]] = []
    for path in sorted(directory.glob("segment-*.wal")):
        data = path.read_bytes()
        items, _ = read_frames(data[SEGMENT_HEADER_SIZE:], final=True)
        found += [
            (path, Frame(SEGMENT_HEADER_SIZE + f.start, SEGMENT_HEADER_SIZE + f.end, f.payload))
            for f in items
            if isinstance(f, Frame)
        ]
    return found


def flip(path: Path, offset: int) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))


def cut_out(path: Path, offset: int, size: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:offset] + data[offset + size :])


def lot_of(envelope: Envelope) -> str:
    assert isinstance(envelope.command, Receive)
    assert envelope.command.lot is not None
    return envelope.command.lot


def quarantine_files(directory: Path) -> list[Path]:
    return sorted((directory / "quarantine").glob("*.bin"))


async def scan_all(rig: Rig, lots: list[str]) -> list[str | None]:
    aim = "]C1" if rig.model.aim else None
    return [await rig.scan(f"01{WIDGET}10{lot}", aim=aim) for lot in lots]


async def test_one_flipped_byte_mid_spool_costs_one_scan_and_reports_it(
    service: StockService, outage: Outage, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 18 as measured: 4 scanners, PostgreSQL down, 1,000 scans acknowledged into
    the spool, the gateway stopped, one byte flipped mid-file, everything restarted."""
    rigs = [
        await open_rig(
            f"f{i}",
            "pty" if i % 2 else "tcp",
            (HONEYWELL, DATALOGIC)[i % 2],
            tmp_path,
            location="DOCK-1",
        )
        for i in range(4)
    ]
    spool_dir = tmp_path / "spool"
    gateway = outage.gateway([r.config for r in rigs], spool_dir)
    lots = {r.id: [f"{r.id}-{n:04d}" for n in range(250)] for r in rigs}
    async with serving(gateway, *rigs):
        await all_connected(gateway)
        await outage.proxy.acut()
        answers = await asyncio.gather(*(scan_all(r, lots[r.id]) for r in rigs))
        assert all(a == "ack" for scanner in answers for a in scanner)
        assert gateway.committer.spool_status().depth == 1000

    frames = frames_on_disk(spool_dir)
    assert len(frames) == 1000
    path, victim = frames[500]
    lost = decode_payload(victim.payload)
    flip(path, victim.start + RECORD_HEADER_SIZE + len(victim.payload) // 2)
    damaged = path.read_bytes()[victim.start : victim.end]

    await outage.proxy.arestore()
    restarted = outage.gateway([], spool_dir)
    with caplog.at_level(logging.ERROR, "scanner_gateway.spool"):
        await restarted.start()
        try:
            async with asyncio.timeout(20 * UNIT):
                await restarted.committer.wait_drained()
            status = restarted.committer.spool_status()
        finally:
            await restarted.stop()

    everything = {lot for scanner in lots.values() for lot in scanner}
    in_ledger = await ledger_lots(service.pool)
    assert len(in_ledger) == len(set(in_ledger)) == 999
    assert set(in_ledger) == everything - {lot_of(lost.envelope)}
    (exception,) = await service.list_spool_exceptions()
    assert (exception.problem_type, exception.key) == ("spool-corrupt", lost.envelope.key)
    assert "payload checksum mismatch" in exception.reason
    # the flipped byte was found out: what the manager sees is the scan as it was made
    assert exception.command == json.loads(json.dumps(envelope_to_dict(lost.envelope)))
    for scanner, sent in lots.items():
        mine = [lot for lot in in_ledger if lot.startswith(f"{scanner}-")]
        assert mine == [lot for lot in sent if lot != lot_of(lost.envelope)]
    (kept,) = quarantine_files(spool_dir)
    assert kept.read_bytes() == damaged
    assert (status.depth, status.quarantined) == (0, 1)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(lost.envelope.key in e and "damaged" in e for e in errors), errors
    await invariants_hold(service)


def _hole_in_the_payload(path: Path, frame: Frame) -> None:
    cut_out(path, frame.start + RECORD_HEADER_SIZE + 40, 60)


def _flipped_length(path: Path, frame: Frame) -> None:
    flip(path, frame.start + 6)


@pytest.mark.parametrize(
    ("damage", "salvaged"),
    [(_hole_in_the_payload, False), (_flipped_length, True)],
    ids=["hole-in-a-record", "flipped-length"],
)
async def test_a_damaged_record_mid_spool_costs_only_that_record(
    service: StockService,
    pool: Pool,
    tmp_path: Path,
    damage: object,
    salvaged: bool,
) -> None:
    await spool_receives(tmp_path, 60, batch=10)
    path, victim = frames_on_disk(tmp_path)[30]
    assert callable(damage)
    damage(path, victim)

    committer = await replay(service, tmp_path)
    assert await ledger_lots(pool) == [f"bulk-{n:06d}" for n in range(60) if n != 30]
    assert committer.spool_status().quarantined == 1
    exceptions = await service.list_spool_exceptions()
    if salvaged:  # its fields still read: a manager sees which scan it was
        assert [(e.problem_type, e.key) for e in exceptions] == [("spool-corrupt", "bulk:30")]
    else:  # nothing readable left: the ERROR line, the counter and the quarantined bytes
        assert exceptions == []
    assert len(quarantine_files(tmp_path)) == 1


def _legacy_record(envelope: Envelope, at: str) -> bytes:
    """A record exactly as the single-file spool before issue 18 wrote it."""
    payload = json.dumps(
        {"envelope": envelope_to_dict(envelope), "at": at}, separators=(",", ":")
    ).encode()
    return b"SP" + struct.pack(">II", len(payload), zlib.crc32(payload)) + payload


async def test_an_old_format_spool_is_replayed_after_upgrade(
    service: StockService, pool: Pool, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    old = [_legacy_record(receive(n, "old"), "2025-06-01T10:00:00+00:00") for n in range(30)]
    (spool_dir / "epoch").write_text("7\n")
    (spool_dir / "spool.log").write_bytes(b"".join(old) + old[0][:11])  # and a torn tail
    gateway = Gateway(service, [], spool_dir)
    await gateway.start()
    try:
        assert gateway.spool.pending == 30
        async with asyncio.timeout(10 * UNIT):
            await gateway.committer.wait_drained()
    finally:
        await gateway.stop()
    assert await ledger_lots(pool) == [f"old-{n:06d}" for n in range(30)]
    assert not (spool_dir / "spool.log").exists()
    assert await service.list_spool_exceptions() == []
    assert quarantine_files(spool_dir) == []  # a torn tail loses nothing acknowledged


async def test_a_failed_append_naks_and_that_scan_never_reaches_the_ledger(
    service: StockService, pool: Pool, outage: Outage, tmp_path: Path
) -> None:
    rig = await open_rig("disk", "pty", HONEYWELL, tmp_path, location="DOCK-1")
    spool_dir = tmp_path / "spool"
    gateway = outage.gateway([rig.config], spool_dir)
    gateway.spool = gateway.committer.spool = failing = FailingDiskSpool(spool_dir)
    await gateway.start()
    try:
        await all_connected(gateway)
        await outage.proxy.acut()
        assert await scan_all(rig, ["disk-a", "disk-b"]) == ["ack", "ack"]
        failing.write_fails = 1
        assert await scan_all(rig, ["disk-lost"]) == ["nak"]
        assert await scan_all(rig, ["disk-c", "disk-d"]) == ["ack", "ack"]
        assert gateway.committer.refused == 1
        await gateway.stop()  # a restart: the refused scan is not in the spool either
        assert [lot_of(r.envelope) for r in pending_records(spool_dir)] == [
            "disk-a",
            "disk-b",
            "disk-c",
            "disk-d",
        ]
        await outage.proxy.arestore()
        gateway = outage.gateway([rig.config], spool_dir)
        await gateway.start()
        async with asyncio.timeout(10 * UNIT):
            await gateway.committer.wait_drained()
        await all_connected(gateway)
        assert await scan_all(rig, ["disk-e"]) == ["ack"]
    finally:
        await gateway.stop()
        await rig.close()
    assert await ledger_lots(pool) == ["disk-a", "disk-b", "disk-c", "disk-d", "disk-e"]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs, where this test may mount one (root on Linux)."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_a_full_disk_naks_and_the_spool_recovers_when_the_database_returns(
    service: StockService, pool: Pool, outage: Outage, tmp_path: Path, tiny_disk: Path
) -> None:
    rig = await open_rig("tiny", "pty", HONEYWELL, tmp_path, location="DOCK-1")
    gateway = outage.gateway([rig.config], tiny_disk / "spool")
    acked: list[str] = []
    refused: list[str] = []
    async with serving(gateway, rig):
        await all_connected(gateway)
        await outage.proxy.acut()
        for n in range(1000):
            lot = f"tiny-{n:04d}"
            (answer,) = await scan_all(rig, [lot])
            (acked if answer == "ack" else refused).append(lot)
            if len(refused) == 3:
                break
        assert refused, "the disk never filled"
        assert len(acked) > 20
        await outage.proxy.arestore()
        async with asyncio.timeout(10 * UNIT):
            await gateway.committer.wait_drained()
        later = [f"tiny-after-{n}" for n in range(5)]
        assert await scan_all(rig, later) == ["ack"] * 5
    assert await ledger_lots(pool) == acked + later
    print(f"\n{len(acked)} scans fitted on the disk; refused {refused}")


async def test_a_full_spool_naks_raises_the_alarm_and_takes_scans_again_once_drained(
    service: StockService, outage: Outage, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rig = await open_rig("cap", "pty", HONEYWELL, tmp_path, location="DOCK-1")
    spool_dir = tmp_path / "spool"
    gateway = outage.gateway([rig.config], spool_dir)
    gateway.spool = gateway.committer.spool = Spool(spool_dir, cap_bytes=8 << 10)
    async with serving(gateway, rig):
        await all_connected(gateway)
        await outage.proxy.acut()
        lots = [f"cap-{n:03d}" for n in range(40)]
        with caplog.at_level(logging.WARNING, "scanner_gateway.spool"):
            answers = await scan_all(rig, lots)
        taken = answers.index("nak")
        assert 15 < taken < 30
        assert set(answers[taken:]) == {"nak"}
        status = gateway.committer.spool_status()
        assert (status.full, status.alarm, status.depth) == (True, True, taken)
        assert status.size_bytes <= status.cap_bytes == 8 << 10
        assert "is full" in caplog.text
        await outage.proxy.arestore()
        async with asyncio.timeout(10 * UNIT):
            await gateway.committer.wait_drained()
        status = gateway.committer.spool_status()
        assert (status.full, status.alarm, status.depth) == (False, False, 0)
        assert await scan_all(rig, ["cap-after"]) == ["ack"]
        await gateway.events.flush()
    assert await ledger_lots(service.pool) == [*lots[:taken], "cap-after"]
    rejected = await service.pool.fetch("SELECT payload FROM outbox WHERE type = 'scan.rejected'")
    reasons = {json.loads(r["payload"])["reason"] for r in rejected}
    assert reasons == {"not taken: the database is unreachable and the spool is full"}


_HOLD_THE_SPOOL = """
import asyncio, sys
from pathlib import Path
from scanner_gateway.spool import Spool

async def main():
    spool = Spool(Path(sys.argv[1]))
    await spool.open()
    print("holding", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await spool.close()

asyncio.run(main())
"""


async def test_a_second_gateway_on_the_same_spool_is_refused(
    service: StockService, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    first = Gateway(service, [], spool_dir)
    await first.start()
    second = Gateway(service, [], spool_dir)
    try:
        with pytest.raises(SpoolLockedError) as refused:
            await second.start()
    finally:
        await second.stop()
        await first.stop()
    assert str(refused.value) == (
        f"spool {spool_dir} is in use by another gateway (pid {os.getpid()}):"
        " stop it or set STOCKD_HOME to another directory"
    )

    # the same across processes, naming the other one
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _HOLD_THE_SPOOL,
        str(spool_dir),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdout is not None
    assert holder.stdin is not None
    try:
        async with asyncio.timeout(10 * UNIT):
            assert await holder.stdout.readline() == b"holding\n"
        third = Gateway(service, [], spool_dir)
        with pytest.raises(
            SpoolLockedError, match=f"in use by another gateway \\(pid {holder.pid}\\)"
        ):
            await third.start()
        await third.stop()
    finally:
        holder.stdin.close()
        async with asyncio.timeout(10 * UNIT):
            await holder.wait()
    fourth = Gateway(service, [], spool_dir)  # the lock goes with its holder
    await fourth.start()
    await fourth.stop()


async def test_a_read_only_database_spools_scans_and_they_drain_once_it_takes_writes(
    service: StockService, database_url: str, admin_database_url: str, tmp_path: Path
) -> None:
    """A failover that leaves the gateway on a read-only server: ``ReadOnlySQLTransactionError``
    is an outage, so scans are spooled (ack), not refused (nak)."""
    tagged = f"{database_url}{'&' if '?' in database_url else '?'}application_name=gw-ro"
    admin = await asyncpg.connect(admin_database_url)  # the owner: the app role may not
    name = await admin.fetchval("SELECT current_database()")
    await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    rig = await open_rig("ro", "pty", HONEYWELL, tmp_path, location="DOCK-1")
    async with open_database(tagged, run_migrations=False, tolerate_outage=True) as db:
        with pytest.raises(DatabaseUnavailableError, match="read-only"):  # API writes: 503
            await StockService(db.pool).post(receive(0, "api"))
        gateway = Gateway(StockService(db.pool), [rig.config], tmp_path / "spool")
        await gateway.start()
        try:
            await all_connected(gateway)
            lots = [f"ro-{n:02d}" for n in range(20)]
            assert await scan_all(rig, lots) == ["ack"] * 20
            assert gateway.runtimes["ro"].counters.spooled == 20
            status = gateway.committer.spool_status()
            assert (status.depth, status.replaying) == (20, False)
            assert await ledger_lots(service.pool) == []
            # the failover completes: writable again, and the old sessions are gone
            await admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'gw-ro'"
            )
            async with asyncio.timeout(10 * UNIT):
                await gateway.committer.wait_drained()
            assert await scan_all(rig, ["ro-after"]) == ["ack"]
        finally:
            await gateway.stop()
            await rig.close()
            await admin.close()
    assert await ledger_lots(service.pool) == [*lots, "ro-after"]
    assert await service.list_spool_exceptions() == []


class _BuggyService(StockService):
    """Fails every batch holding ``bad`` with an error that is no outage (a bug), and
    the first ``outages`` calls with one that is."""

    def __init__(self, pool: Pool, bad: str, outages: int) -> None:
        super().__init__(pool)
        self.bad = bad
        self.outages = outages
        self.calls = 0

    async def post_batch(self, envelopes: object, **bounds: Any) -> list[Outcome]:
        assert isinstance(envelopes, list)
        self.calls += 1
        if self.outages:
            self.outages -= 1
            raise DatabaseUnavailableError("PostgreSQL unavailable: test")
        if any(e.key == self.bad for e in envelopes):
            raise RuntimeError("a bug in the store")
        return await super().post_batch(envelopes, **bounds)


async def test_a_scan_that_keeps_failing_on_replay_becomes_a_spool_exception_and_replay_goes_on(
    service: StockService, pool: Pool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path)
    await spool.open()
    await spool.append([receive(n) for n in range(40)])
    buggy = _BuggyService(pool, bad="bulk:17", outages=4)
    committer = Committer(buggy, spool, replay_attempts=3, replay_backoff=0.02)
    started = time.monotonic()
    await drain(committer, within=20.0)
    # outages: retried for as long as they last (4 > 3 tries), nothing given up for them
    assert time.monotonic() - started > 4 * 0.5 * 0.9
    assert await ledger_lots(pool) == [f"bulk-{n:06d}" for n in range(40) if n != 17]
    (exception,) = await service.list_spool_exceptions()
    assert (exception.problem_type, exception.key) == ("replay-failed", "bulk:17")
    assert exception.reason == "replay failed 3 times: RuntimeError: a bug in the store"
    assert committer.exceptions == 1
    assert "one at a time" in caplog.text
    assert "try 2 of 3" in caplog.text


class _ForgetfulService(StockService):
    """Cannot keep spool exceptions: an outage while ``down``, else a bug when ``buggy``;
    and fails every batch holding ``bad`` (a bug)."""

    def __init__(self, pool: Pool, *, bad: str = "") -> None:
        super().__init__(pool)
        self.bad = bad
        self.down = False
        self.buggy = False

    async def post_batch(self, envelopes: object, **bounds: Any) -> list[Outcome]:
        assert isinstance(envelopes, list)
        if any(e.key == self.bad for e in envelopes):
            raise RuntimeError("a bug in the store")
        return await super().post_batch(envelopes, **bounds)

    async def record_spool_exceptions(self, failures: object, **bounds: Any) -> None:
        assert isinstance(failures, list)
        if failures and self.down:
            raise DatabaseUnavailableError("PostgreSQL unavailable: test")
        if failures and self.buggy:
            raise RuntimeError("cannot store that")
        await super().record_spool_exceptions(failures, **bounds)


async def test_damage_is_reported_before_the_spool_moves_past_it(
    service: StockService, pool: Pool, tmp_path: Path
) -> None:
    await spool_receives(tmp_path, 10)
    path, victim = frames_on_disk(tmp_path)[4]
    flip(path, victim.end - 3)

    forgetful = _ForgetfulService(pool)
    forgetful.down = True
    for _ in range(2):  # a restart while it cannot be reported: found and held again
        spool = Spool(tmp_path)
        await spool.open()
        committer = Committer(forgetful, spool)
        await committer.start()
        await asyncio.sleep(0.3 * UNIT)
        await committer.stop()
        await spool.close()
        assert len(spool.unreported()) == 1
        assert await ledger_lots(pool) == []  # nothing passes it before it is reported
    forgetful.down = False
    await replay(forgetful, tmp_path)
    assert await ledger_lots(pool) == [f"bulk-{n:06d}" for n in range(10) if n != 4]
    assert [e.key for e in await service.list_spool_exceptions()] == ["bulk:4"]
    assert len(quarantine_files(tmp_path)) == 1


async def test_what_cannot_be_kept_as_a_spool_exception_is_quarantined_and_replay_goes_on(
    service: StockService, pool: Pool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await spool_receives(tmp_path, 5)
    path, victim = frames_on_disk(tmp_path)[1]
    flip(path, victim.end - 3)
    forgetful = _ForgetfulService(pool, bad="bulk:3")
    forgetful.buggy = True
    await replay(forgetful, tmp_path, replay_attempts=2, replay_backoff=0.01)
    assert await ledger_lots(pool) == ["bulk-000000", "bulk-000002", "bulk-000004"]
    assert await service.list_spool_exceptions() == []
    names = [p.name for p in quarantine_files(tmp_path)]
    assert names == ["record-bulk_3.bin", f"segment-00000001-at-{victim.start:010d}.bin"]
    assert "cannot keep 1 damaged spooled scan(s) as spool exceptions" in caplog.text
    assert "copied to" in caplog.text


def _letters(n: int) -> str:
    return "".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[n // 26**i % 26] for i in range(3, -1, -1))


@pytest.mark.slow
@pytest.mark.timeout(600 * UNIT)
async def test_a_200k_record_spool_drains_while_new_scans_are_served(
    service: StockService, pool: Pool, outage: Outage, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    total = 200_000
    spool = Spool(spool_dir)
    await spool.open()
    filled = time.monotonic()
    for start in range(0, total, 2000):
        await spool.append([plain_receive(n) for n in range(start, min(start + 2000, total))])
    filled = time.monotonic() - filled
    size = spool.status().size_bytes
    await spool.close()
    segments = len(list(spool_dir.glob("segment-*.wal")))

    rigs = [
        await open_rig(f"live{i}", "pty", HONEYWELL, tmp_path, location="DOCK-1") for i in range(2)
    ]
    gateway = outage.gateway([r.config for r in rigs], spool_dir)
    await gateway.start()
    served: dict[str, list[str]] = {r.id: [] for r in rigs}
    answers: list[str | None] = []
    peak_buffer = 0
    started = time.monotonic()

    async def work(rig: Rig, stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            lot = f"{rig.id}-{_letters(n)}"  # digits could read as a GS1 AI
            answers.extend(await scan_all(rig, [lot]))
            served[rig.id].append(lot)
            n += 1
            await asyncio.sleep(0.02)

    stop = asyncio.Event()
    try:
        await all_connected(gateway)
        workers = [asyncio.create_task(work(r, stop)) for r in rigs]
        async with asyncio.timeout(300 * UNIT):
            while gateway.spool.backlog:
                peak_buffer = max(peak_buffer, len(gateway.spool._buffer))
                await asyncio.sleep(0.05)
        drained = time.monotonic() - started
        stop.set()
        await asyncio.gather(*workers)
        async with asyncio.timeout(10 * UNIT):
            await gateway.committer.wait_drained()
        left = len(list(spool_dir.glob("segment-*.wal")))
    finally:
        stop.set()
        await gateway.stop()
        for rig in rigs:
            await rig.close()

    rate = total / drained
    print(
        f"\nspool of {total} records ({size / 2**20:.1f} MiB, {segments} segments, filled in"
        f" {filled:.1f} s) drained in {drained:.1f} s: {rate:,.0f} records/s, while"
        f" {len(answers)} new scans were served; read-ahead at most {peak_buffer} records"
    )
    assert set(answers) == {"ack"}
    assert peak_buffer <= 256
    assert left == 1
    bulk = "SELECT {} FROM movements WHERE idempotency_key LIKE 'bulk:%'"
    assert await pool.fetchval(bulk.format("count(DISTINCT idempotency_key)")) == total
    for rig_id, lots in served.items():
        rows = await pool.fetch("SELECT lot FROM movements WHERE scanner = $1 ORDER BY id", rig_id)
        assert [r["lot"] for r in rows] == lots
    first_new = await pool.fetchval("SELECT min(id) FROM movements WHERE lot LIKE 'live%'")
    last_bulk = await pool.fetchval(bulk.format("max(id)"))
    assert first_new > last_bulk  # spooled behind the backlog, in order
    await invariants_hold(service)
