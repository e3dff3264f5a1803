"""Multi-node: two ``stockd gateway`` and two ``stockd web`` processes, one database.

Scanners on ptys are split across the gateways (edge boxes); displays connect to
both web nodes (as behind a load balancer). Every scan is counted once, and every
display on every node sees every event, gap-free and in the same order: the
sequencer may run on either web node, and the advisory lock makes it one at a time.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from hardware_mocks.frames import gtin14
from hardware_mocks.pty_scanner import PtyScanner
from stock_core.domain.token import Role
from stock_core.service import StockService
from stock_core.store.connection import Pool
from tests.cluster import ScannerLine
from tests.cluster import StockdProcess
from tests.cluster import write_config
from tests.gateway_harness import eventually
from tests.gateway_harness import ledger_rows
from tests.pg import UNSEQUENCED
from tests.timing import UNIT

GATEWAYS = 2
WEB_NODES = 2
SCANNERS_PER_GATEWAY = 4
DISPLAYS_PER_NODE = 3
SCANS_PER_SCANNER = 50
GTINS = (gtin14("05012345678900"), gtin14("4006381333931"), gtin14("00012345678905"))
ANSWER_TIMEOUT = 5 * UNIT


@pytest.fixture
async def scanners(tmp_path: Path) -> AsyncIterator[list[PtyScanner]]:
    opened: list[PtyScanner] = []
    try:
        for i in range(GATEWAYS * SCANNERS_PER_GATEWAY):
            opened.append(await PtyScanner.create(tmp_path / f"tty-m{i}", name=f"m{i}"))
        yield opened
    finally:
        for scanner in opened:
            await scanner.aclose()


@pytest.fixture
async def nodes(
    service: StockService, database_url: str, scanners: list[PtyScanner], tmp_path: Path
) -> AsyncIterator[tuple[list[StockdProcess], list[StockdProcess]]]:
    gateways = []
    for g in range(GATEWAYS):
        mine = scanners[g * SCANNERS_PER_GATEWAY : (g + 1) * SCANNERS_PER_GATEWAY]
        config = await asyncio.to_thread(
            write_config,
            tmp_path / f"gateway{g}.toml",
            scanners=[ScannerLine(id=s.name, url=str(s.path)) for s in mine],
            spool_dir=tmp_path / f"spool{g}",
        )
        gateways.append(
            StockdProcess(
                "gateway", config, database_url=database_url, log_dir=tmp_path, name=f"gateway{g}"
            )
        )
    web_config = await asyncio.to_thread(write_config, tmp_path / "web.toml")
    webs = [
        StockdProcess(
            "web", web_config, database_url=database_url, log_dir=tmp_path, name=f"web{w}"
        )
        for w in range(WEB_NODES)
    ]
    everything = [*webs, *gateways]
    try:
        await asyncio.gather(*(p.start(timeout=30 * UNIT) for p in everything))
        yield gateways, webs
    finally:
        for proc in everything:
            if proc.running:
                await proc.stop()


class _Display:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.snapshot_seq: int | None = None
        self.events: list[dict[str, Any]] = []
        self.task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    async def run(self) -> None:
        async with websockets.connect(self.url, max_size=None) as ws:
            await ws.send(json.dumps({"type": "hello", "token": self.token, "since": None}))
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] == "snapshot":
                    assert self.snapshot_seq is None, "a second snapshot: the display fell behind"
                    self.snapshot_seq = message["seq"]
                    self.ready.set()
                elif "seq" in message:
                    self.events.append(message)

    @property
    def last_seq(self) -> int:
        return self.events[-1]["seq"] if self.events else (self.snapshot_seq or 0)


async def _scan_all(scanner: PtyScanner) -> tuple[list[str], list[str]]:
    """Scan ``SCANS_PER_SCANNER`` unique lots, one at a time: (acked, not acked)."""
    acked: list[str] = []
    other: list[str] = []
    for n in range(SCANS_PER_SCANNER):
        lot = f"{scanner.name}-{n:03d}"
        before = scanner.feedback
        scanner.send_scan(f"01{GTINS[n % len(GTINS)]}10{lot}", aim="]C1")
        try:
            after = await scanner.wait_feedback(before.events + 1, ANSWER_TIMEOUT)
        except TimeoutError:
            other.append(lot)
            continue
        (acked if after.acks == before.acks + 1 else other).append(lot)
    return acked, other


async def _connected(service: StockService, scanners: list[PtyScanner]) -> bool:
    states = await service.list_scanners()
    up = {view.state.id for view in states if view.state.state == "connected"}
    return {s.name for s in scanners} <= up


async def test_two_gateways_and_two_web_nodes_count_each_scan_once_and_feed_every_display(
    service: StockService,
    pool: Pool,
    scanners: list[PtyScanner],
    nodes: tuple[list[StockdProcess], list[StockdProcess]],
) -> None:
    gateways, webs = nodes
    token, _ = await service.create_token("multinode", Role.DISPLAY)
    displays = [
        _Display(f"{web.url}/feed".replace("http://", "ws://"), token)
        for web in webs
        for _ in range(DISPLAYS_PER_NODE)
    ]
    for display in displays:
        display.task = asyncio.create_task(display.run())
    try:
        async with asyncio.timeout(10 * UNIT):
            await asyncio.gather(*(d.ready.wait() for d in displays))
        # Both gateways have every scanner open before anyone scans.
        deadline = asyncio.get_running_loop().time() + 15 * UNIT
        while not await _connected(service, scanners):
            assert asyncio.get_running_loop().time() < deadline, "scanners not connected"
            await asyncio.sleep(0.1)

        results = await asyncio.gather(*(_scan_all(s) for s in scanners))
        acked = [lot for mine, _ in results for lot in mine]
        not_acked = [lot for _, theirs in results for lot in theirs]
        assert not not_acked, f"scans not acknowledged: {not_acked}"

        rows = await ledger_rows(pool)
        lots = Counter(r["lot"] for r in rows)
        assert sorted(lots) == sorted(acked), "the ledger holds other scans than were acked"
        assert max(lots.values()) == 1, [lot for lot, n in lots.items() if n > 1]
        assert {r["scanner"] for r in rows} == {s.name for s in scanners}

        # Every display on every node catches up to the feed's head ...
        async with asyncio.timeout(10 * UNIT):
            while True:
                if not await pool.fetchval(UNSEQUENCED):
                    break
                await asyncio.sleep(0.05)
        head = await pool.fetchval("SELECT max(seq) FROM feed")
        await eventually(
            lambda: all(d.last_seq >= head for d in displays),
            15 * UNIT,
            "every display at the head of the feed",
        )
    finally:
        for display in displays:
            assert display.task is not None
            display.task.cancel()
        await asyncio.gather(*(d.task for d in displays if d.task), return_exceptions=True)

    # ... with no gap, nothing twice, in order ...
    for display in displays:
        seqs = [e["seq"] for e in display.events]
        assert display.snapshot_seq is not None
        assert seqs == list(range(display.snapshot_seq + 1, head + 1)), display.url
    # ... and the same events under the same numbers on both nodes.
    by_seq: dict[int, tuple[str, Any]] = {}
    for display in displays:
        for event in display.events:
            key = (event["type"], event.get("movement_id") or event.get("scanner"))
            assert by_seq.setdefault(event["seq"], key) == key, f"seq {event['seq']} differs"
    movements = {
        e["movement_id"]
        for d in displays
        for e in d.events
        if e["type"] == "stock.changed" and e.get("scanner")
    }
    assert movements == {r["id"] for r in rows}, "a movement never reached the feed"
    assert all(p.running for p in (*gateways, *webs))
