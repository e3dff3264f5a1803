"""Scan throughput end to end: 256 scanners on ptys -> ``stockd gateway`` -> PostgreSQL
-> ``stockd web`` -> a feed client, against two one-transaction-per-scan ceilings.

Why 256: a closed-loop scanner has one scan in flight, so by Little's law N scanners
cap throughput at N / (time per scan). With 64 scanners and a ~3 ms fsync per commit
that cap is ~21k scans/s whatever the code does; more to the point, group commit can
only batch what is in flight. 256 scanners (or an open loop) leave the gateway, not
the load, as the limit. The load generator stays cheap: one process, no threads,
each scanner a real pty driven from the event loop (``LoopPty``); its CPU share is
printed (``cpu.bench``) and a run where it nears one core says so.

Load (``--scanners``, default 256): 60 % of the scanners receive and 40 % pick, each
at its own location (the warehouse's 42, round robin), in the mode and location set
by its ``[[scanners]]`` table. Each scanner repeats a shuffled cycle of 20 scans:

* receivers: 16 of their own SKU (EAN-13, ``]E0``), 2 of the 3 hot SKUs shared by
  every scanner, 2 GS1-128 (``]C1``) with a lot (AI 10) and an expiry (AI 17), one
  of them lot first (``10<lot><GS>01<gtin14>17<date>``);
* pickers: 12 of their own SKU (first expiry first), 2 of a hot SKU, 2 of their own
  lot in GS1-128 (``01<gtin14>10<lot>`` and ``10<lot><GS>01<gtin14>``), and 4 that
  must be refused for lack of stock (3 of a product never stocked there, 1 of a lot
  that does not exist): the scanner must hear a nak for exactly these.

Overall about 60 % receives, 32 % picks, 8 % refusals; 12 % carry a lot; 10 % hit
the 3 hot SKUs. The catalog comes in through the product's CSV import; the pickers'
stock (own SKU, own lot, hot SKUs at their locations) is received once through
``StockService.post_batch`` before the first phase.

Closed loop (default): each scanner scans, waits for its beep, scans again.
``--open-loop RATE``: scans go out at RATE per second in all, spread evenly over the
scanners on a fixed schedule, without waiting for the beep, but never more than
``--window`` (default 8) unanswered per scanner: a pty buffer holds a few KiB, and
the gateway stops reading a busy port (backpressure) rather than dropping. A scan
that finds its scanner's window full waits and goes out late (counted); none goes out
after the phase's end. Either way the bench process's CPU is printed (``cpu.bench``,
a few % of a core here): the figure is the gateway's, not the load generator's.

Baselines (same run, same database, 32 connections, one transaction after another on
each, on copies of the product's tables so its ledger stays consistent):

* plain: one ``UPDATE`` of a stock row + one ledger ``INSERT`` (issue 7's loop);
* scan work: the same work as a scan, statement by statement: the idempotency key
  (``INSERT ... ON CONFLICT DO NOTHING``), the stock ``UPDATE``, the ledger
  ``INSERT`` (with movements' foreign keys) and an outbox ``INSERT`` with a jsonb
  payload.

Then the gateway with group commit off and on. The figure is scans answered (ack or
nak) per second at the scanners in the measured window, after a warm-up; movements
per second reaching the feed client are printed too. Afterwards it must be exact:
acknowledged scans = idempotency keys with ledger rows from the run, ledger rows =
``stock.changed`` events at the feed client, naks = refusals sent = rejected keys,
and ``stockd verify``'s checks hold at the end. Targets (issue 11, against the plain
loop): >= 0.7x with group commit off, >= 3x with it on (a goal). A figure that
misses says so, with where the time goes: CPU per scan of each process, what the
database backends wait for, and with ``--statements`` pg_stat_statements
(statements and executor time per scan); ``--profile`` adds py-spy stacks.

    python benchmarks/bench_throughput.py [--quick] [--seconds 10] [--scanners 256]
        [--open-loop RATE [--window 8]] [--statements] [--profile] [--diagnose]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections import Counter
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta
from pathlib import Path
from typing import Any

from ceiling import raw_ceiling
from feed_client import FeedClient
from figures import CpuMeter
from figures import machine_facts
from figures import percentiles
from figures import verdict
from figures import write_results
from loop_pty import LoopPty
from processes import forecaster_settled
from processes import profile_summary
from processes import remove_run_dir
from processes import start_profile
from processes import tear_down
from processes import wait_connected
from scratch_db import BenchDatabase
from scratch_db import WaitSampler
from scratch_db import bench_database
from scratch_db import postmaster_pid
from scratch_db import statements_reset
from scratch_db import statements_top

from hardware_mocks.feedback import Feedback
from hardware_mocks.frames import HONEYWELL
from hardware_mocks.frames import Aim
from hardware_mocks.frames import gs1_date
from hardware_mocks.frames import gs1_element_string
from hardware_mocks.frames import gtin14
from hardware_mocks.warehouse import DemoProduct
from hardware_mocks.warehouse import Warehouse
from scanner_gateway.decoded import ProductScan
from scanner_gateway.spool import pending_records
from scanner_gateway.symbology import decode
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.errors import StockRejection
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from tests.cluster import ScannerLine
from tests.cluster import StockdProcess
from tests.cluster import write_config

NAME = "throughput"
WORKLOAD = "v2: 60/32/8 receive/pick/refused, 12% lots, 10% on 3 hot SKUs (issue 11)"
HOT_SKUS = 3
CYCLE = 20
SEED_UNITS = 100_000
ANSWER_GRACE = 30.0
"""Seconds after the last send by which every scan must have been answered."""
_BENCH_NOTIFY = """
CREATE OR REPLACE FUNCTION bench_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bench_notify', '');
    RETURN NULL;
END $$
"""


# -- the workload -------------------------------------------------------------------------


@dataclass(frozen=True)
class Scan:
    """One scan of a script: the frame sent and what the store should make of it."""

    frame: bytes
    kind: str
    """``receive``, ``pick`` or ``refused`` (a pick the store must refuse)."""
    lot: bool = False
    hot: bool = False


@dataclass(frozen=True)
class ScannerPlan:
    """One scanner's part of the workload: its mode and location, the script it loops."""

    index: int
    mode: str
    location: str
    script: tuple[Scan, ...]
    warmup: bytes
    """A scan that is always accepted (own SKU, plain)."""


@dataclass(frozen=True)
class Workload:
    scanners: tuple[ScannerPlan, ...]
    seeds: tuple[Envelope, ...]


def is_picker(index: int) -> bool:
    return index % 5 in (3, 4)


def products_needed(scanners: int) -> int:
    """Hot SKUs, one SKU per scanner, one never-stocked SKU per picker."""
    return HOT_SKUS + scanners + sum(1 for i in range(scanners) if is_picker(i))


def _plain(product: DemoProduct) -> bytes:
    return HONEYWELL.frame(product.gtin)  # ]E0 + EAN-13


def _gs1(ais: Sequence[tuple[str, str]]) -> bytes:
    return HONEYWELL.frame(gs1_element_string(ais), aim=Aim.GS1_128.value)


def build_workload(warehouse: Warehouse, scanners: int) -> Workload:
    products = warehouse.products
    if len(products) < products_needed(scanners):
        raise ValueError(f"{scanners} scanners need {products_needed(scanners)} products")
    hot = products[:HOT_SKUS]
    own = products[HOT_SKUS : HOT_SKUS + scanners]
    empty = iter(products[HOT_SKUS + scanners :])
    locations = [code for code, _, _ in warehouse.locations]
    plans: list[ScannerPlan] = []
    seeds: list[Envelope] = []
    seeded_hot: set[tuple[str, str]] = set()

    def seed(product: DemoProduct, location: str, lot: str | None, expiry: date | None) -> None:
        command = Receive(
            product=ProductRef(sku=Sku(product.sku)),
            location=LocationCode(location),
            quantity=SEED_UNITS,
            lot=lot,
            expiry=expiry,
        )
        key = IdempotencyKey(f"bench-seed:{len(seeds)}")
        seeds.append(Envelope(key=key, command=command, actor="bench:seed"))

    for i in range(scanners):
        mine = own[i]
        location = locations[i % len(locations)]
        g14 = gtin14(mine.gtin)
        hot_frames = [_plain(hot[(i + k) % HOT_SKUS]) for k in range(2)]
        if not is_picker(i):
            expiry = gs1_date(date(2031, 1, 1) + timedelta(days=i))
            lots = [f"R{i:03d}-{k}" for k in range(2)]
            scans = [Scan(_plain(mine), "receive") for _ in range(16)]
            scans += [Scan(frame, "receive", hot=True) for frame in hot_frames]
            scans += [
                Scan(_gs1([("01", g14), ("17", expiry), ("10", lots[0])]), "receive", lot=True),
                Scan(_gs1([("10", lots[1]), ("01", g14), ("17", expiry)]), "receive", lot=True),
            ]
            mode = "receive"
        else:
            lot = f"P{i:03d}"
            nothing = next(empty)
            scans = [Scan(_plain(mine), "pick") for _ in range(12)]
            scans += [Scan(frame, "pick", hot=True) for frame in hot_frames]
            scans += [
                Scan(_gs1([("01", g14), ("10", lot)]), "pick", lot=True),
                Scan(_gs1([("10", lot), ("01", g14)]), "pick", lot=True),
            ]
            scans += [Scan(_plain(nothing), "refused") for _ in range(3)]
            scans += [Scan(_gs1([("01", g14), ("10", f"NONE{i:03d}")]), "refused", lot=True)]
            mode = "pick"
            seed(mine, location, None, None)
            seed(mine, location, lot, date(2031, 6, 1))
            for product in hot:
                if (product.sku, location) not in seeded_hot:
                    seeded_hot.add((product.sku, location))
                    seed(product, location, None, None)
        assert len(scans) == CYCLE
        random.Random(f"throughput:{i}").shuffle(scans)
        plans.append(ScannerPlan(i, mode, location, tuple(scans), _plain(mine)))
    _check_frames(plans)
    return Workload(tuple(plans), tuple(seeds))


def _check_frames(plans: Sequence[ScannerPlan]) -> None:
    """Every frame decodes to a product scan, as the gateway will decode it."""
    seen: set[bytes] = set()
    for plan in plans:
        for scan in (*plan.script, Scan(plan.warmup, plan.mode)):
            if scan.frame in seen:
                continue
            seen.add(scan.frame)
            decoded = decode(scan.frame.rstrip(b"\r\n"))
            if not isinstance(decoded, ProductScan) or (decoded.lot is not None) != scan.lot:
                raise AssertionError(f"{scan.frame!r} decodes to {decoded!r}")


async def seed_stock(db: BenchDatabase, workload: Workload) -> int:
    """Receive the pickers' stock through the product's own write path."""
    service = db.service
    for start in range(0, len(workload.seeds), 100):
        outcomes = await service.post_batch(workload.seeds[start : start + 100])
        refused = [o for o in outcomes if isinstance(o, StockRejection)]
        if refused:
            raise RuntimeError(f"seeding stock was refused: {refused[0]}")
    return len(workload.seeds)


# -- driving the scanners ---------------------------------------------------------------------


@dataclass
class Tally:
    """What the scanners saw; ``t0``/``t1`` bound the measured window (perf_counter)."""

    t0: float = float("inf")
    t1: float = float("inf")
    sent: Counter[str] = field(default_factory=Counter)
    acks_in_window: int = 0
    naks_in_window: int = 0
    acks: int = 0
    naks: int = 0
    refusals_answered: int = 0
    unexpected_naks: int = 0
    refusals_acked: int = 0
    late: int = 0
    latencies: list[float] = field(default_factory=list)

    def answered(self, scan: Scan, kind: Feedback, sent_at: float, answered_at: float) -> None:
        nak = kind is Feedback.NAK
        refused = scan.kind == "refused"
        if nak:
            self.naks += 1
        else:
            self.acks += 1
        if refused:
            self.refusals_answered += 1
        if nak and not refused:
            self.unexpected_naks += 1
        elif refused and not nak:
            self.refusals_acked += 1
        if self.t0 <= answered_at <= self.t1:
            if nak:
                self.naks_in_window += 1
            else:
                self.acks_in_window += 1
            self.latencies.append(answered_at - sent_at)


async def drive(
    pty: LoopPty,
    script: Sequence[Scan],
    tally: Tally,
    *,
    start: float,
    end: float,
    period: float | None,
    window: int,
) -> None:
    """One scanner: ``script`` round and round from loop time ``start`` to ``end``.

    ``period`` None: closed loop (next scan when the window has room); else one scan
    every ``period`` seconds from ``start``, waiting (late) when ``window`` scans
    are unanswered.
    """
    loop = asyncio.get_running_loop()
    inflight: deque[tuple[asyncio.Future[tuple[Feedback, float]], Scan, float]] = deque()
    n = 0
    due = start

    async def settle() -> None:
        future, scan, sent_at = inflight.popleft()
        kind, answered_at = await future
        tally.answered(scan, kind, sent_at, answered_at)

    if due > loop.time():
        await asyncio.sleep(due - loop.time())
    while True:
        if period is None:
            if loop.time() >= end:
                break
        else:
            if due >= end or loop.time() >= end:
                break  # a backlog of late scans is not sent after the end
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif -delay > period:
                tally.late += 1
            due += period
        while len(inflight) >= window:
            await settle()
        if loop.time() >= end:
            break
        scan = script[n % len(script)]
        n += 1
        tally.sent[scan.kind] += 1
        if scan.lot:
            tally.sent["lot"] += 1
        if scan.hot:
            tally.sent["hot"] += 1
        inflight.append((pty.submit(scan.frame), scan, time.perf_counter()))
    while inflight:
        await settle()


# -- one gateway phase ----------------------------------------------------------------------


async def run_gateway_phase(
    db: BenchDatabase,
    tmp: Path,
    workload: Workload,
    *,
    group_commit: bool,
    seconds: float,
    warmup: float,
    pool_size: int,
    open_loop: float | None,
    window: int,
    profile: bool = False,
    label: str | None = None,
    commit_workers: int | None = None,
) -> dict[str, Any]:
    label = label or ("on" if group_commit else "off")
    work = tmp / f"gc-{label}"
    work.mkdir()
    plans = workload.scanners
    scanners = len(plans)
    ptys = [LoopPty(work / f"tty{i:03d}") for i in range(scanners)]
    lines = [
        ScannerLine(
            id=f"{label}-{p.index:03d}", url=str(pty.path), mode=p.mode, location=p.location
        )
        for p, pty in zip(plans, ptys, strict=True)
    ]
    config = write_config(
        work / "stockd.toml",
        scanners=lines,
        spool_dir=work / "spool",
        group_commit=group_commit,
        pool_size=pool_size,
        commit_workers=commit_workers,
    )
    common: dict[str, Any] = {"database_url": db.url, "home": work / "home", "log_dir": work}
    gateway = StockdProcess("gateway", config, name="gateway", **common)
    web = StockdProcess("web", config, name="web", **common)
    assert db.pool is not None
    display: FeedClient | None = None
    try:
        await web.start()
        await gateway.start()
        await forecaster_settled(web)
        assert web.url is not None
        feed_times: list[float] = []

        def on_message(_c: FeedClient, data: bytes, now: float) -> None:
            if b'"type":"stock.changed"' in data[:60]:
                feed_times.append(now)

        token = await db.token("display", f"bench-{label}")
        display = FeedClient(token, on_message=on_message)
        host, port = web.url.removeprefix("http://").rsplit(":", 1)
        await display.open(host, int(port))
        # Every scanner connected and answered once: pools and caches filled.
        await wait_connected(db, [line.id for line in lines], timeout=30 + scanners / 10)
        await asyncio.gather(
            *(pty.answered_scan(p.warmup) for p, pty in zip(plans, ptys, strict=True))
        )
        await asyncio.sleep(0.2)
        warm_acks = sum(pty.acks for pty in ptys)
        warm_naks = sum(pty.naks for pty in ptys)

        loop = asyncio.get_running_loop()
        tally = Tally()
        begin = loop.time() + 0.1
        end = begin + warmup + seconds
        period = scanners / open_loop if open_loop else None
        drivers = [
            asyncio.create_task(
                drive(
                    pty,
                    plan.script,
                    tally,
                    start=begin + (period * i / scanners if period else 0.0),
                    end=end,
                    period=period,
                    window=window if period else 1,
                )
            )
            for i, (plan, pty) in enumerate(zip(plans, ptys, strict=True))
        ]
        await asyncio.sleep(begin + warmup - loop.time())
        cpu = CpuMeter(gateway=gateway.pid, web=web.pid, **_pg(db))
        profilers = [
            await start_profile(proc, work / f"{proc.name}.pyspy.txt", seconds)
            for proc in ((gateway, web) if profile else ())
        ]
        waits = WaitSampler(db)
        await statements_reset(db)
        waits.start()
        cpu.start()
        tally.t0 = time.perf_counter()
        await asyncio.sleep(end - loop.time())
        tally.t1 = time.perf_counter()
        usage = cpu.stop()
        backends = await waits.stop()
        answered_in_window = tally.acks_in_window + tally.naks_in_window
        statements = await statements_top(db, answered_in_window)
        done, stuck = await asyncio.wait(drivers, timeout=ANSWER_GRACE)
        for task in stuck:
            task.cancel()
        for task in done:
            task.result()
        unanswered = sum(pty.in_flight for pty in ptys)
        for profiler in profilers:
            await profiler.wait()
        window_s = tally.t1 - tally.t0
        label_like = f"{label}-%"

        # Scans the gateway spooled (acknowledged, not yet in the ledger) are replayed
        # in the background: wait for its spool to drain before counting.
        def spooled_records() -> int:
            return len(pending_records(work / "spool"))

        deadline = time.monotonic() + ANSWER_GRACE
        while time.monotonic() < deadline:
            if not spooled_records():
                break
            await asyncio.sleep(0.25)
        spool_exceptions = await db.pool.fetchval(
            "SELECT count(*) FROM spool_exceptions WHERE key LIKE $1", label_like
        )
        counts = await db.pool.fetchrow(
            "SELECT count(*) AS rows, count(DISTINCT idempotency_key) AS keys"
            " FROM movements WHERE scanner LIKE $1",
            label_like,
        )
        assert counts is not None
        rejected = await db.pool.fetchval(
            "SELECT count(*) FROM idempotency_keys WHERE rejection IS NOT NULL AND key LIKE $1",
            label_like,
        )
        # Let the feed catch up, then check nothing was lost or counted twice.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if len(feed_times) >= counts["rows"]:
                break
            await asyncio.sleep(0.05)
        gateway_counters = await db.pool.fetchrow(
            "SELECT coalesce(sum((counters->>'overflow')::int), 0) AS overflow,"
            " coalesce(sum((counters->>'spooled')::int), 0) AS spooled,"
            " coalesce(sum((counters->>'suppressed')::int), 0) AS suppressed"
            " FROM scanner_states WHERE id LIKE $1",
            label_like,
        )
        assert gateway_counters is not None
        acked_total = sum(pty.acks for pty in ptys)
        naks_total = sum(pty.naks for pty in ptys)
        expected_naks = tally.refusals_answered
        checks = {
            # A spooled scan was acknowledged; if its replay is refused, it is kept as a
            # spool exception (and its key as rejected) instead of reaching the ledger.
            "acked = ledger keys + spool exceptions": acked_total
            == counts["keys"] + spool_exceptions,
            "ledger rows = feed events": len(feed_times) == counts["rows"],
            "naks = refusals sent": naks_total - warm_naks == expected_naks
            and tally.unexpected_naks == 0
            and tally.refusals_acked == 0,
            "naks + spool exceptions = rejected keys": naks_total + spool_exceptions == rejected,
            "every scan answered": unanswered == 0 and not stuck,
            "nothing spooled or dropped": gateway_counters["spooled"] == 0
            and spooled_records() == 0
            and gateway_counters["overflow"] == 0,
        }
        last_ack = max((a for _, a in (pty.answers[-1] for pty in ptys if pty.answers)), default=0)
        sent_total = sum(v for k, v in tally.sent.items() if k in ("receive", "pick", "refused"))
        scans_per_s = answered_in_window / window_s
        return {
            "group_commit": group_commit,
            "commit_workers": commit_workers,
            "scanners": scanners,
            "load": f"open loop {open_loop:g} scans/s, window {window}"
            if open_loop
            else "closed loop",
            "pool_size": pool_size,
            "seconds": round(window_s, 2),
            "scans_per_s": round(scans_per_s, 1),
            "acks_per_s": round(tally.acks_in_window / window_s, 1),
            "naks_per_s": round(tally.naks_in_window / window_s, 1),
            "feed_stock_changed_per_s": round(
                sum(1 for t in feed_times if tally.t0 <= t <= tally.t1) / window_s, 1
            ),
            "scan_latency_ms": percentiles(tally.latencies),
            "in_flight_by_littles_law": round(
                scans_per_s * (sum(tally.latencies) / max(len(tally.latencies), 1)), 1
            ),
            "mix_sent": {
                k: round(v / max(sent_total, 1), 3) for k, v in sorted(tally.sent.items())
            },
            "sent_total": sent_total,
            "late_sends": tally.late,
            "acked_total": acked_total,
            "warmup_scans": warm_acks + warm_naks,
            "naks": naks_total,
            "refusals_sent": expected_naks,
            "unexpected_naks": tally.unexpected_naks,
            "refusals_acked": tally.refusals_acked,
            "unanswered": unanswered,
            "ledger_keys": counts["keys"],
            "ledger_rows": counts["rows"],
            "rejected_keys": rejected,
            "spool_exceptions": spool_exceptions,
            "feed_stock_changed_total": len(feed_times),
            "feed_lag_after_last_ack_ms": round((max(feed_times) - last_ack) * 1000, 1)
            if feed_times and last_ack
            else None,
            "gateway_counters": dict(gateway_counters),
            "checks": checks,
            "exact": all(checks.values()),
            "cpu_cores": usage,
            "cpu_ms_per_scan": _per_unit(usage, scans_per_s),
            "db_backends": backends,
            "statements": statements,
            "spool_records_left": spooled_records(),
            "gateway_warnings": [
                line for line in gateway.tail(20000).splitlines() if " WARNING " in line
            ][:5],
            "profile_gateway": profile_summary(work / "gateway.pyspy.txt")
            if (work / "gateway.pyspy.txt").exists()
            else None,
        }
    finally:
        await tear_down((gateway, web), displays=[display], ptys=ptys)


def _per_unit(usage: dict[str, float], per_s: float) -> dict[str, float]:
    """CPU milliseconds per scan (or transaction) of each process."""
    keys = ("gateway", "gateway.kernel", "web", "postgres", "bench")
    return {k: round(usage[k] / per_s * 1000, 3) for k in keys if k in usage and per_s > 0}


async def _ceiling(
    db: BenchDatabase, args: argparse.Namespace, *, work: str, notify: bool = False
) -> dict[str, Any]:
    cpu = CpuMeter(**_pg(db))
    waits = WaitSampler(db)
    await statements_reset(db)
    waits.start()
    cpu.start()
    result = await raw_ceiling(
        db.url,
        concurrency=args.concurrency,
        seconds=args.seconds,
        warmup=0.5 if args.quick else 1.0,
        notify=notify,
        work=work,
    )
    result["cpu_cores"] = cpu.stop()
    result["db_backends"] = await waits.stop()
    result["cpu_ms_per_tx"] = _per_unit(result["cpu_cores"], result["tx_per_s"])
    # The statistics include the warm-up second: per transaction, near enough.
    result["statements"] = await statements_top(
        db, result["tx_per_s"] * (args.seconds + (0.5 if args.quick else 1.0)), limit=5
    )
    return result


def _pg(db: BenchDatabase) -> dict[str, int]:
    pid = postmaster_pid(db)
    return {"postgres": pid} if pid else {}


def _ms(per: dict[str, float]) -> str:
    parts = []
    for k, v in per.items():
        if k == "gateway.kernel":
            continue
        kernel = per.get(f"{k}.kernel")
        parts.append(f"{k} {v:.3f}" + (f" (kernel {kernel:.3f})" if kernel is not None else ""))
    return ", ".join(parts) + " ms"


def _statements_line(st: dict[str, Any], unit: str) -> str:
    if not st:
        return ""
    top = "; ".join(
        f"{s['share']:.0%} {s['query'][:60]} ({s['calls_per_unit']:g}/{unit}, {s['mean_ms']} ms"
        f" + plan {s.get('plan_ms_per_call', 0)} ms)"
        for s in st["top"][:5]
    )
    return (
        f"    pg_stat_statements: {st['statements_per_unit']} statements and"
        f" {st['exec_ms_per_unit']:.3f} ms of executor time and"
        f" {st.get('plan_ms_per_unit', 0):.3f} ms of planning per {unit}; {top}"
    )


def _where_time_goes(phase: dict[str, Any], plain: dict[str, Any], cpus: int) -> str:
    """One sentence on the likely limit of a phase that missed its target."""
    cpu = phase["cpu_cores"]
    per = phase["cpu_ms_per_scan"]
    base = plain["cpu_ms_per_tx"]
    notes = [
        f"a scan costs {per.get('gateway', 0):.2f} ms of gateway CPU,"
        f" {per.get('postgres', 0):.2f} ms of PostgreSQL and {per.get('web', 0):.2f} ms of web"
        f" against {base.get('postgres', 0):.2f} ms of PostgreSQL + {base.get('bench', 0):.2f} ms"
        " of client per plain transaction"
    ]
    if cpu.get("machine", 0) >= 0.9 * cpus:
        notes.append(f"the machine is CPU-bound ({cpu['machine']} of {cpus} cores busy)")
    if cpu.get("gateway", 0) >= 0.85:
        notes.append(f"the gateway process is near one core ({cpu['gateway']}): its GIL")
    if cpu.get("bench", 0) >= 0.8:
        notes.append(f"the load generator is near one core ({cpu['bench']}): suspect it")
    if cpu.get("other", 0) >= 0.3:
        notes.append(f"other work used {cpu['other']} cores")
    waiting = sum(v for k, v in phase["db_backends"].items() if "ClientRead" in k)
    if waiting >= 1:
        notes.append(f"{waiting:.1f} backends on average wait for the gateway's next statement")
    return "; ".join(notes)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s phases, 64 scanners")
    parser.add_argument("--seconds", type=float, help="measured seconds per phase (10)")
    parser.add_argument("--scanners", type=int, help="simulated scanners (256)")
    parser.add_argument("--warmup", type=float, help="seconds of load before measuring (3)")
    parser.add_argument(
        "--open-loop",
        type=float,
        metavar="RATE",
        help="send RATE scans/s in all on a schedule instead of waiting for each beep",
    )
    parser.add_argument(
        "--window", type=int, default=8, help="open loop: unanswered scans per scanner, at most"
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--pool-size", type=int, default=32)
    parser.add_argument("--only", choices=("off", "on", "w1", "w4"), help="run one gateway phase")
    parser.add_argument("--keep", action="store_true", help="keep the logs' directory")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the gateway and web (implies --keep)"
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="pg_stat_statements per phase (a private cluster on binaries that ship it)",
    )
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="also group commit with commit_workers = 1 and 4, and the plain loop with NOTIFY",
    )
    args = parser.parse_args()
    args.seconds = args.seconds or (5.0 if args.quick else 10.0)
    args.scanners = args.scanners or (64 if args.quick else 256)
    args.warmup = args.warmup if args.warmup is not None else (1.5 if args.quick else 3.0)
    args.keep = args.keep or args.profile
    if not 1 <= args.window <= 32:
        parser.error("--window is 1 to 32 (the frames must fit a pty's buffer)")
    began = time.monotonic()
    needed = max(300, products_needed(args.scanners))
    async with bench_database(NAME, products=needed, statements=args.statements) as db:
        facts = machine_facts(db.pg_version, db.where)
        cpus = facts["cpu_count"] or 1
        load = (
            f"open loop at {args.open_loop:g} scans/s (window {args.window})"
            if args.open_loop
            else "closed loop"
        )
        print(
            f"== scan throughput ({cpus} CPUs, PostgreSQL {db.pg_version}): {args.scanners}"
            f" scanners, {load}, {args.seconds:g} s phases"
        )
        if args.statements and not db.statements:
            print("pg_stat_statements is not available here: statements are not reported")
        workload = build_workload(db.warehouse, args.scanners)
        seeded = await seed_stock(db, workload)
        pickers = sum(1 for p in workload.scanners if p.mode == "pick")
        print(
            f"workload: {len(workload.scanners) - pickers} receiving and {pickers} picking"
            f" scanners, {HOT_SKUS} hot SKUs; {seeded} stock rows received for the pickers"
        )
        plain = await _ceiling(db, args, work="plain")
        scan_work = await _ceiling(db, args, work="scan")
        for title, base in (
            ("plain UPDATE+INSERT", plain),
            ("same work as a scan (key, UPDATE, ledger, outbox)", scan_work),
        ):
            print(
                f"baseline, {title}, {args.concurrency} connections: {base['tx_per_s']:.0f} tx/s"
                f" (p50 {base['latency_ms']['p50']} ms, p99 {base['latency_ms']['p99']} ms);"
                f" cpu {base['cpu_cores']}; per tx {_ms(base['cpu_ms_per_tx'])}"
            )
            if base["statements"]:
                print(_statements_line(base["statements"], "tx"))
        with_notify = None
        if args.diagnose:
            await db.pool.execute(_BENCH_NOTIFY)  # type: ignore[union-attr]
            with_notify = await _ceiling(db, args, work="plain", notify=True)
            print(
                f"diagnostic: the plain loop with a NOTIFY trigger on the ledger table (as"
                f" outbox had before migration 0006): {with_notify['tx_per_s']:.0f} tx/s"
                f" ({with_notify['tx_per_s'] / plain['tx_per_s']:.2f}x);"
                f" backends {with_notify['db_backends']}"
            )
        phases: dict[str, Any] = {}
        tmp = tempfile.mkdtemp(prefix="bench-throughput-")
        try:
            plan: list[tuple[str, bool, float | None, str, int | None]] = [
                ("off", False, 0.7, "group commit off", None),
                ("on", True, 3.0, "group commit on (default commit_workers)", None),
            ]
            if args.diagnose:
                plan += [
                    ("w1", True, None, "diagnostic: group commit on, commit_workers = 1", 1),
                    ("w4", True, None, "diagnostic: group commit on, commit_workers = 4", 4),
                ]
            # what every phase takes from the command line as it is
            phase_options = {
                name: getattr(args, name)
                for name in ("seconds", "warmup", "pool_size", "open_loop", "window", "profile")
            }
            for label, group_commit, target, title, workers in plan:
                if args.only and args.only != label:
                    continue
                phase = await run_gateway_phase(
                    db,
                    Path(tmp),
                    workload,
                    group_commit=group_commit,
                    label=label,
                    commit_workers=workers,
                    **phase_options,
                )
                ratio = phase["scans_per_s"] / plain["tx_per_s"]
                ratio_scan = phase["scans_per_s"] / scan_work["tx_per_s"]
                phase["title"] = title
                phase["ratio_to_plain"] = round(ratio, 3)
                phase["ratio_to_scan_work"] = round(ratio_scan, 3)
                if target is not None:
                    phase["target_ratio_to_plain"] = target
                    phase["verdict"] = verdict(ratio, target)
                key = {"off": "group_commit_off", "on": "group_commit_on"}.get(label)
                phases[key or f"diagnostic_{label}"] = phase
                mix = phase["mix_sent"]
                lat = phase["scan_latency_ms"]
                print(
                    f"{title}: {phase['scans_per_s']:.0f} scans/s answered"
                    f" ({phase['acks_per_s']:.0f} acks + {phase['naks_per_s']:.0f} naks),"
                    f" {phase['feed_stock_changed_per_s']:.0f} movements/s to the feed;"
                    f" {ratio:.2f}x plain"
                    + (f" ({phase['verdict']})" if target is not None else "")
                    + f", {ratio_scan:.2f}x scan work"
                )
                print(
                    f"    mix sent: receive {mix.get('receive', 0):.0%}, pick"
                    f" {mix.get('pick', 0):.0%}, refused {mix.get('refused', 0):.0%};"
                    f" lots {mix.get('lot', 0):.0%}, hot SKUs {mix.get('hot', 0):.0%};"
                    f" scan-to-beep p50 {lat.get('p50')} ms, p99 {lat.get('p99')} ms"
                    f" ({phase['in_flight_by_littles_law']:.0f} in flight by Little's law)"
                    + (
                        f"; offered {args.open_loop:g} scans/s, {phase['late_sends']} sends"
                        " late (window full)"
                        if args.open_loop
                        else ""
                    )
                )
                failed = [k for k, ok in phase["checks"].items() if not ok]
                print(
                    f"    {'exact' if phase['exact'] else 'NOT EXACT: ' + ', '.join(failed)}:"
                    f" acked {phase['acked_total']} = {phase['ledger_keys']} keys in the ledger"
                    f" ({phase['ledger_rows']} rows, {phase['feed_stock_changed_total']} at the"
                    f" feed); naks {phase['naks']} = {phase['refusals_sent']} refusals sent ="
                    f" {phase['rejected_keys']} rejected keys; unanswered {phase['unanswered']};"
                    f" spool exceptions {phase['spool_exceptions']};"
                    f" gateway {phase['gateway_counters']}"
                )
                print(f"    cpu {phase['cpu_cores']}; per scan {_ms(phase['cpu_ms_per_scan'])}")
                print(f"    database backends (average): {phase['db_backends']}")
                if phase["statements"]:
                    print(_statements_line(phase["statements"], "scan"))
                if phase["profile_gateway"]:
                    prof = phase["profile_gateway"]
                    for what, title_ in (("project_inclusive", "inclusive"), ("self", "self")):
                        frames = ", ".join(f"{f.split(' (')[0]} {v:.0%}" for f, v in prof[what])
                        print(f"    gateway py-spy ({title_}, GIL held): {frames}")
                if target is not None and ratio < target:
                    print(f"    where the time goes: {_where_time_goes(phase, plain, cpus)}")
            assert db.pool is not None
            report = await db.service.verify()
            print(report.render().splitlines()[0])
        finally:
            remove_run_dir(tmp, args.keep)
        elapsed = round(time.monotonic() - began, 1)
        print(f"run took {elapsed} s")
        write_results(
            NAME + ("-quick" if args.quick else ""),
            {
                "benchmark": NAME,
                "machine": facts,
                "workload": WORKLOAD,
                "config": {
                    "scanners": args.scanners,
                    "load": load,
                    "seconds": args.seconds,
                    "warmup": args.warmup,
                    "baseline_connections": args.concurrency,
                    "quick": args.quick,
                },
                "elapsed_s": elapsed,
                "baseline_raw_asyncpg": plain,
                "baseline_scan_work": scan_work,
                **(
                    {"diagnostic_raw_asyncpg_with_notify_trigger": with_notify}
                    if with_notify
                    else {}
                ),
                **phases,
                "verify": {"ok": report.ok, "checked": report.checked, "failures": report.failures},
                "exact": all(p["exact"] for p in phases.values()) and report.ok,
            },
        )


if __name__ == "__main__":
    asyncio.run(main())
