"""Scan-to-screen latency: the last byte of a frame written to the pty -> the
``stock.changed`` event read by a display, at rising scan rates, 50 displays.

64 scanners on ptys -> ``stockd gateway`` (group commit on, the default) ->
PostgreSQL -> ``stockd web`` -> 50 feed clients. Scans are sent open loop on a fixed
schedule (total rate R, spread round-robin over the scanners), so a slow system
shows up as latency, not as a lower rate. Each scanner scans its own product in
receive mode; a scanner's scans reach the feed in the order it sent them, so the
k-th ``stock.changed`` naming scanner s is its k-th scan.

Baseline (same run): the same path at 20 scans/s total (100 scans) with one display, where
nothing queues: the floor of this machine's latency.

A step whose scans do not all reach every display (the gateway refused some as
"sent faster than it could be served", or the feed fell behind) is reported as
saturated and ends the ramp; a step whose median scan-to-ack passes 100 ms is "not
keeping up" (queues grow for as long as the step lasts, so its latency depends on
the step's length). Target (issue 7): p99 <= 50 ms at 1,000 scans/s.

    python benchmarks/bench_latency.py [--rates 100,250,500,750,1000] [--seconds 6]
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from feed_client import FeedClient
from feed_client import connect_displays
from figures import CpuMeter
from figures import machine_facts
from figures import percentiles
from figures import quiet_gc
from figures import verdict
from figures import write_results
from loop_pty import LoopPty
from processes import forecaster_settled
from processes import load_options
from processes import remove_run_dir
from processes import tear_down
from processes import wait_connected
from scratch_db import BenchDatabase
from scratch_db import WaitSampler
from scratch_db import bench_database
from scratch_db import postmaster_pid

from tests.cluster import ScannerLine
from tests.cluster import StockdProcess
from tests.cluster import write_config

NAME = "latency"
TARGET_P99_MS = 50.0


class Ledger:
    """Send times per scanner, and which seq carried which scan (from display 0)."""

    def __init__(self, scanners: int) -> None:
        self.sent: list[list[float]] = [[] for _ in range(scanners)]
        self.seen: dict[str, int] = {}
        self.base: dict[str, int] = {}
        self.seq_sent_at: dict[int, float] = {}
        self.unmatched = 0

    def rebase(self) -> None:
        """Forget the warm-up: the next event of each scanner is its next scan sent."""
        self.base = dict(self.seen)
        for sends in self.sent:
            sends.clear()

    @property
    def matched(self) -> int:
        return sum(self.seen.values()) - sum(self.base.values())

    def on_message(self, _client: FeedClient, data: bytes, _now: float) -> None:
        if b'"type":"stock.changed"' not in data[:60]:
            return
        event = json.loads(data)
        scanner = event.get("scanner") or ""
        if not scanner.startswith("s"):
            return
        index = int(scanner[1:])
        seen = self.seen.get(scanner, 0)
        self.seen[scanner] = seen + 1
        k = seen - self.base.get(scanner, 0)
        sends = self.sent[index]
        if k < len(sends):
            self.seq_sent_at[event["seq"]] = sends[k]
        else:
            self.unmatched += 1


async def run_step(
    ptys: list[LoopPty],
    frames: list[bytes],
    ledger: Ledger,
    displays: list[FeedClient],
    *,
    rate: float,
    seconds: float,
    settle: float = 5.0,
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    n_scanners = len(ptys)
    total = int(rate * seconds)
    marks = [len(d.seqs) for d in displays]
    answer_marks = [len(p.answers) for p in ptys]
    send_marks = [len(s) for s in ledger.sent]
    acks_before = sum(p.acks for p in ptys)
    naks_before = sum(p.naks for p in ptys)
    start = loop.time() + 0.05
    sent = 0
    late = 0.0
    while sent < total:
        now = loop.time()
        due = min(total, int((now - start) * rate) + 1)
        while sent < due:
            index = sent % n_scanners
            pty = ptys[index]
            ledger.sent[index].append(pty.send(frames[index]))
            sent += 1
        late = max(late, now - (start + (sent - 1) / rate))
        next_at = start + sent / rate
        await asyncio.sleep(max(0.0, next_at - loop.time()))
    sent_at_end = time.perf_counter()
    # Wait for every display to get every event of this step.
    want = sum(len(s) for s in ledger.sent)
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        if ledger.matched >= want and all(
            sum(1 for q in d.seqs[m:] if q in ledger.seq_sent_at) >= total
            for d, m in zip(displays, marks, strict=True)
        ):
            break
        await asyncio.sleep(0.1)
    latencies: list[float] = []
    missing = 0
    for display, mark in zip(displays, marks, strict=True):
        got = 0
        for seq, arrived in zip(display.seqs[mark:], display.arrivals[mark:], strict=True):
            sent_at = ledger.seq_sent_at.get(seq)
            if sent_at is not None:
                latencies.append(arrived - sent_at)
                got += 1
        missing += max(0, total - got)
    acks = sum(p.acks for p in ptys) - acks_before
    naks = sum(p.naks for p in ptys) - naks_before
    ack_latency = [
        answered - sent_at
        for pty, sends, a_mark, s_mark in zip(
            ptys, ledger.sent, answer_marks, send_marks, strict=True
        )
        for (_, answered), sent_at in zip(pty.answers[a_mark:], sends[s_mark:], strict=False)
    ]
    saturated = missing > 0 or naks > 0 or acks < total
    drain = time.perf_counter() - sent_at_end
    return {
        "rate": rate,
        "seconds": seconds,
        "scans": total,
        "displays": len(displays),
        "acks": acks,
        "naks": naks,
        "deliveries_missing": missing,
        "saturated": saturated,
        "keeping_up": not saturated and percentiles(ack_latency).get("p50", 1e9) < 100,
        "sender_max_lateness_ms": round(late * 1000, 1),
        "drain_after_last_send_ms": round(drain * 1000, 1),
        "scan_to_screen_ms": percentiles(latencies),
        "scan_to_ack_ms": percentiles(ack_latency),
    }


async def settle_warmup(db: BenchDatabase, ledger: Ledger, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Wait until display 0 has seen every warm-up movement, then rebase the matching."""
    assert db.pool is not None
    deadline = time.monotonic() + timeout
    while True:
        rows = await db.pool.fetch(
            "SELECT scanner, count(*) AS n FROM movements WHERE scanner IS NOT NULL GROUP BY 1"
        )
        if all(ledger.seen.get(r["scanner"], 0) == r["n"] for r in rows):
            break
        if time.monotonic() > deadline:
            raise TimeoutError("the warm-up scans did not all reach the feed")
        await asyncio.sleep(0.1)
    ledger.rebase()


async def stack(
    db: BenchDatabase, work: Path, scanners: int
) -> tuple[list[LoopPty], list[ScannerLine], StockdProcess, StockdProcess]:
    ptys = [LoopPty(work / f"tty{i:02d}") for i in range(scanners)]
    lines = [ScannerLine(id=f"s{i:02d}", url=str(p.path)) for i, p in enumerate(ptys)]
    config = write_config(work / "stockd.toml", scanners=lines, spool_dir=work / "spool")
    common: dict[str, Any] = {"database_url": db.url, "home": work / "home", "log_dir": work}
    web = StockdProcess("web", config, name="web", **common)
    gateway = StockdProcess("gateway", config, name="gateway", **common)
    await web.start()
    await gateway.start()
    sweep = await forecaster_settled(web)
    print(f"(measuring after the web node's start-up forecast sweep: {sweep} s)")
    return ptys, lines, gateway, web


async def warm_up(
    db: BenchDatabase,
    ptys: list[LoopPty],
    lines: list[ScannerLine],
    url: str,
    token: str,
    displays: list[FeedClient],
) -> tuple[Ledger, list[bytes]]:
    """One display on the feed (added to ``displays``), every scanner connected and its
    first scan answered and on the feed: the ledger, and each scanner's frame."""
    ledger = Ledger(len(ptys))
    first = FeedClient(token, on_message=ledger.on_message)
    displays += await connect_displays(url, token, 1, first=first)
    products = db.warehouse.products[: len(ptys)]
    frames = [p.frame(prod.gtin) for p, prod in zip(ptys, products, strict=True)]
    await wait_connected(db, [line.id for line in lines])
    await asyncio.gather(
        *(pty.answered_scan(frame) for pty, frame in zip(ptys, frames, strict=True))
    )
    await settle_warmup(db, ledger)
    return ledger, frames


async def main() -> None:
    args = load_options(
        __doc__, seconds=6.0, scanners=64, rates="100,250,500,750,1000", displays=50, keep=True
    ).parse_args()
    rates = args.rates
    tmp = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    async with bench_database(NAME) as db:
        facts = machine_facts(db.pg_version, db.where)
        print(f"== scan-to-screen latency ({facts['cpu_count']} CPUs, PostgreSQL {db.pg_version})")
        ptys, lines, gateway, web = await stack(db, tmp, args.scanners)
        displays: list[FeedClient] = []
        try:
            assert web.url is not None
            token = await db.token("display", "bench-latency")
            ledger, frames = await warm_up(db, ptys, lines, web.url, token, displays)
            with quiet_gc():
                baseline = await run_step(ptys, frames, ledger, displays, rate=20, seconds=5)
            print(
                f"baseline: 20 scans/s, 1 display: scan-to-screen p50"
                f" {baseline['scan_to_screen_ms']['p50']} ms, p99"
                f" {baseline['scan_to_screen_ms']['p99']} ms"
                f" (scan-to-ack p50 {baseline['scan_to_ack_ms']['p50']} ms)"
            )
            displays += await connect_displays(web.url, token, args.displays - 1)
            await asyncio.sleep(1.0)
            steps = []
            pg = postmaster_pid(db)
            for rate in rates:
                cpu = CpuMeter(gateway=gateway.pid, web=web.pid, **({"postgres": pg} if pg else {}))
                waits = WaitSampler(db)
                waits.start()
                cpu.start()
                with quiet_gc():
                    step = await run_step(
                        ptys, frames, ledger, displays, rate=rate, seconds=args.seconds
                    )
                step["cpu_cores"] = cpu.stop()
                step["db_backends"] = await waits.stop()
                steps.append(step)
                lat = step["scan_to_screen_ms"]
                flag = (
                    " SATURATED (scans refused or lost)"
                    if step["saturated"]
                    else ("" if step["keeping_up"] else " NOT KEEPING UP (queues grow)")
                )
                print(
                    f"{rate:6.0f} scans/s, {len(displays)} displays: p50 {lat.get('p50')} ms,"
                    f" p99 {lat.get('p99')} ms, max {lat.get('max')} ms"
                    f" (ack p99 {step['scan_to_ack_ms'].get('p99')} ms; drain"
                    f" {step['drain_after_last_send_ms']:.0f} ms;"
                    f" missing {step['deliveries_missing']}, naks {step['naks']}){flag};"
                    f" cpu {step['cpu_cores']}"
                )
                if step["saturated"]:
                    break
                await asyncio.sleep(1.0)
        finally:
            await tear_down((gateway, web), displays=displays, ptys=ptys)
            remove_run_dir(tmp, args.keep)
        within = [
            s
            for s in steps
            if not s["saturated"] and s["scan_to_screen_ms"].get("p99", 1e9) <= TARGET_P99_MS
        ]
        top = max(within, key=lambda s: s["rate"]) if within else None
        at_target = next((s for s in steps if s["rate"] >= 1000), None)
        base_p99 = max(baseline["scan_to_screen_ms"]["p99"], 0.01)
        if top is not None:
            p99 = top["scan_to_screen_ms"]["p99"]
            print(
                f"highest rate with p99 <= {TARGET_P99_MS:g} ms: {top['rate']:.0f} scans/s"
                f" (p99 {p99} ms, {p99 / base_p99:.1f}x the baseline)"
            )
        if at_target is None:
            print("1,000 scans/s was not in --rates: the target was not measured")
        elif at_target["saturated"]:
            print("1,000 scans/s with 50 displays: not sustained (scans refused): target MISSES")
        else:
            p99 = at_target["scan_to_screen_ms"]["p99"]
            print(
                f"at 1,000 scans/s with 50 displays: p99 {p99} ms ({p99 / base_p99:.0f}x the"
                f" baseline); {verdict(p99, TARGET_P99_MS, at_most=True)}"
            )
        write_results(
            NAME,
            {
                "benchmark": NAME,
                "machine": facts,
                "scaled": "none in the set-up (64 scanners, 50 displays); the ramp stops at"
                " the first saturated rate",
                "baseline_20_per_s_1_display": baseline,
                "steps": steps,
                "target_p99_ms": TARGET_P99_MS,
                "target_holds_at_1000_per_s": bool(
                    at_target
                    and not at_target["saturated"]
                    and at_target["scan_to_screen_ms"]["p99"] <= TARGET_P99_MS
                ),
                "highest_rate_within_target": top["rate"] if top else None,
            },
        )


if __name__ == "__main__":
    asyncio.run(main())
