"""Every frame gets exactly one, true, reply: a busy gateway never cuts a scan in two.

A gateway whose event loop is held up (a restart replaying its spool, a slow fsync)
may read the first half of a scan, then the rest 200 ms later. With a scanner that
ends its scans with CR LF the idle gap (80 ms) must not end the frame in between: a
scan cut in two came out as two unknown codes, two naks for one frame, while the
scan itself was never stocked (issue 12.11: 2,392 acks + 16 naks for 2,400 frames).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from hardware_mocks.frames import HONEYWELL
from hardware_mocks.pty_scanner import PtyScanner
from scanner_gateway.gateway import Gateway
from stock_core.service import StockService
from stock_core.store.connection import Pool
from tests.gateway_harness import all_connected
from tests.gateway_harness import honeywell_config
from tests.gateway_harness import stock_rows
from tests.integration.catalog_fixture import load_sample_catalog
from tests.timing import UNIT


async def test_a_scan_read_in_two_halves_around_a_stall_is_one_scan_and_one_ack(
    pool: Pool, tmp_path: Path
) -> None:
    service = StockService(pool)
    await load_sample_catalog(service)
    pty = await PtyScanner.create(tmp_path / "dock", HONEYWELL, name="dock")
    config = honeywell_config("dock", pty.path, mode="receive", location="A-01")
    gateway = Gateway(service, [config], tmp_path / "spool")
    await gateway.start()
    try:
        await all_connected(gateway)
        frame = HONEYWELL.frame("5012345678900", aim="]E0")  # WIDGET
        for _ in range(3):
            half = len(frame) // 2
            await asyncio.to_thread(pty.send_raw, frame[:half])
            await asyncio.sleep(0.02 * UNIT)  # the gateway reads the first half
            # ... then is busy for longer than the idle gap, and reads the rest late
            asyncio.get_running_loop().call_soon(time.sleep, 0.25)
            await asyncio.to_thread(pty.send_raw, frame[half:])
            await asyncio.sleep(0.3 * UNIT)
        heard = await pty.wait_feedback(3, 5 * UNIT)
        await asyncio.sleep(0.2 * UNIT)  # nothing more may come
        assert (heard.acks, heard.naks, heard.other) == (3, 0, 0)
        assert (pty.feedback.acks, pty.feedback.naks) == (3, 0)
        assert gateway.runtimes["dock"].counters.frames == 3
    finally:
        await gateway.stop()
        await pty.aclose()
    assert (await stock_rows(pool))[("WIDGET", "A-01")] == 3
