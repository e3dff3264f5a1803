"""Line noise on one scanner disturbs neither the others nor the gateway, and every
frame of it read is nakked (SPEC promises 7 and 8)."""

from __future__ import annotations

import asyncio
import random
import statistics
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hardware_mocks.frames import DATALOGIC
from hardware_mocks.frames import HONEYWELL
from hardware_mocks.pty_scanner import PtyScanner
from scanner_gateway.gateway import Gateway
from stock_core.service import StockService
from stock_core.store.connection import Pool
from tests.gateway_harness import Rig
from tests.gateway_harness import all_connected
from tests.gateway_harness import eventually
from tests.gateway_harness import honeywell_config
from tests.gateway_harness import invariants_hold
from tests.gateway_harness import ledger_rows
from tests.gateway_harness import open_rig
from tests.gateway_harness import outbox_payloads
from tests.timing import UNIT

WIDGET = "05012345678900"
NOISE_BYTES = 10 * 1024 * 1024
CHUNK = 64 * 1024
GOOD_SCANS = 40


@pytest.fixture
async def rigs(tmp_path: Path) -> AsyncIterator[tuple[Rig, Rig]]:
    noisy_scanner = await PtyScanner.create(
        tmp_path / "noisy", HONEYWELL, name="noisy", write_timeout=10.0, seed=10
    )
    # "auto" ends a frame on any CR, LF or TAB: the most frames random bytes can make
    config = honeywell_config("noisy", noisy_scanner.path, terminator="auto", location="DOCK-1")
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
        await all_connected(gateway)
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
        heard = noisy.target.feedback
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
    # every unreadable or over-long frame got its nak, and every nak reached the line
    assert counters.naks >= counters.garbled + counters.too_long
    assert (heard.acks, heard.naks, heard.other) == (counters.acks, counters.naks, 0)
    assert counters.paused > 0
    rejected = [e for e in await outbox_payloads(pool, "scan.rejected") if e["scanner"] == "noisy"]
    assert 0 < len(rejected) <= 20 + 10 * (blast_seconds + 5)
    # it changed no stock: only the last, good scan of each scanner counts
    rows = await ledger_rows(pool)
    assert sum(r["scanner"] == "noisy" for r in rows) == 1
    assert sum(r["scanner"] == "quiet" for r in rows) == len(answers) + 1
    assert (await service.stock_of("WIDGET")).on_hand == len(answers) + 2
    assert (await service.stock_of("GADGET")).on_hand == 0
    await invariants_hold(service)
    print(
        f"\nnoise {NOISE_BYTES} B in {blast_seconds:.2f}s; quiet scans {len(answers)},"
        f" latency max {max(latencies) * 1000:.0f} ms, median"
        f" {statistics.median(latencies) * 1000:.0f} ms; noisy counters {counters};"
        f" rejections announced {len(rejected)}"
    )


def _noise_lines(rng: random.Random, size: int) -> tuple[bytes, int]:
    """About ``size`` bytes of CRLF-ended lines that are each certainly refused, without
    asking the database: random bytes with a high-bit byte (unreadable), lines over the
    512-byte cap (too long), and short readable lines the decoder refuses (an unknown
    command). The first is unreadable, so none is taken for a partial first frame.
    Returns the bytes and their number of lines."""
    out = bytearray()
    lines = 0
    while len(out) < size:
        kind = rng.random() if out else 0.0
        if kind < 0.3:
            garbage = rng.randbytes(rng.randrange(1, 200)).translate(None, b"\r\n")
            out += garbage + bytes([rng.randrange(0x80, 0xFF)])
        elif kind < 0.4:
            out += b"X" * rng.randrange(600, 3000)
        else:
            out += b"CMD:NOISE%d" % rng.randrange(10**6)
        out += b"\r\n"
        lines += 1
    return bytes(out), lines


def _flood(scanner: PtyScanner, enough: threading.Event) -> int:
    """Send refused lines in 64 KiB runs, as fast as the pty takes them, until
    ``enough``; the lines sent. The first run differs from the ones repeated after it."""
    rng = random.Random(7)
    runs = [_noise_lines(rng, CHUNK) for _ in range(9)]
    scanner.send_raw(runs[0][0])
    lines = runs[0][1]
    while not enough.is_set():
        for noise, count in runs[1:]:
            scanner.send_raw(noise)
            lines += count
    return lines


async def test_a_line_flooding_noise_without_end_starves_no_other_and_each_frame_is_nakked(
    service: StockService, pool: Pool, tmp_path: Path
) -> None:
    """One port floods, without end; a quiet port beside it is served all the while."""
    flood = await PtyScanner.create(tmp_path / "flood", HONEYWELL, write_timeout=30 * UNIT)
    # CRLF and a long idle gap: every line is exactly one frame, however it is read
    flood_config = honeywell_config("flood", flood.path, idle_gap_ms=10_000, location="DOCK-1")
    quiet = await open_rig("quiet", "pty", HONEYWELL, tmp_path, location="DOCK-1")
    gateway = Gateway(service, [flood_config, quiet.config], tmp_path / "spool")
    await gateway.start()
    try:
        await all_connected(gateway)
        enough = threading.Event()
        flooding = asyncio.create_task(asyncio.to_thread(_flood, flood, enough))
        flood_counters = gateway.runtimes["flood"].counters
        await eventually(lambda: flood.feedback.naks > 1000, 10 * UNIT, "the flood flowing")
        latencies: list[float] = []
        answers = []
        for _ in range(GOOD_SCANS):
            started = time.monotonic()
            answers.append(await quiet.scan(WIDGET))
            latencies.append(time.monotonic() - started)
        assert not flooding.done(), "the flood must still be flowing"
        naks_meanwhile = flood.feedback.naks
        enough.set()
        lines = await flooding
        await eventually(lambda: flood.feedback.naks >= lines, 20 * UNIT, "every line nakked")
        await asyncio.sleep(0.2 * UNIT)  # and nothing more comes
        heard = flood.feedback
        quiet_counters = gateway.runtimes["quiet"].counters
        await gateway.events.flush()
    finally:
        enough.set()
        await gateway.stop()
        await flood.aclose()
        await quiet.close()

    # the quiet scanner was served throughout, each scan within a bounded time
    assert answers == ["ack"] * GOOD_SCANS
    assert max(latencies) < 0.5 * UNIT, f"max {max(latencies):.3f}s"
    assert statistics.median(latencies) < 0.2 * UNIT
    assert quiet_counters.paused == 0
    # every line of noise read got exactly one nak, and nothing else was said
    assert (heard.acks, heard.naks, heard.other) == (0, lines, 0)
    assert flood_counters.garbled + flood_counters.too_long + flood_counters.frames == lines
    assert flood_counters.partial_dropped == 0
    assert flood_counters.naks == lines
    assert lines > naks_meanwhile > 1000
    # announced at a bounded rate, and no stock changed but the quiet scans
    rejected = [e for e in await outbox_payloads(pool, "scan.rejected") if e["scanner"] == "flood"]
    assert 0 < len(rejected) < lines
    assert await ledger_rows(pool, "flood") == []
    assert (await service.stock_of("WIDGET")).on_hand == GOOD_SCANS
    print(
        f"\nflood: {lines} lines nakked, reading paused {flood_counters.paused} times;"
        f" quiet latency max {max(latencies) * 1000:.0f} ms,"
        f" median {statistics.median(latencies) * 1000:.0f} ms"
    )
