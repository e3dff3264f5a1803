"""The soak: scanners, displays and a gateway kept busy while everything fails.

One run (``--seconds``, 300 by default; loopback only) on a PostgreSQL of its own
(:class:`tests.cluster.PrivateCluster`, never a shared server), with

* 32 scanners on ptys (Honeywell-style, receive mode) driving one ``stockd gateway``
  subprocess; every scan carries a unique GS1 lot, so each one can be found in the
  ledger; a worker waits for the beep and never resends an unanswered scan;
* one of those scanner lines also sends garbage between its scans (noise bursts,
  over-long lines, high-bit bytes);
* 50 displays on one ``stockd web`` subprocess, each dropping its connection at
  random and coming back with ``since`` (the last seq it saw);
* PostgreSQL restarted 3 times (fast and immediate shutdowns, a few seconds down);
* the gateway SIGKILLed and restarted 3 times, once while PostgreSQL is down (so it
  dies with acknowledged scans only in its spool).

At the end (workers stopped, spool drained, feed quiet) it prints and checks: scans
sent / acknowledged / in the ledger / lost / duplicated; feed events missed and
duplicated per display; and ``stockd verify``. ``python -m tests.soak.soak`` exits
1 when a promise was broken; ``make soak`` runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import websockets

from hardware_mocks.errors import NotConnectedError
from hardware_mocks.errors import WriteTimeoutError
from hardware_mocks.frames import gtin14
from hardware_mocks.pty_scanner import PtyScanner
from hardware_mocks.warehouse import Warehouse
from hardware_mocks.warehouse import build_warehouse
from stock_core.domain.token import Role
from stock_core.service import StockService
from stock_core.store.migrate import migrate
from tests.cluster import PrivateCluster
from tests.cluster import ScannerLine
from tests.cluster import StockdProcess
from tests.cluster import feed_head
from tests.cluster import free_port
from tests.cluster import spooled_count
from tests.cluster import stockd_verify
from tests.cluster import write_config

__all__ = ["SoakReport", "main", "run_soak"]

ANSWER_TIMEOUT = 4.0
"""Longer than the gateway's 3 s commit timeout: a live gateway always answers
within it (committed, refused or spooled), so an answer never arrives late and is
never credited to the next scan. Only a dead gateway leaves a scan unanswered."""

SCANNERS = 32
DISPLAYS = 50
NOISY = SCANNERS - 1
"""The index of the scanner line that also sends garbage."""


def progress_log(tag: str) -> Callable[[str], None]:
    """A function that prints a progress line, stamped ``[tag HH:MM:SS]``, at once."""

    def log(message: str) -> None:
        print(f"[{tag} {time.strftime('%H:%M:%S')}] {message}", flush=True)

    return log


_log = progress_log("soak")


# -- scanners ------------------------------------------------------------------------------


@dataclass
class Worker:
    """One warehouse worker at one scanner: scan, wait for the beep (timing it), next.

    A beep not heard within ``answer_timeout`` leaves the scan unanswered (never
    resent: the worker cannot know), and the worker pauses ``after_unanswered``. With
    ``settle``, the worker listens that much longer after a beep: a second one makes the
    scan ambiguous, credited to nothing; without it the first beep counts at once.
    Answers slower than ``reply_bound`` have their send times in ``slow_at``. A
    ``noisy`` worker also sends garbage between scans.
    """

    scanner: PtyScanner
    gtins: list[str]
    rng: random.Random
    pace: float
    noisy: bool = False
    answer_timeout: float = ANSWER_TIMEOUT
    settle: float | None = 0.02
    after_unanswered: float = 0.3
    reply_bound: float = 2.0
    sent: list[str] = field(default_factory=list)
    acked: list[str] = field(default_factory=list)
    naked: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    slow_at: list[float] = field(default_factory=list)
    """Wall-clock send times of the scans answered after ``reply_bound``."""
    not_sent: int = 0
    garbage_sent: int = 0

    @property
    def name(self) -> str:
        return self.scanner.name

    async def run(self, stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            if self.noisy and self.rng.random() < 0.5:
                await self._garbage()
            lot = f"{self.name}-{n:06d}"
            n += 1
            before = self.scanner.feedback
            try:
                self.scanner.send_scan(f"01{self.rng.choice(self.gtins)}10{lot}", aim="]C1")
            except (NotConnectedError, WriteTimeoutError):
                self.not_sent += 1
                await asyncio.sleep(0.5)
                continue
            sent_at = time.monotonic()
            self.sent.append(lot)
            try:
                after = await self.scanner.wait_feedback(before.events + 1, self.answer_timeout)
            except TimeoutError:
                self.unanswered.append(lot)  # never resent: the worker cannot know
                if self.after_unanswered:
                    await asyncio.sleep(self.after_unanswered)
                continue
            self.latencies.append(time.monotonic() - sent_at)
            if self.latencies[-1] > self.reply_bound:
                self.slow_at.append(time.time() - self.latencies[-1])
            if self.settle is not None:
                await asyncio.sleep(self.settle)
            if self.settle is not None and self.scanner.feedback.events != before.events + 1:
                self.ambiguous.append(lot)  # an extra answer turned up: credit nothing
            elif after.acks == before.acks + 1:
                self.acked.append(lot)
            else:
                self.naked.append(lot)
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.pace)

    async def _garbage(self) -> None:
        """Noise, an over-long line or high-bit bytes, then quiet until its naks are in."""
        kind = self.rng.randrange(3)
        if kind == 0:
            data = bytes(self.rng.randrange(32, 127) for _ in range(self.rng.randint(3, 40)))
        elif kind == 1:
            data = b"9" * self.rng.randint(600, 900)
        else:
            data = bytes(self.rng.randrange(128, 255) for _ in range(self.rng.randint(3, 20)))
        before = self.scanner.feedback.events
        try:
            self.scanner.send_raw(data + b"\r\n")
        except (NotConnectedError, WriteTimeoutError):
            return
        self.garbage_sent += 1
        # Its one nak first (a loaded or restarting gateway may take seconds), then quiet:
        # a late nak would otherwise be read as the answer to the next scan.
        with contextlib.suppress(TimeoutError):
            await self.scanner.wait_feedback(before + 1, self.answer_timeout)
        await self._quiet(0.3)

    async def _quiet(self, span: float, limit: float = 3.0) -> None:
        """Wait until no feedback arrived for ``span`` seconds (at most ``limit``)."""
        deadline = time.monotonic() + limit
        seen = self.scanner.feedback.events
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            now_seen = self.scanner.feedback.events
            if now_seen != seen:
                seen, quiet_since = now_seen, time.monotonic()
            elif time.monotonic() - quiet_since >= span:
                return


# -- displays ------------------------------------------------------------------------------


@dataclass
class Display:
    """A floor display that drops its connection at random and resumes with ``since``."""

    url: str
    token: str
    rng: random.Random
    mean_up: float
    seqs: list[int] = field(default_factory=list)
    snapshots: list[int] = field(default_factory=list)
    """Seq of every snapshot received (the first, and any fall-back)."""
    reconnects: int = 0
    refused: Counter[int] = field(default_factory=Counter)
    last_seq: int | None = None
    history_changes: int = 0
    """Snapshots below what was received: a failover lost those events (the feed's
    history changed); what was received above such a snapshot no longer counts."""

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            up_for = self.rng.expovariate(1 / self.mean_up)
            try:
                await self._session(up_for, stop)
            except (OSError, websockets.WebSocketException, TimeoutError):
                self.refused[0] += 1
            if stop.is_set():
                return
            await asyncio.sleep(self.rng.uniform(0.1, 2.0))
            self.reconnects += 1

    async def _session(self, up_for: float, stop: asyncio.Event) -> None:
        async with websockets.connect(self.url, max_size=None, open_timeout=5) as ws:
            hello = {"type": "hello", "token": self.token, "since": self.last_seq}
            await ws.send(json.dumps(hello))
            deadline = time.monotonic() + up_for
            while not stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return  # drop the connection on purpose
                try:
                    raw = await asyncio.wait_for(ws.recv(), min(left, 0.5))
                except TimeoutError:
                    continue
                except websockets.ConnectionClosed as closed:
                    if closed.rcvd is not None:
                        self.refused[closed.rcvd.code] += 1
                    return
                self.receive(json.loads(raw))

    def receive(self, message: dict[str, Any]) -> None:
        if message.get("type") == "snapshot":
            seq = int(message["seq"])
            if self.seqs and max(self.seqs) > seq:  # events above it were lost
                self.history_changes += 1
                self.seqs = [s for s in self.seqs if s <= seq]
                self.snapshots = [s for s in self.snapshots if s <= seq]
            self.snapshots.append(seq)
            self.last_seq = seq
        elif "seq" in message:
            self.seqs.append(int(message["seq"]))
            self.last_seq = int(message["seq"])

    async def finish(self, head: int, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        """Connect once more with ``since`` and read up to ``head``."""
        deadline = time.monotonic() + timeout
        while (self.last_seq or 0) < head and time.monotonic() < deadline:
            with contextlib.suppress(OSError, websockets.WebSocketException, TimeoutError):
                async with websockets.connect(self.url, max_size=None, open_timeout=5) as ws:
                    hello = {"type": "hello", "token": self.token, "since": self.last_seq}
                    await ws.send(json.dumps(hello))
                    while (self.last_seq or 0) < head:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            return
                        self.receive(json.loads(await asyncio.wait_for(ws.recv(), left)))
            await asyncio.sleep(0.2)

    def missed_and_duplicated(self, head: int) -> tuple[int, int]:
        """Events after the first snapshot up to ``head`` never received (apart from
        those a fall-back snapshot stood in for), and events received twice."""
        if not self.snapshots:
            return head, 0
        got = Counter(self.seqs)
        duplicated = sum(n - 1 for n in got.values() if n > 1)
        covered = set(range(1, self.snapshots[0] + 1))
        # A later snapshot replaces what came before it; events it covers are not owed.
        for snap in self.snapshots[1:]:
            covered.update(range(1, snap + 1))
        missed = sum(1 for seq in range(1, head + 1) if seq not in covered and seq not in got)
        return missed, duplicated


# -- the run --------------------------------------------------------------------------------


def log_tails(
    log: Callable[[str], None], processes: Iterable[StockdProcess | None], chars: int = 3000
) -> None:
    """The last ``chars`` of each started process's log, for a run that failed."""
    for proc in processes:
        if proc is not None:
            log(f"--- {proc.name} log tail ---\n{proc.tail(chars)}")


def run_directory(workdir: Path | None, name: str) -> tuple[Path, bool]:
    """Where a run keeps its logs and spool: ``workdir`` (made if missing, kept after),
    or a new temporary directory; and whether it is the run's own (to remove at the end)."""
    work = workdir or Path(tempfile.mkdtemp(prefix=f"stockd-{name}-"))
    work.mkdir(parents=True, exist_ok=True)
    return work, workdir is None


def ledger_problems(lost: list[str], duplicated: list[str]) -> list[str]:
    """What a run's ledger shows wrong with the acknowledged scans (by lot): some are not
    in it, some are in it twice."""
    out = []
    if lost:
        out.append(f"{len(lost)} acknowledged scan(s) not in the ledger: {lost[:5]}")
    if duplicated:
        out.append(f"{len(duplicated)} scan(s) counted twice: {duplicated[:5]}")
    return out


@dataclass
class SoakReport:
    seconds: float
    sent: int
    acked: int
    naked: int
    unanswered: int
    ambiguous: int
    not_sent: int
    in_ledger: int
    lost: list[str]
    duplicated: list[str]
    phantom: list[str]
    naked_in_ledger: list[str]
    unanswered_in_ledger: int
    garbage_sent: int
    rejections_announced: int
    spool_exceptions: int
    """Real scans refused on replay: receives of known products never should be."""
    garbage_exceptions: int
    """Garbage taken as an alias code while offline (acked, spooled), refused on replay."""
    feed_head: int
    feed_gapless: bool
    display_missed: list[int]
    display_duplicated: list[int]
    display_reconnects: int
    display_fallback_snapshots: int
    verify_exit: int
    verify_output: str
    pg_restarts: int
    gateway_kills: int
    spooled_at_kill_during_outage: int
    stock_matches_ledger: bool
    web_restarts_for_stalled_feed: int
    strict: bool = True
    """A web node restarted because its feed stalled counts as a failure."""

    def problems(self) -> list[str]:
        out = []
        if self.strict and self.web_restarts_for_stalled_feed:
            out.append(
                f"the feed stalled while PostgreSQL was up; stockd web was restarted"
                f" {self.web_restarts_for_stalled_feed} time(s) (did its relay die?)"
            )
        out += ledger_problems(self.lost, self.duplicated)
        if self.phantom:
            out.append(f"{len(self.phantom)} ledger row(s) no one scanned: {self.phantom[:5]}")
        if self.naked_in_ledger:
            out.append(f"refused scans in the ledger: {self.naked_in_ledger[:5]}")
        if any(self.display_missed):
            out.append(f"displays missed events: {self.display_missed}")
        if any(self.display_duplicated):
            out.append(f"displays got events twice: {self.display_duplicated}")
        if not self.feed_gapless:
            out.append("the outbox's seq has gaps or unsequenced rows")
        if self.verify_exit != 0:
            out.append(f"stockd verify failed:\n{self.verify_output}")
        if self.spool_exceptions:
            out.append(f"{self.spool_exceptions} real scan(s) became spool exceptions")
        if not self.stock_matches_ledger:
            out.append("on-hand does not equal the number of receives in the ledger")
        if self.pg_restarts < 3 or self.gateway_kills < 3:
            out.append(f"faults: {self.pg_restarts} restarts, {self.gateway_kills} kills (< 3)")
        if self.acked == 0 or self.garbage_sent == 0:
            out.append("nothing was acknowledged or no garbage was sent")
        return out

    def render(self) -> str:
        missed = sum(self.display_missed)
        dups = sum(self.display_duplicated)
        verdict = (self.verify_output.strip().splitlines() or [""])[-1]
        lines = [
            f"soak: {self.seconds:.0f} s, {SCANNERS} scanners, {DISPLAYS} displays,"
            f" {self.pg_restarts} PostgreSQL restarts, {self.gateway_kills} gateway SIGKILLs",
            f"  scans sent         {self.sent:8d}   (+{self.not_sent} not sent: port gone)",
            f"  acknowledged       {self.acked:8d}",
            f"  refused (nak)      {self.naked:8d}",
            f"  unanswered         {self.unanswered:8d}   ({self.unanswered_in_ledger} of them"
            " in the ledger: committed, then the gateway died before the beep)",
            f"  ambiguous answers  {self.ambiguous:8d}",
            f"  in the ledger      {self.in_ledger:8d}",
            f"  lost (acked, not in ledger)   {len(self.lost):4d}",
            f"  duplicated (twice in ledger)  {len(self.duplicated):4d}",
            f"  phantom (never scanned)       {len(self.phantom):4d}",
            f"  garbage frames sent {self.garbage_sent}, rejections announced"
            f" {self.rejections_announced}; garbage acked offline as an alias code and"
            f" refused on replay (spool exceptions) {self.garbage_exceptions}",
            f"  spool exceptions from real scans {self.spool_exceptions}; acked scans only in"
            f" the spool when the gateway was killed during the outage"
            f" {self.spooled_at_kill_during_outage}",
            f"  feed: head seq {self.feed_head}, outbox gap-free {self.feed_gapless};"
            f" {self.display_reconnects} reconnects,"
            f" {self.display_fallback_snapshots} fall-back snapshots",
            f"  feed events missed per display: total {missed}, max"
            f" {max(self.display_missed, default=0)}; duplicated: total {dups}, max"
            f" {max(self.display_duplicated, default=0)}",
            f"  feed watchdog: stockd web restarted {self.web_restarts_for_stalled_feed}"
            " time(s) because its feed stalled"
            + ("" if self.strict else " (--allow-web-restart: not counted as a failure)"),
            f"  stockd verify: exit {self.verify_exit} ({verdict})",
        ]
        problems = self.problems()
        lines.append("  RESULT: " + ("all promises kept" if not problems else "BROKEN"))
        lines += [f"  - {p}" for p in problems]
        return "\n".join(lines)


async def load_warehouse(url: str, products: int) -> tuple[Warehouse, list[str], list[str]]:
    """Migrate the database at ``url`` and import a generated warehouse of ``products``
    products (a week of history); the warehouse, its GTIN-14s and its location codes."""
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    warehouse = build_warehouse(date.today(), products=products, weeks=1)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        service = StockService(pool)
        await service.import_locations(warehouse.locations_csv())
        await service.import_products(warehouse.products_csv())
    finally:
        await pool.close()
    gtins = [gtin14(p.gtin) for p in warehouse.products]
    return warehouse, gtins, [c for c, _, _ in warehouse.locations]


async def create_tokens(url: str, *named: tuple[str, Role]) -> list[str]:
    """A token for each ``(name, role)``, made in the database at ``url``."""
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    try:
        service = StockService(pool)
        return [(await service.create_token(name, role))[0] for name, role in named]
    finally:
        await pool.close()


async def _until(probe: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.2)


def _schedule(seconds: float, rng: random.Random) -> list[tuple[float, str]]:
    """When each fault happens, as fractions of the run jittered a little.

    Three PostgreSQL restarts; three gateway kills, the second while PostgreSQL is
    down. Fault windows never overlap except on purpose.
    """

    def at(fraction: float) -> float:
        return seconds * (fraction + rng.uniform(-0.02, 0.02))

    return sorted(
        [
            (at(0.14), "kill"),
            (at(0.30), "pg-down-fast"),
            (at(0.30) + 1.5, "kill-while-pg-down"),
            (at(0.30) + 4.0, "pg-up"),
            (at(0.55), "pg-restart-immediate"),
            (at(0.72), "kill"),
            (at(0.86), "pg-restart-fast"),
        ]
    )


async def run_soak(
    seconds: float = 300.0,
    *,
    seed: int = 7,
    workdir: Path | None = None,
    pace: float = 0.5,
) -> SoakReport:
    rng = random.Random(seed)
    work, own_dir = run_directory(workdir, "soak")
    _log(f"work directory {work}")
    cluster = await asyncio.to_thread(PrivateCluster.create)
    url = await cluster.create_database("soak")
    scanners: list[PtyScanner] = []
    workers: list[Worker] = []
    displays: list[Display] = []
    tasks: list[asyncio.Task[None]] = []
    stop_scans, stop_displays = asyncio.Event(), asyncio.Event()
    web: StockdProcess | None = None
    gateway: StockdProcess | None = None
    kills = 0
    spooled_at_kill = 0
    watcher: asyncio.Task[None] | None = None
    spool_dir = work / "spool"
    try:
        _, gtins, locations = await load_warehouse(url, products=40)
        (token,) = await create_tokens(url, ("soak-displays", Role.DISPLAY))
        for i in range(SCANNERS):
            scanners.append(await PtyScanner.create(work / f"tty-{i:02d}", name=f"k{i:02d}"))
        lines = [
            ScannerLine(id=s.name, url=str(s.path), location=rng.choice(locations))
            for s in scanners
        ]
        config = write_config(
            work / "stockd.toml",
            scanners=lines,
            spool_dir=work / "spool",
            web_port=free_port(),  # fixed, so a restarted web node is found again
        )
        common: dict[str, Any] = {"database_url": url, "home": work / "home", "log_dir": work}
        web = StockdProcess("web", config, name="web", **common)
        gateway = StockdProcess("gateway", config, name="gateway", **common)
        await web.start()
        await gateway.start()
        assert web.url is not None
        feed_url = web.feed_url
        workers = [
            Worker(s, gtins, random.Random(rng.random()), pace, noisy=i == NOISY)
            for i, s in enumerate(scanners)
        ]
        displays = [
            Display(feed_url, token, random.Random(rng.random()), mean_up=max(2.0, seconds / 15))
            for _ in range(DISPLAYS)
        ]
        tasks += [asyncio.create_task(d.run(stop_displays)) for d in displays]
        await asyncio.sleep(1.0)
        tasks += [asyncio.create_task(w.run(stop_scans)) for w in workers]
        watchdog = FeedWatchdog(url, cluster, web)
        watch_stop = asyncio.Event()
        watcher = asyncio.create_task(watchdog.run(watch_stop))
        start = time.monotonic()
        for when, what in _schedule(seconds, rng):
            await asyncio.sleep(max(0.0, start + when - time.monotonic()))
            _log(f"t={time.monotonic() - start:5.1f}s {what}")
            if what.startswith("kill"):
                await gateway.kill()
                kills += 1
                if what == "kill-while-pg-down":
                    with contextlib.suppress(OSError):
                        spooled_at_kill = await asyncio.to_thread(spooled_count, spool_dir)
                await asyncio.sleep(rng.uniform(0.3, 1.0))
                await gateway.start()
            elif what == "pg-down-fast":
                await cluster.astop("fast")
            elif what == "pg-up":
                await cluster.astart()
                cluster.restarts += 1
            elif what.startswith("pg-restart"):
                mode = "immediate" if what.endswith("immediate") else "fast"
                await cluster.astop(mode)
                await asyncio.sleep(rng.uniform(2.0, 4.0))
                await cluster.astart()
                cluster.restarts += 1
        await asyncio.sleep(max(0.0, start + seconds - time.monotonic()))
        _log("stopping the scanners; waiting for the spool to drain")
        stop_scans.set()
        await asyncio.gather(*tasks[DISPLAYS:])
        await _until(
            lambda: asyncio.to_thread(lambda: spooled_count(spool_dir) == 0),
            60,
            "spool drained",
        )
        elapsed = time.monotonic() - start
        await asyncio.sleep(1.0)  # the gateway's last scanner.status events
        head = await feed_head(url)
        watch_stop.set()
        await watcher
        _log(f"feed head {head}; displays catching up")
        stop_displays.set()
        await asyncio.gather(*tasks[:DISPLAYS])
        await asyncio.gather(*(d.finish(head) for d in displays))
        if (await gateway.stop(signal.SIGTERM)) != 0:
            _log("gateway did not exit cleanly:\n" + gateway.tail())
        return await _report(
            url,
            work,
            workers,
            displays,
            head,
            elapsed=elapsed,
            pg_restarts=cluster.restarts,
            kills=kills,
            spooled_at_kill=spooled_at_kill,
            web_restarts=watchdog.restarts,
        )
    except BaseException:
        log_tails(_log, (gateway, web))
        raise
    finally:
        stop_scans.set()
        stop_displays.set()
        if watcher is not None:
            tasks.append(watcher)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for proc in (gateway, web):
            if proc is not None and proc.running:
                await proc.stop(signal.SIGKILL)
        for s in scanners:
            await s.aclose()
        await asyncio.to_thread(cluster.destroy)
        if own_dir:
            shutil.rmtree(work, ignore_errors=True)


class FeedWatchdog:
    """Notices a web node whose feed stopped, and restarts it so the soak goes on.

    Until 5d91c6f the outbox relay of ``stockd web`` could die for good after a
    PostgreSQL restart (``OutboxRelay._listen`` called ``is_closed()`` on a pool
    connection the pool had already taken back, and the ``InterfaceError`` ended the
    task), and no event was published again. When rows stay unsequenced for
    ``patience`` seconds while PostgreSQL is up, the watchdog restarts the web node
    (displays reconnect with ``since``) and counts it, so the rest of the run still
    checks everything else; any such restart fails the soak unless
    ``--allow-web-restart`` is given.
    """

    def __init__(self, url: str, cluster: PrivateCluster, web: StockdProcess) -> None:
        self.url = url
        self.cluster = cluster
        self.web = web
        self.patience = 6.0
        self.restarts = 0
        self.paused = False

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(1.0)
            if self.paused or not self.cluster.running:
                continue
            try:
                conn = await asyncpg.connect(self.url, timeout=2)
                try:
                    age = await conn.fetchval(
                        "SELECT extract(epoch FROM clock_timestamp() - min(ts))"
                        " FROM outbox o WHERE NOT EXISTS"
                        " (SELECT FROM feed f WHERE f.outbox_id = o.id)"
                    )
                finally:
                    await conn.close()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                continue
            if age is not None and float(age) > self.patience and self.cluster.running:
                _log(f"feed stalled ({float(age):.1f} s unsequenced): restarting stockd web")
                tail = self.web.tail(6000)
                if "InterfaceError" in tail:
                    _log("web log: " + tail[tail.rfind("InterfaceError") - 200 :][:400])
                with contextlib.suppress(RuntimeError):
                    await self.web.stop(timeout=5)
                await self.web.start()
                self.restarts += 1


async def _report(
    url: str,
    work: Path,
    workers: list[Worker],
    displays: list[Display],
    head: int,
    *,
    elapsed: float,
    pg_restarts: int,
    kills: int,
    spooled_at_kill: int,
    web_restarts: int,
) -> SoakReport:
    conn = await asyncpg.connect(url)
    try:
        lots = Counter(
            r["lot"]
            for r in await conn.fetch("SELECT lot FROM movements WHERE scanner IS NOT NULL")
        )
        seq = await conn.fetchrow(
            "SELECT count(*) AS n, coalesce(min(seq), 1) AS lo, coalesce(max(seq), 0) AS hi,"
            " (SELECT count(*) FROM outbox) - count(*) AS unsequenced FROM feed"
        )
        assert seq is not None
        rejections = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE type = 'scan.rejected' AND payload->>'scanner' = $1",
            workers[NOISY].name,
        )
        sent_lots = [lot for w in workers for lot in w.sent]
        exceptions = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE command->'command'->>'lot' = ANY($1)) AS real,"
            " count(*) AS total FROM spool_exceptions",
            sent_lots,
        )
        assert exceptions is not None
        on_hand = await conn.fetchval("SELECT coalesce(sum(on_hand), 0) FROM stock")
        receives = await conn.fetchval("SELECT coalesce(sum(delta), 0) FROM movements")
    finally:
        await conn.close()
    sent = {lot for w in workers for lot in w.sent}
    acked = {lot for w in workers for lot in w.acked}
    naked = {lot for w in workers for lot in w.naked}
    unanswered = {lot for w in workers for lot in w.unanswered}
    verify_exit, verify_output = await stockd_verify(url, work / "home")
    missed, dups = zip(*(d.missed_and_duplicated(head) for d in displays), strict=True)
    return SoakReport(
        seconds=elapsed,
        sent=len(sent),
        acked=len(acked),
        naked=len(naked),
        unanswered=len(unanswered),
        ambiguous=sum(len(w.ambiguous) for w in workers),
        not_sent=sum(w.not_sent for w in workers),
        in_ledger=sum(lots.values()),
        lost=sorted(acked - set(lots)),
        duplicated=sorted(lot for lot, n in lots.items() if n > 1),
        phantom=sorted(set(lots) - sent),
        naked_in_ledger=sorted(naked & set(lots)),
        unanswered_in_ledger=len(unanswered & set(lots)),
        garbage_sent=sum(w.garbage_sent for w in workers),
        rejections_announced=int(rejections),
        spool_exceptions=int(exceptions["real"]),
        garbage_exceptions=int(exceptions["total"] - exceptions["real"]),
        feed_head=head,
        feed_gapless=seq["unsequenced"] == 0 and seq["hi"] - seq["lo"] + 1 == seq["n"],
        display_missed=list(missed),
        display_duplicated=list(dups),
        display_reconnects=sum(d.reconnects for d in displays),
        display_fallback_snapshots=sum(max(0, len(d.snapshots) - 1) for d in displays),
        verify_exit=verify_exit,
        verify_output=verify_output,
        pg_restarts=pg_restarts,
        gateway_kills=kills,
        spooled_at_kill_during_outage=spooled_at_kill,
        stock_matches_ledger=on_hand == receives,
        web_restarts_for_stalled_feed=web_restarts,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep logs and spool in this directory")
    parser.add_argument(
        "--allow-web-restart",
        action="store_true",
        help="do not fail when the watchdog had to restart a web node whose feed stalled",
    )
    args = parser.parse_args(argv)
    report = asyncio.run(run_soak(args.seconds, seed=args.seed, workdir=args.keep))
    report.strict = not args.allow_web_restart
    print(report.render(), flush=True)
    return 1 if report.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
