"""Scanners uploading their stored scans all at once: every scan is counted, in order.

Each simulated scanner writes its whole batch to its pty in one write before it reads
a single answer, as a scanner in batch mode does when it is docked. The gateway may
read those bytes only as fast as it can serve them (it stops reading a port whose
scans are waiting, SPEC promise 8), but it must read every one, in order, and answer
each exactly once. Each scan carries its own lot (GS1 AI 10), so the ledger shows the
order in which the scans were posted.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hardware_mocks.frames import HONEYWELL
from hardware_mocks.frames import ean13
from hardware_mocks.frames import gs1_element_string
from hardware_mocks.frames import gtin14
from hardware_mocks.pty_scanner import PtyScanner
from scanner_gateway.config import ScannerConfig
from scanner_gateway.gateway import Gateway
from stock_core.service import StockService
from stock_core.store.connection import Pool
from tests.gateway_harness import all_connected
from tests.gateway_harness import honeywell_config
from tests.gateway_harness import invariants_hold
from tests.gateway_harness import ledger_rows
from tests.gateway_harness import stock_rows
from tests.timing import UNIT

PRODUCT_HEADER = (
    b"sku,name,barcodes,category,unit_cost,weight_g,length_mm,width_mm,height_mm,"
    b"reorder_point,reorder_qty,lead_time_days,safety_stock\n"
)


@dataclass(frozen=True)
class Uploader:
    """One docked scanner: its pty, the product it received and where."""

    id: str
    sku: str
    gtin: str
    location: str
    pty: PtyScanner
    config: ScannerConfig

    def lot(self, n: int) -> str:
        """Letters, so no run of digits looks like a GS1 AI; 36-byte frames, so reads
        (4095 bytes at most from a pty) end inside a frame."""
        letters = "".join(chr(65 + n // 26**k % 26) for k in reversed(range(5)))
        return f"{self.id}-{letters}"

    def batch(self, scans: int) -> bytes:
        """``scans`` receive scans of its product, lot by lot, as one run of bytes."""
        return b"".join(
            HONEYWELL.frame(
                gs1_element_string([("01", gtin14(self.gtin)), ("10", self.lot(n))]),
                aim="]C1",
            )
            for n in range(scans)
        )


@contextlib.asynccontextmanager
async def _uploaders(
    service: StockService, directory: Path, count: int
) -> AsyncIterator[list[Uploader]]:
    gtins = [ean13(f"4099887700{n:02d}") for n in range(count)]
    products = b"".join(
        f"BURST-{n},Burst product {n},{gtin},burst,1.00,10,,,,0,0,0,0\n".encode()
        for n, gtin in enumerate(gtins)
    )
    locations = b"".join(f"BIN-{n},BURST,Burst bin {n},\n".encode() for n in range(count))
    await service.import_locations(b"code,zone,name,gln\n" + locations)
    await service.import_products(PRODUCT_HEADER + products)
    uploaders: list[Uploader] = []
    try:
        for n, gtin in enumerate(gtins):
            scanner_id = f"batch-{n}"
            # the batch must fit in the pty while the gateway is not reading it
            pty = await PtyScanner.create(
                directory / scanner_id, HONEYWELL, name=scanner_id, write_timeout=10 * UNIT
            )
            config = honeywell_config(scanner_id, pty.path, mode="receive", location=f"BIN-{n}")
            uploaders.append(Uploader(scanner_id, f"BURST-{n}", gtin, f"BIN-{n}", pty, config))
        yield uploaders
    finally:
        for uploader in uploaders:
            await uploader.pty.aclose()


async def _upload_all_at_once(
    service: StockService, pool: Pool, directory: Path, scanners: int, scans: int
) -> float:
    """Every scanner writes ``scans`` scans in one go; check all of them; the seconds."""
    async with _uploaders(service, directory, scanners) as uploaders:
        gateway = Gateway(service, [u.config for u in uploaders], directory / "spool")
        await gateway.start()
        try:
            await all_connected(gateway)
            batches = [u.batch(scans) for u in uploaders]
            started = time.monotonic()
            await asyncio.gather(
                *(
                    asyncio.to_thread(u.pty.send_raw, b)
                    for u, b in zip(uploaders, batches, strict=True)
                )
            )
            async with asyncio.timeout(120 * UNIT):
                heard = await asyncio.gather(
                    *(u.pty.wait_feedback(scans, 120 * UNIT) for u in uploaders)
                )
            seconds = time.monotonic() - started
            await asyncio.sleep(0.2 * UNIT)  # nothing more may come
            late = [u.pty.feedback for u in uploaders]
            counters = {u.id: gateway.runtimes[u.id].counters for u in uploaders}
            await gateway.events.flush()
        finally:
            await gateway.stop()

        # exactly one answer per scan, every one of them an ack
        for uploader, first, last in zip(uploaders, heard, late, strict=True):
            assert (last.acks, last.naks, last.other) == (scans, 0, 0), uploader.id
            assert first == last, uploader.id
            assert counters[uploader.id].committed == scans, uploader.id
            assert counters[uploader.id].frames == scans, uploader.id
        # the gateway stopped reading while it caught up, instead of dropping
        assert any(c.paused for c in counters.values()), counters

        stock = await stock_rows(pool)
        for uploader in uploaders:
            assert stock[(uploader.sku, uploader.location)] == scans, uploader.id
            rows = await ledger_rows(pool, uploader.id)
            rows.sort(key=lambda r: r["scan_seq"])
            assert [r["lot"] for r in rows] == [uploader.lot(n) for n in range(scans)]
            assert {(r["kind"], r["sku"], r["location"], r["delta"]) for r in rows} == {
                ("receive", uploader.sku, uploader.location, 1)
            }
        await invariants_hold(service)
        return seconds


async def test_two_scanners_uploading_a_hundred_stored_scans_each_have_every_one_counted(
    service: StockService, pool: Pool, tmp_path: Path
) -> None:
    await _upload_all_at_once(service, pool, tmp_path, scanners=2, scans=100)


@pytest.mark.slow
async def test_eight_scanners_uploading_five_hundred_stored_scans_at_once_lose_none(
    service: StockService, pool: Pool, tmp_path: Path
) -> None:
    seconds = await _upload_all_at_once(service, pool, tmp_path, scanners=8, scans=500)
    print(f"\n8 x 500 stored scans acked in {seconds:.1f}s ({4000 / seconds:.0f} scans/s)")
