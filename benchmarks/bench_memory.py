"""Memory: peak RSS of one ``stockd serve`` with 64 scanners and 1,000 displays.

Baseline (same run): the same ``stockd serve`` started with no scanner and no
display, idle for a few seconds. Then a fresh ``stockd serve`` with 64 scanners on
ptys; 1,000 displays connect (each gets a snapshot) and the scanners scan open loop
at ``--rate`` scans/s in total for ``--seconds`` (every scan fans out to every
display). RSS is sampled from ``/proc`` every 0.25 s; the figure is the kernel's
peak (``VmHWM``). Target (issue 7): <= 200 MB.

    python benchmarks/bench_memory.py [--rate 20] [--seconds 20] [--displays 1000]
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from feed_client import FeedClient
from feed_client import connect_displays
from figures import machine_facts
from figures import verdict
from figures import write_results
from loop_pty import LoopPty
from processes import load_options
from processes import remove_run_dir
from processes import tear_down
from processes import wait_connected
from repo import ROOT
from scratch_db import bench_database

from tests.cluster import ScannerLine
from tests.cluster import StockdProcess
from tests.cluster import write_config

NAME = "memory"
TARGET_MB = 200.0


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def sample_rss(pid: int, into: list[tuple[float, int]], stop: asyncio.Event) -> None:
    start = time.monotonic()
    while not stop.is_set():
        into.append((round(time.monotonic() - start, 2), rss_kib(pid)))
        await asyncio.sleep(0.25)


_FOOTPRINTS = {
    "python + asyncio, aiohttp, asyncpg, pydantic": "asyncio, aiohttp, asyncpg, pydantic",
    "numpy": "numpy",
    "statsmodels (holtwinters; pulls scipy, pandas)": "statsmodels.tsa.holtwinters",
    "stockd.run (what stockd serve imports)": "stockd.run",
}


async def import_footprints() -> dict[str, float]:
    """Peak RSS (MiB) of a fresh interpreter importing each module set: where an idle
    ``stockd serve``'s memory comes from."""
    out: dict[str, float] = {}
    for label, modules in _FOOTPRINTS.items():
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            f"import resource, {modules}; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=ROOT,
        )
        stdout, _ = await proc.communicate()
        with contextlib.suppress(ValueError):
            out[label] = round(int(stdout.strip() or 0) / 1024, 1)
    return out


async def main() -> None:
    args = load_options(__doc__, rate=20.0, seconds=20.0, scanners=64, displays=1000).parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    result: dict[str, Any] = {}
    async with bench_database(NAME) as db:
        facts = machine_facts(db.pg_version, db.where)
        print(f"== memory ({facts['cpu_count']} CPUs, PostgreSQL {db.pg_version})")
        token = await db.token("display", "bench-memory")
        common: dict[str, Any] = {"database_url": db.url, "log_dir": tmp}
        # Baseline: serve with nothing attached.
        idle_cfg = write_config(tmp / "idle.toml", spool_dir=tmp / "idle-spool")
        idle = StockdProcess("serve", idle_cfg, home=tmp / "idle-home", name="idle", **common)
        await idle.start()
        await asyncio.sleep(3.0)
        idle_peak = idle.peak_rss_kib() / 1024
        idle_rss = rss_kib(idle.pid) / 1024
        await idle.stop()
        print(f"baseline: stockd serve, no scanner, no display: peak RSS {idle_peak:.1f} MiB")
        footprints = await import_footprints()
        print(
            "    import footprints (peak RSS of a fresh interpreter): "
            + "; ".join(f"{k} {v} MiB" for k, v in footprints.items())
        )
        # The full load.
        ptys = [LoopPty(tmp / f"tty{i:02d}") for i in range(args.scanners)]
        lines = [ScannerLine(id=f"s{i:02d}", url=str(p.path)) for i, p in enumerate(ptys)]
        cfg = write_config(tmp / "serve.toml", scanners=lines, spool_dir=tmp / "spool")
        serve = StockdProcess("serve", cfg, home=tmp / "home", name="serve", **common)
        displays: list[FeedClient] = []
        samples: list[tuple[float, int]] = []
        stop = asyncio.Event()
        try:
            await serve.start()
            assert serve.url is not None
            sampler = asyncio.create_task(sample_rss(serve.pid, samples, stop))
            products = db.warehouse.products[: args.scanners]
            frames = [p.frame(prod.gtin) for p, prod in zip(ptys, products, strict=True)]
            await wait_connected(db, [line.id for line in lines])
            await asyncio.gather(*(p.answered_scan(f) for p, f in zip(ptys, frames, strict=True)))
            with_scanners = rss_kib(serve.pid) / 1024
            began = time.perf_counter()
            displays = await connect_displays(serve.url, token, args.displays)
            connected_in = time.perf_counter() - began
            with_displays = rss_kib(serve.pid) / 1024
            print(
                f"{args.scanners} scanners connected: RSS {with_scanners:.1f} MiB;"
                f" + {len(displays)} displays ({connected_in:.1f} s): {with_displays:.1f} MiB"
            )
            loop = asyncio.get_running_loop()
            total = int(args.rate * args.seconds)
            start = loop.time()
            for n in range(total):
                delay = start + n / args.rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                index = n % len(ptys)
                ptys[index].send(frames[index])
            await asyncio.sleep(3.0)
            acks = sum(p.acks for p in ptys) - len(ptys)
            events = min(len(d.seqs) for d in displays)
            peak = serve.peak_rss_kib() / 1024
            end_rss = rss_kib(serve.pid) / 1024
            stop.set()
            await sampler
            print(
                f"after {total} scans at {args.rate:g}/s to {len(displays)} displays"
                f" (acks {acks}, fewest events at a display {events}): RSS {end_rss:.1f} MiB,"
                f" peak {peak:.1f} MiB ({peak / idle_peak:.1f}x the idle baseline);"
                f" {verdict(peak, TARGET_MB, at_most=True)}"
            )
            result = {
                "baseline_idle_serve": {
                    "peak_rss_mib": round(idle_peak, 1),
                    "rss_mib": round(idle_rss, 1),
                },
                "import_footprints_mib": footprints,
                "scanners": args.scanners,
                "displays": len(displays),
                "scan_rate": args.rate,
                "seconds": args.seconds,
                "scans_sent": total,
                "acks": acks,
                "fewest_events_at_a_display": events,
                "rss_with_scanners_mib": round(with_scanners, 1),
                "rss_with_displays_mib": round(with_displays, 1),
                "rss_end_mib": round(end_rss, 1),
                "peak_rss_mib": round(peak, 1),
                "ratio_to_idle": round(peak / idle_peak, 2),
                "target_mb": TARGET_MB,
                "holds": peak <= TARGET_MB,
                "rss_samples_mib": [
                    (t, round(k / 1024, 1)) for t, k in samples[:: max(1, len(samples) // 60)]
                ],
            }
        finally:
            stop.set()
            await tear_down([serve], displays=displays, ptys=ptys)
            remove_run_dir(tmp)
        write_results(
            NAME,
            {
                "benchmark": NAME,
                "machine": facts,
                "scaled": f"scan rate {args.rate:g}/s (every scan reaches 1,000 displays)",
                **result,
            },
        )


if __name__ == "__main__":
    asyncio.run(main())
