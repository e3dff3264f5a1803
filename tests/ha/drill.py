"""A failover drill: scanners and a display on ``stockd serve`` while the database fails.

One run brings up the HA stack (``deploy/ha/stack.py``: etcd, two PostgreSQL 15 nodes
under Patroni, HAProxy, pgbouncer), starts ``stockd serve`` on the multi-host URL of
the two nodes with scanners on ptys (every scan a unique GS1 lot, so each can be
found in the ledger; a worker waits for the beep and never resends) and one display
on the feed (dropping its connection now and then and resuming with ``since``) and a
script posting receives through the API (each with its own ``Idempotency-Key``,
retried with the same key on 503 or a lost connection), then injects one fault for
real:

``kill-leader``
    SIGKILL of the Patroni leader's Patroni and PostgreSQL (the machine died).
``freeze-leader``
    SIGSTOP of the leader's PostgreSQL and Patroni (a stuck disk, a partition); woken
    again after the new leader took over, still believing it is the primary until
    Patroni demotes it.
``read-only``
    ``default_transaction_read_only`` on the leader for 10 s (a fenced node).
``async-lag``
    Asynchronous replication; the leader's WAL sender frozen for 3 s, then the leader
    killed: the standby is promoted without the last 3 s of commits.

At the end (workers stopped, spool drained, feed quiet) it prints the figures: time
to the new leader and to the first commit on it, scans sent / acknowledged /
refused / unanswered, replies over 2 s, spooled and replayed (from the gateway's log),
acknowledged scans lost and duplicated, feed events missed and duplicated, and
``stockd verify``. ``python -m tests.ha.drill --fault kill-leader`` exits 1 when a
promise was broken.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Literal

import aiohttp
import asyncpg

from hardware_mocks.pty_scanner import PtyScanner
from stock_core.domain.token import Role
from tests.cluster import ScannerLine
from tests.cluster import StockdProcess
from tests.cluster import feed_head
from tests.cluster import free_port
from tests.cluster import spooled_count
from tests.cluster import started_serve
from tests.cluster import stockd_verify
from tests.cluster import write_config
from tests.ha.cluster import HaCluster
from tests.ha.cluster import Node
from tests.soak.soak import Display
from tests.soak.soak import Worker
from tests.soak.soak import create_tokens
from tests.soak.soak import ledger_problems
from tests.soak.soak import load_warehouse
from tests.soak.soak import log_tails
from tests.soak.soak import progress_log
from tests.soak.soak import run_directory

__all__ = ["FAULTS", "ApiWriter", "DrillReport", "Fault", "main", "run_drill"]

Fault = Literal["kill-leader", "freeze-leader", "read-only", "async-lag"]
FAULTS: tuple[Fault, ...] = ("kill-leader", "freeze-leader", "read-only", "async-lag")

REPLY_BOUND = 2.0
"""Seconds: every frame gets its one reply within this, database sick or not."""
ANSWER_TIMEOUT = 6.0
"""How long a worker waits for a beep before counting the scan unanswered."""


_log = progress_log("drill")


@dataclass
class DrillReport:
    fault: str
    nodes: int
    scanners: int
    to_new_leader: float | None
    to_first_commit: float | None
    sent: int
    acked: int
    naked: int
    unanswered: int
    slow_replies: int
    max_reply: float
    spooled: int
    replayed: int
    window_replayed: int
    window_restored: int
    lost: list[str]
    duplicated: list[str]
    feed_missed: int
    feed_duplicated: int
    feed_resumes: int
    feed_history_changes: int
    """Snapshots sent because a failover lost events the display had (async-lag)."""
    verify_exit: int
    verify_output: str
    refused_behind: int
    api_applied: int
    api_retries: int
    api_refused: list[tuple[str, int]]
    api_lost: list[str]
    api_duplicated: list[str]

    def problems(self) -> list[str]:
        out = []
        # Asynchronous replication loses API writes acknowledged in its last seconds:
        # the replay window covers scans only (documented); reported, not failed.
        api_lost = self.api_lost if self.fault != "async-lag" else []
        if api_lost or self.api_duplicated or self.api_refused:
            out.append(
                f"API writes: {len(api_lost)} answered but lost, {len(self.api_duplicated)}"
                f" applied twice, refused {self.api_refused[:3]}"
            )
        if self.api_applied == 0:
            out.append("no API write was answered")
        out += ledger_problems(self.lost, self.duplicated)
        if self.naked:
            out.append(f"{self.naked} scan(s) refused (nak): an outage must spool, not refuse")
        if self.unanswered or self.slow_replies:
            out.append(
                f"{self.unanswered} scan(s) unanswered and {self.slow_replies} answered after"
                f" {REPLY_BOUND:g} s (max {self.max_reply:.2f} s)"
            )
        if self.feed_missed or self.feed_duplicated:
            out.append(f"feed: {self.feed_missed} missed, {self.feed_duplicated} duplicated")
        if self.verify_exit != 0:
            out.append(f"stockd verify failed:\n{self.verify_output}")
        if self.to_first_commit is None or self.to_first_commit > 30:
            out.append(f"no commit on the new primary within 30 s ({self.to_first_commit})")
        if self.acked == 0:
            out.append("nothing was acknowledged")
        return out

    def render(self) -> str:
        def secs(value: float | None) -> str:
            return "—" if value is None else f"{value:.1f} s"

        lines = [
            f"HA drill: {self.fault}, {self.nodes} nodes, {self.scanners} pty scanners, 1 display",
            f"  new primary after            {secs(self.to_new_leader)}",
            f"  first commit on it after     {secs(self.to_first_commit)}",
            f"  scans sent                   {self.sent}",
            f"  acknowledged                 {self.acked}",
            f"  refused (nak)                {self.naked}",
            f"  unanswered                   {self.unanswered}",
            f"  replies over {REPLY_BOUND:g} s             {self.slow_replies}"
            f" (slowest {self.max_reply:.2f} s)",
            f"  spooled                      {self.spooled}",
            f"  replayed from the spool      {self.replayed}",
            f"  replayed from the window     {self.window_replayed}"
            f" ({self.window_restored} missing on the new primary, restored)",
            f"  lost (acked, not in ledger)  {len(self.lost)}",
            f"  duplicated                   {len(self.duplicated)}",
            f"  old primary refused          {self.refused_behind} time(s)",
            f"  feed: missed {self.feed_missed}, duplicated {self.feed_duplicated},"
            f" resumes {self.feed_resumes}, history changed {self.feed_history_changes}",
            f"  API writes answered          {self.api_applied} ({self.api_retries} retries"
            f" with the same Idempotency-Key; lost {len(self.api_lost)}, applied twice"
            f" {len(self.api_duplicated)})",
            f"  stockd verify                exit {self.verify_exit}",
        ]
        problems = self.problems()
        lines.append("  RESULT: " + ("all promises kept" if not problems else "BROKEN"))
        lines += [f"  - {p}" for p in problems]
        return "\n".join(lines)


@dataclass
class ApiWriter:
    """A script posting receives through the API, each with its own ``Idempotency-Key``
    (and lot), retrying the same key on 503 or a lost connection until it is answered."""

    base: str
    token: str
    sku: str
    location: str
    applied: list[str] = field(default_factory=list)
    retries: int = 0
    refused: list[tuple[str, int]] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            n = 0
            while not stop.is_set():
                key = f"api-{n:05d}"
                n += 1
                body = {
                    "kind": "receive",
                    "sku": self.sku,
                    "location": self.location,
                    "quantity": 1,
                    "lot": key,
                }
                headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key}
                while True:
                    try:
                        async with http.post(
                            f"{self.base}/api/v1/movements", json=body, headers=headers
                        ) as reply:
                            status = reply.status
                    except (aiohttp.ClientError, TimeoutError):
                        status = 0
                    if status in (200, 201):
                        self.applied.append(key)
                        break
                    if status in (0, 502, 503, 504):
                        self.retries += 1
                        await asyncio.sleep(0.3)
                        continue
                    self.refused.append((key, status))
                    break
                await asyncio.sleep(0.1)


async def _prepare(url: str) -> tuple[list[str], list[str], str, str, str]:
    warehouse, gtins, locations = await load_warehouse(url, products=30)
    token, manager = await create_tokens(
        url, ("ha-display", Role.DISPLAY), ("ha-script", Role.MANAGER)
    )
    return gtins, locations, token, manager, warehouse.products[0].sku


async def _first_commit_after(url: str, since: float, timeout: float) -> float | None:  # noqa: ASYNC109
    """Seconds from ``since`` (a wall-clock time) to the first movement committed after it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, TimeoutError, asyncpg.PostgresError):
            conn = await asyncpg.connect(url, timeout=2)
            try:
                first = await conn.fetchval(
                    "SELECT extract(epoch FROM min(ts)) FROM movements WHERE ts > to_timestamp($1)",
                    since,
                    timeout=2,
                )
            finally:
                conn.terminate()
            if first is not None:
                return float(first) - since
        await asyncio.sleep(0.25)
    return None


def _log_figures(text: str) -> tuple[int, int, int, int, int]:
    """(spooled, replayed, window replayed, of them restored, old primaries refused),
    from the gateway's log."""
    drained = re.findall(r"spool drained: (\d+) scan\(s\) replayed \((\d+) spooled\)", text)
    replayed = max((int(r) for r, _ in drained), default=0)
    spooled = max((int(s) for _, s in drained), default=0)
    found = re.findall(
        r"replayed (\d+) scan\(s\) of the window after the failover: (\d+) were", text
    )
    window = max((int(n) for n, _ in found), default=0)
    restored = max((int(m) for _, m in found), default=0)
    refused = len(re.findall(r"refused \S+: it is on", text))
    return spooled, replayed, window, restored, refused


async def _inject(
    cluster: HaCluster, fault: Fault, leader: Node
) -> tuple[float, float | None, Node | None]:
    """Inject ``fault``; (wall time of the fault, seconds to a new leader, new leader)."""
    if fault == "read-only":
        await cluster.set_read_only(leader, True)
        await asyncio.sleep(10)
        await cluster.set_read_only(leader, False)
        return time.time(), None, leader  # the first commit is timed from the end
    if fault == "async-lag":
        # Replication stalls at the source (a WAL receiver frozen instead would still
        # find the stalled seconds in its socket buffer), then the leader dies.
        senders = cluster.walsender_pids(leader)
        assert senders, "the leader has no WAL sender"
        for pid in senders:
            os.kill(pid, signal.SIGSTOP)
        await asyncio.sleep(3)
        cluster.kill(leader)
        at = time.time()
    elif fault == "freeze-leader":
        cluster.freeze(leader)
        at = time.time()  # after the signals: nothing commits on it from here
    else:
        cluster.kill(leader)
        at = time.time()
    new = await cluster.wait_leader(other_than=leader.name, timeout=90)
    return at, time.time() - at, new


async def run_drill(
    fault: Fault = "kill-leader",
    *,
    nodes: int = 2,
    scanners: int = 8,
    before: float = 5.0,
    after: float = 20.0,
    seed: int = 7,
    workdir: Path | None = None,
) -> DrillReport:
    rng = random.Random(seed)
    work, own_dir = run_directory(workdir, "drill")
    _log(f"bringing up the HA stack ({'async' if fault == 'async-lag' else 'sync'} replication)")
    cluster = await HaCluster.up(nodes=nodes, synchronous=fault != "async-lag")
    ptys: list[PtyScanner] = []
    tasks: list[asyncio.Task[None]] = []
    stop_scans, stop_display = asyncio.Event(), asyncio.Event()
    serve: StockdProcess | None = None
    try:
        direct = cluster.urls["haproxy"]
        gtins, locations, token, manager, api_sku = await _prepare(direct)
        for i in range(scanners):
            ptys.append(await PtyScanner.create(work / f"tty-{i:02d}", name=f"h{i:02d}"))
        config = write_config(
            work / "stockd.toml",
            scanners=[
                ScannerLine(id=s.name, url=str(s.path), location=rng.choice(locations))
                for s in ptys
            ],
            spool_dir=work / "spool",
            web_port=free_port(),
        )
        serve = await started_serve(config, cluster.urls["multihost"], work)
        assert serve.url is not None
        display = Display(serve.feed_url, token, random.Random(seed), 6.0)
        tasks.append(asyncio.create_task(display.run(stop_display)))
        api = ApiWriter(serve.url, manager, api_sku, locations[0])
        workers = [
            Worker(
                s,
                gtins,
                random.Random(rng.random()),
                0.25,
                answer_timeout=ANSWER_TIMEOUT,
                settle=None,
                after_unanswered=0.0,
                reply_bound=REPLY_BOUND,
            )
            for s in ptys
        ]
        tasks += [asyncio.create_task(w.run(stop_scans)) for w in workers]
        tasks.append(asyncio.create_task(api.run(stop_scans)))
        await asyncio.sleep(before)
        leader = await cluster.leader()
        _log(f"fault: {fault} on {leader.name}")
        at, to_leader, new = await _inject(cluster, fault, leader)
        if new is not None and new.name != leader.name:
            _log(f"new leader {new.name} after {to_leader:.1f} s")
        target = new or leader
        to_commit = await _first_commit_after(target.url, at, 45)
        _log(f"first commit on {target.name} {to_commit} s after the fault")
        if fault == "freeze-leader":
            _log(f"waking {leader.name} (the old primary) up")
            cluster.thaw(leader)
        await asyncio.sleep(after)
        stop_scans.set()
        await asyncio.gather(*tasks[1:])
        _log("scanners stopped; waiting for the spool to drain")
        deadline = time.monotonic() + 60
        while await asyncio.to_thread(spooled_count, work / "spool"):
            if time.monotonic() > deadline:
                raise TimeoutError("the spool did not drain within 60 s")
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.5)
        head = await feed_head(direct)
        stop_display.set()
        await tasks[0]
        await display.finish(head)
        missed, duplicated = display.missed_and_duplicated(head)
        await serve.stop(signal.SIGTERM)
        conn = await asyncpg.connect(direct)
        try:
            lots = Counter(
                r["lot"]
                for r in await conn.fetch("SELECT lot FROM movements WHERE scanner IS NOT NULL")
            )
            api_lots = Counter(
                r["lot"]
                for r in await conn.fetch(
                    "SELECT lot FROM movements WHERE scanner IS NULL AND lot LIKE 'api-%'"
                )
            )
        finally:
            await conn.close()
        verify_exit, verify_output = await stockd_verify(direct, work / "home")
        spooled, replayed, window, restored, refused = _log_figures(
            serve.errlog.read_text(errors="replace")
        )
        latencies = [x for w in workers for x in w.latencies]
        slow = sorted(round(t - at, 1) for w in workers for t in w.slow_at)
        if slow:
            _log(f"replies over {REPLY_BOUND:g} s for scans sent at {slow} s from the fault")
        acked = {lot for w in workers for lot in w.acked}
        return DrillReport(
            fault=fault,
            nodes=nodes,
            scanners=scanners,
            to_new_leader=to_leader,
            to_first_commit=to_commit,
            sent=sum(len(w.sent) for w in workers),
            acked=len(acked),
            naked=sum(len(w.naked) for w in workers),
            unanswered=sum(len(w.unanswered) for w in workers),
            slow_replies=sum(1 for x in latencies if x > REPLY_BOUND),
            max_reply=max(latencies, default=0.0),
            spooled=spooled,
            replayed=replayed,
            window_replayed=window,
            window_restored=restored,
            lost=sorted(acked - set(lots)),
            duplicated=sorted(lot for lot, n in lots.items() if n > 1),
            feed_missed=missed,
            feed_duplicated=duplicated,
            feed_resumes=display.reconnects,
            feed_history_changes=display.history_changes,
            verify_exit=verify_exit,
            verify_output=verify_output,
            refused_behind=refused,
            api_applied=len(api.applied),
            api_retries=api.retries,
            api_refused=api.refused,
            api_lost=sorted(set(api.applied) - set(api_lots)),
            api_duplicated=sorted(k for k, n in api_lots.items() if n > 1),
        )
    except BaseException:
        log_tails(_log, [serve], 6000)
        raise
    finally:
        stop_scans.set()
        stop_display.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if serve is not None and serve.running:
            await serve.stop(signal.SIGKILL)
        for s in ptys:
            await s.aclose()
        left = await cluster.down()
        if left.strip():
            _log(f"stack down: {left.strip()}")
        if own_dir:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.ha.drill", description=__doc__)
    parser.add_argument("--fault", choices=FAULTS, default="kill-leader")
    parser.add_argument("--nodes", type=int, choices=(2, 3), default=2)
    parser.add_argument("--scanners", type=int, default=8)
    parser.add_argument("--after", type=float, default=20.0)
    parser.add_argument(
        "--keep",
        type=Path,
        dest="workdir",
        metavar="KEEP",
        help="keep logs and spool in this directory",
    )
    report = asyncio.run(run_drill(**vars(parser.parse_args(argv))))
    print(report.render(), flush=True)
    return 1 if report.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
