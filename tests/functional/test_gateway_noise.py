"""Ten megabytes of line noise on one scanner disturb neither the others nor the gateway."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hardware_mocks.frames import DATALOGIC, HONEYWELL
from hardware_mocks.pty_scanner import PtyScanner
from scanner_gateway.config import ScannerConfig
from scanner_gateway.gateway import Gateway
from scanner_gateway.serial_link import LinkState, SerialLink
from stock_core.service import StockService
from stock_core.store.connection import Pool
from tests.gateway_harness import Rig, eventually, ledger_rows, open_rig, outbox_payloads
from tests.integration.catalog_fixture import load_sample_catalog
from tests.timing import UNIT

WIDGET = "05012345678900"
NOISE_BYTES = 10 * 1024 * 1024
CHUNK = 64 * 1024
GOOD_SCANS = 40


@pytest.fixture
async def service(pool: Pool) -> StockService:
    svc = StockService(pool)
    await load_sample_catalog(svc)
    return svc


@pytest.fixture
async def rigs(tmp_path: Path) -> AsyncIterator[tuple[Rig, Rig]]:
    noisy_scanner = await PtyScanner.create(
        tmp_path / "noisy", HONEYWELL, name="noisy", write_timeout=10.0, seed=10
    )
    # "auto" ends a frame on any CR, LF or TAB: the most frames random bytes can make
    config = ScannerConfig(
        id="noisy",
        url=str(noisy_scanner.path),
        preset="honeywell",
        terminator="auto",
        feedback="honeywell",
        location="DOCK-1",
    )
    noisy = Rig("noisy", noisy_scanner, HONEYWELL, config)
    quiet = await open_rig("quiet", "tcp", DATALOGIC, tmp_path, location="DOCK-1")
    try:
        yield noisy, quiet
    finally:
        await noisy.close()
        await quiet.close()


def _blast(scanner: PtyScanner) -> float:
    """Send the noise from this thread, chunk by chunk; the seconds it took."""
    started = time.monotonic()
    for _ in range(NOISE_BYTES // CHUNK):
        scanner.send_noise(CHUNK)
    return time.monotonic() - started


async def _quiet_for(rig: Rig, seconds: float) -> None:
    """Wait until no feedback has reached ``rig`` for ``seconds``."""
    last = rig.target.feedback
    while True:
        await asyncio.sleep(seconds)
        now = rig.target.feedback
        if now == last:
            return
        last = now


async def test_ten_megabytes_of_noise_on_one_line_leave_the_other_scanner_and_the_gateway_fine(
    service: StockService, pool: Pool, rigs: tuple[Rig, Rig], tmp_path: Path
) -> None:
    noisy, quiet = rigs
    gateway = Gateway(service, [noisy.config, quiet.config], tmp_path / "spool")
    await gateway.start()
    try:
        await eventually(
            lambda: all(s.state == "connected" for s in gateway.statuses()),
            5 * UNIT,
            "connected",
        )
        assert isinstance(noisy.target, PtyScanner)
        blasting = asyncio.create_task(asyncio.to_thread(_blast, noisy.target))
        latencies: list[float] = []
        answers = []
        while not blasting.done() or len(latencies) < GOOD_SCANS:
            started = time.monotonic()
            answers.append(await quiet.scan(WIDGET))
            latencies.append(time.monotonic() - started)
            await asyncio.sleep(0.02)
        blast_seconds = await blasting
        noisy_runtime = gateway.runtimes["noisy"]
        await eventually(noisy_runtime.queue.empty, 20 * UNIT, "noisy scanner served")
        await _quiet_for(noisy, 0.3 * UNIT)
        # the noisy scanner works again as soon as the noise stops
        assert await noisy.scan(WIDGET) == "ack"
        assert await quiet.scan(WIDGET) == "ack"
        assert all(s.state == "connected" for s in gateway.statuses())
        assert not any(t.done() for t in gateway._tasks), "a gateway task died"
        counters = noisy_runtime.counters
        await gateway.events.flush()
    finally:
        await gateway.stop()

    # every good scan on the quiet line was taken, each within a bounded time
    assert answers == ["ack"] * len(answers)
    assert len(latencies) >= GOOD_SCANS
    assert max(latencies) < 0.5 * UNIT, f"max {max(latencies):.3f}s"
    assert statistics.median(latencies) < 0.2 * UNIT
    # the noise was seen as noise, and announced at a bounded rate
    assert counters.garbled > 1000
    assert counters.baud_warnings > 0
    rejected = [e for e in await outbox_payloads(pool, "scan.rejected") if e["scanner"] == "noisy"]
    assert 0 < len(rejected) <= 20 + 10 * (blast_seconds + 5)
    # it changed no stock: only the last, good scan of each scanner counts
    rows = await ledger_rows(pool)
    assert sum(r["scanner"] == "noisy" for r in rows) == 1
    assert sum(r["scanner"] == "quiet" for r in rows) == len(answers) + 1
    assert (await service.stock_of("WIDGET")).on_hand == len(answers) + 2
    assert (await service.stock_of("GADGET")).on_hand == 0
    report = await service.verify()
    assert report.ok, report.render()
    print(
        f"\nnoise {NOISE_BYTES} B in {blast_seconds:.2f}s; quiet scans {len(answers)},"
        f" latency max {max(latencies) * 1000:.0f} ms, median"
        f" {statistics.median(latencies) * 1000:.0f} ms; noisy counters {counters};"
        f" rejections announced {len(rejected)}"
    )


def _flood(scanner: PtyScanner, enough: threading.Event) -> int:
    """Send noise in 64 KiB chunks until ``enough``; the bytes sent."""
    sent = 0
    while not enough.is_set():
        scanner.send_noise(CHUNK)
        sent += CHUNK
    return sent


async def test_a_flooding_line_keeps_at_most_two_chunks_waiting_on_the_loop(
    tmp_path: Path,
) -> None:
    """Backpressure from the loop to a port's reader thread, seen directly."""
    flood = await PtyScanner.create(tmp_path / "flood", HONEYWELL, write_timeout=10.0, seed=1)
    chunks: list[int] = []
    states: list[LinkState] = []
    config = ScannerConfig(id="flood", url=str(flood.path), preset="honeywell")
    with ThreadPoolExecutor(2) as executor:
        link = SerialLink(
            config,
            on_bytes=lambda data, _: chunks.append(len(data)),
            on_state=lambda state, _: states.append(state),
            executor=executor,
        )
        running = asyncio.create_task(link.run())
        try:
            await eventually(lambda: LinkState.CONNECTED in states, 5 * UNIT, "connected")
            enough = threading.Event()
            sending = asyncio.create_task(asyncio.to_thread(_flood, flood, enough))
            await eventually(lambda: len(chunks) > 2, 5 * UNIT, "noise arriving")
            # The loop is busy elsewhere for a while; the reader thread keeps reading.
            time.sleep(0.3 * UNIT)  # noqa: ASYNC251 - blocking the loop is the point
            before = len(chunks)
            await asyncio.sleep(0)  # run exactly what was queued meanwhile
            queued = len(chunks) - before
            enough.set()
            sent = await sending
            await eventually(lambda: sum(chunks) == sent, 5 * UNIT, "all noise read")
        finally:
            link.stop()
            await running
            await flood.aclose()
    assert queued <= 2, f"{queued} chunks were waiting on the loop"
    assert sent > 0
    assert max(chunks) <= 4096
