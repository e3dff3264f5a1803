"""Webhooks cost the floor nothing: scan-to-ack latency with receivers that take 5 s per
request, beside the same run without webhooks.

16 scanners on ptys -> ``stockd gateway`` -> PostgreSQL -> ``stockd web`` (which
delivers webhooks) -> 1 display. Scans go open loop at ``--rate`` for ``--seconds``
(as ``bench_latency.py`` sends them), alternating ``--rounds`` times between two
phases. Without: no subscription (the baseline, same run). With: ``--endpoints``
subscriptions to every event, ``stock.changed``
included, each pointing at a receiver in this process that answers after
``--delay`` seconds. The figure is scan-to-ack (last byte written to the pty -> the
scanner's ack read back) and scan-to-screen, p50/p99, the medians of each phase and
their ratio, and how many deliveries the slow receivers answered meanwhile.

    python benchmarks/bench_webhooks.py [--rate 100] [--seconds 6] [--endpoints 10] [--delay 5]
        [--rounds 2]
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from bench_latency import run_step
from bench_latency import stack
from bench_latency import warm_up
from feed_client import FeedClient
from figures import machine_facts
from figures import quiet_gc
from figures import write_results
from processes import load_options
from processes import remove_run_dir
from processes import tear_down
from scratch_db import bench_database

NAME = "webhooks"


async def slow_receiver(delay: float, got: list[str]) -> tuple[web.AppRunner, int]:
    async def receive(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(delay)
        got.append(request.headers.get("webhook-id", ""))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/{path}", receive)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.Server)
    return runner, server.sockets[0].getsockname()[1]


def line(name: str, step: dict[str, Any], base: dict[str, Any] | None = None) -> str:
    ack, screen = step["scan_to_ack_ms"], step["scan_to_screen_ms"]
    text = (
        f"{name:28s} scan-to-ack p50 {ack.get('p50')} ms, p99 {ack.get('p99')} ms;"
        f" scan-to-screen p50 {screen.get('p50')} ms, p99 {screen.get('p99')} ms;"
        f" acks {step['acks']}/{step['scans']}"
    )
    if base is not None:
        b = base["scan_to_ack_ms"]
        text += (
            f" -> ack p50 {ack['p50'] / max(b['p50'], 0.01):.2f}x,"
            f" p99 {ack['p99'] / max(b['p99'], 0.01):.2f}x the run without webhooks"
        )
    return text


async def main() -> None:
    parser = load_options(__doc__, rate=100.0, seconds=6.0, scanners=16)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--delay", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    got: list[str] = []
    receiver, port = await slow_receiver(args.delay, got)
    async with bench_database(NAME) as db:
        facts = machine_facts(db.pg_version, db.where)
        print(f"== webhooks and scan latency ({facts['cpu_count']} CPUs, PG {db.pg_version})")
        ptys, lines, gateway, webnode = await stack(db, tmp, args.scanners)
        displays: list[FeedClient] = []
        results: dict[str, Any] = {"rate": args.rate, "endpoints": args.endpoints}
        try:
            assert webnode.url is not None
            token = await db.token("display", "bench-webhooks")
            manager = await db.token("manager", "bench-webhooks-manager")
            ledger, frames = await warm_up(db, ptys, lines, webnode.url, token, displays)
            with quiet_gc():  # warm-up, not reported
                await run_step(ptys, frames, ledger, displays, rate=args.rate, seconds=2)
            headers = {"Authorization": f"Bearer {manager}"}
            steps: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
            async with aiohttp.ClientSession(headers=headers) as session:
                hooks: list[int] = []
                # Alternate, so drift on a shared machine hits both alike.
                for _ in range(args.rounds):
                    for phase in ("without", "with"):
                        if phase == "with":
                            for n in range(args.endpoints):
                                url = f"http://127.0.0.1:{port}/e{n}"
                                body = {"url": url, "events": ["*", "stock.changed"]}
                                async with session.post(
                                    f"{webnode.url}/api/v1/webhooks", json=body
                                ) as r:
                                    assert r.status == 201, await r.text()
                                    hooks.append((await r.json())["id"])
                        else:
                            for hook in hooks:
                                async with session.delete(
                                    f"{webnode.url}/api/v1/webhooks/{hook}"
                                ) as r:
                                    assert r.status == 200
                            hooks.clear()
                        await asyncio.sleep(1.0)
                        before = len(got)
                        with quiet_gc():
                            step = await run_step(
                                ptys, frames, ledger, displays, rate=args.rate, seconds=args.seconds
                            )
                        step["deliveries_answered"] = len(got) - before
                        steps[phase].append(step)
                        label = (
                            "without webhooks"
                            if phase == "without"
                            else f"{args.endpoints} receivers at {args.delay:g} s"
                        )
                        print(
                            line(label, step, None)
                            + f"; {step['deliveries_answered']} deliveries answered"
                        )
            for phase, runs in steps.items():
                results[phase] = runs
                results[f"{phase}_ack_ms"] = {
                    key: statistics.median(r["scan_to_ack_ms"][key] for r in runs)
                    for key in ("p50", "p99")
                }
            base, slow = results["without_ack_ms"], results["with_ack_ms"]
            results["ack_ratio"] = {k: round(slow[k] / max(base[k], 0.01), 2) for k in base}
            print(
                f"median over {args.rounds} rounds: scan-to-ack p50 {slow['p50']} ms with"
                f" slow webhooks, {base['p50']} ms without ({results['ack_ratio']['p50']}x);"
                f" p99 {slow['p99']} / {base['p99']} ms ({results['ack_ratio']['p99']}x)"
            )
        finally:
            await tear_down((gateway, webnode), displays=displays, ptys=ptys)
            await receiver.cleanup()
            remove_run_dir(tmp)
        write_results(NAME, {"benchmark": NAME, "machine": facts, **results})


if __name__ == "__main__":
    asyncio.run(main())
