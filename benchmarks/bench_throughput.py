"""Scan throughput end to end: 64 scanners on ptys -> ``stockd gateway`` -> PostgreSQL
-> ``stockd web`` -> a feed client, against the raw one-transaction-per-scan ceiling.

Baseline (same run, same database): a raw asyncpg loop, 32 connections, each
transaction one UPDATE of a stock row and one INSERT of a ledger row.

Then the gateway twice, group commit off and on. Every scanner scans as a worker
does: one scan, wait for the beep, next scan (closed loop), each scanner its own
product so no two scanners contend for a row (as the baseline's workers do not).
The figure is scans per second seen as ``stock.changed`` by the feed client in the
measured window (acks per second are printed too); afterwards the ledger must hold
exactly one movement per acknowledged scan. Targets (issue 7): >= 0.7x the ceiling
with group commit off, >= 3x with it on.

    python benchmarks/bench_throughput.py [--seconds 10] [--scanners 64]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from common import (
    BenchDatabase,
    CpuMeter,
    FeedClient,
    LoopPty,
    ScannerLine,
    StockdProcess,
    WaitSampler,
    bench_database,
    forecaster_settled,
    machine_facts,
    postmaster_pid,
    raw_ceiling,
    start_profile,
    verdict,
    wait_connected,
    write_config,
    write_results,
)

from hardware_mocks.feedback import Feedback

NAME = "throughput"
_BENCH_NOTIFY = """
CREATE OR REPLACE FUNCTION bench_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bench_notify', '');
    RETURN NULL;
END $$
"""


async def run_gateway_phase(
    db: BenchDatabase,
    tmp: Path,
    *,
    group_commit: bool,
    scanners: int,
    seconds: float,
    pool_size: int,
    profile: bool = False,
    label: str | None = None,
    commit_workers: int | None = None,
) -> dict[str, Any]:
    label = label or ("on" if group_commit else "off")
    work = tmp / f"gc-{label}"
    work.mkdir()
    products = db.warehouse.products[:scanners]
    ptys = [LoopPty(work / f"tty{i:02d}") for i in range(scanners)]
    lines = [ScannerLine(id=f"{label}{i:02d}", url=str(p.path)) for i, p in enumerate(ptys)]
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
    frames = [p.frame(product.gtin) for p, product in zip(ptys, products, strict=True)]
    try:
        # Warm up: every scanner connected and answered, pools and caches filled.
        await wait_connected(db, [line.id for line in lines])
        await asyncio.gather(*(p.answered_scan(f) for p, f in zip(ptys, frames, strict=True)))
        loop = asyncio.get_running_loop()
        acked: list[float] = []
        naks = 0
        warm_until = loop.time() + 2.0
        end = warm_until + seconds
        t0 = t1 = 0.0

        async def closed_loop(pty: LoopPty, frame: bytes) -> None:
            nonlocal naks
            while loop.time() < end:
                kind, _, answered = await pty.scan(frame)
                if kind is Feedback.NAK:
                    naks += 1
                elif loop.time() >= warm_until:
                    acked.append(answered)

        cpu = CpuMeter(gateway=gateway.pid, web=web.pid, **_pg(db))
        senders = [
            asyncio.create_task(closed_loop(p, f)) for p, f in zip(ptys, frames, strict=True)
        ]
        await asyncio.sleep(2.0)
        profilers = [
            await start_profile(proc, work / f"{proc.name}.pyspy.txt", seconds)
            for proc in ((gateway, web) if profile else ())
        ]
        waits = WaitSampler(db)
        waits.start()
        cpu.start()
        t0 = time.perf_counter()
        await asyncio.gather(*senders)
        t1 = time.perf_counter()
        usage = cpu.stop()
        backends = await waits.stop()
        for profiler in profilers:
            await profiler.wait()
        last_ack = max(acked) if acked else t1
        total_acks = sum(p.acks for p in ptys)
        # Let the feed catch up, then check nothing was lost or counted twice.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if len(feed_times) >= total_acks:
                break
            await asyncio.sleep(0.05)
        caught_up = max(feed_times) - last_ack if feed_times else None
        in_ledger = await db.pool.fetchval(  # type: ignore[union-attr]
            "SELECT count(*) FROM movements WHERE scanner LIKE $1", f"{label}%"
        )
        feed_in_window = sum(1 for t in feed_times if t0 <= t <= t1)
        window = t1 - t0
        stats = await db.pool.fetchval("SELECT count(*) FROM outbox")  # type: ignore[union-attr]
        return {
            "group_commit": group_commit,
            "scanners": scanners,
            "pool_size": pool_size,
            "seconds": round(window, 2),
            "acks_in_window": len([t for t in acked if t0 <= t <= t1]),
            "acks_per_s": round(len([t for t in acked if t0 <= t <= t1]) / window, 1),
            "feed_events_in_window": feed_in_window,
            "scans_per_s": round(feed_in_window / window, 1),
            "naks": naks,
            "acked_total": total_acks,
            "in_ledger": in_ledger,
            "feed_stock_changed_total": len(feed_times),
            "feed_lag_after_last_ack_ms": round(caught_up * 1000, 1) if caught_up else None,
            "outbox_rows": stats,
            "cpu_cores": usage,
            "db_backends": backends,
            "spool_bytes_left": sum(f.stat().st_size for f in (work / "spool").glob("*")),
            "gateway_warnings": [
                line for line in gateway.tail(20000).splitlines() if " WARNING " in line
            ][:5],
        }
    finally:
        display.close()
        for proc in (gateway, web):
            if proc.running:
                await proc.stop()
        for p in ptys:
            p.close()


async def _ceiling(db: BenchDatabase, args: argparse.Namespace, *, notify: bool) -> dict[str, Any]:
    cpu = CpuMeter(**_pg(db))
    waits = WaitSampler(db)
    waits.start()
    cpu.start()
    result = await raw_ceiling(
        db.url, concurrency=args.concurrency, seconds=args.seconds, notify=notify
    )
    result["cpu_cores"] = cpu.stop()
    result["db_backends"] = await waits.stop()
    return result


def _pg(db: BenchDatabase) -> dict[str, int]:
    pid = postmaster_pid(db)
    return {"postgres": pid} if pid else {}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--scanners", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--pool-size", type=int, default=32)
    parser.add_argument("--only", choices=("off", "on", "w1", "w4"), help="run one gateway phase")
    parser.add_argument("--keep", action="store_true", help="keep the logs' directory")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the gateway and web (implies --keep)"
    )
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="also run group commit with commit_workers = 1 and 4",
    )
    args = parser.parse_args()
    args.keep = args.keep or args.profile
    async with bench_database(NAME) as db:
        facts = machine_facts(db.pg_version, db.where)
        print(f"== scan throughput ({facts['cpu_count']} CPUs, PostgreSQL {db.pg_version})")
        baseline = await _ceiling(db, args, notify=False)
        ceiling = baseline["tx_per_s"]
        print(
            f"baseline: raw asyncpg UPDATE+INSERT, {args.concurrency} connections: "
            f"{ceiling:.0f} tx/s (p50 {baseline['latency_ms']['p50']} ms, "
            f"p99 {baseline['latency_ms']['p99']} ms) cpu {baseline['cpu_cores']}"
        )
        await db.pool.execute(_BENCH_NOTIFY)  # type: ignore[union-attr]
        with_notify = await _ceiling(db, args, notify=True)
        print(
            f"diagnostic: the same loop with a NOTIFY trigger on the ledger table (as outbox"
            f" had before migration 0006): {with_notify['tx_per_s']:.0f} tx/s"
            f" ({with_notify['tx_per_s'] / ceiling:.2f}x); backends {with_notify['db_backends']}"
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
            for label, group_commit, target, title, workers in plan:
                if args.only and args.only != label:
                    continue
                phase = await run_gateway_phase(
                    db,
                    Path(tmp),
                    group_commit=group_commit,
                    scanners=args.scanners,
                    seconds=args.seconds,
                    pool_size=args.pool_size,
                    profile=args.profile,
                    label=label,
                    commit_workers=workers,
                )
                ratio = phase["scans_per_s"] / ceiling if ceiling else 0.0
                phase["title"] = title
                phase["ratio_to_ceiling"] = round(ratio, 3)
                if target is not None:
                    phase["target_ratio"] = target
                    phase["verdict"] = verdict(ratio, target)
                key = {"off": "group_commit_off", "on": "group_commit_on"}.get(label)
                phases[key or f"diagnostic_{label}"] = phase
                exact = phase["in_ledger"] == phase["acked_total"] and phase["naks"] == 0
                print(
                    f"{title}: {phase['scans_per_s']:.0f} scans/s to the feed"
                    f" ({phase['acks_per_s']:.0f} acks/s), {ratio:.2f}x the ceiling"
                    + (f"; {phase['verdict']}" if target is not None else "")
                )
                print(
                    f"    acked {phase['acked_total']}, in ledger {phase['in_ledger']},"
                    f" feed {phase['feed_stock_changed_total']}, naks {phase['naks']}"
                    f" ({'exact' if exact else 'MISMATCH'}); feed lag after last ack"
                    f" {phase['feed_lag_after_last_ack_ms']} ms; cpu {phase['cpu_cores']}"
                )
                print(f"    database backends (average): {phase['db_backends']}")
        finally:
            if args.keep:
                print(f"logs kept in {tmp}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)
        write_results(
            NAME,
            {
                "benchmark": NAME,
                "machine": facts,
                "scaled": "none: 64 scanners, 32-connection baseline, as in issue 7",
                "baseline_raw_asyncpg": baseline,
                "diagnostic_raw_asyncpg_with_notify_trigger": with_notify,
                **phases,
            },
        )


if __name__ == "__main__":
    asyncio.run(main())
