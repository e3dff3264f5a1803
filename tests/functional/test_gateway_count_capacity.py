"""Count tasks and capacity from a scanner on a pty, through ``stockd gateway``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from hardware_mocks.frames import HONEYWELL
from hardware_mocks.pty_scanner import PtyScanner
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.model import LocationSpec
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from tests.cluster import StockdProcess
from tests.gateway_harness import outbox_payloads
from tests.timing import UNIT

WIDGET = "05012345678900"


@pytest.fixture
async def scanner(tmp_path: Path) -> AsyncIterator[PtyScanner]:
    async with await PtyScanner.create(tmp_path / "tty-c1", HONEYWELL, name="c1") as s:
        yield s


@pytest.fixture
async def gateway(
    service: StockService, scanner: PtyScanner, database_url: str, tmp_path: Path
) -> AsyncIterator[StockdProcess]:
    config = tmp_path / "stockd.toml"
    config.write_text(
        "\n".join(
            [
                "[gateway]",
                f'spool_dir = "{tmp_path / "spool"}"',
                "",
                "[[scanners]]",
                'id = "c1"',
                f'url = "{scanner.path}"',
                f"baudrate = {HONEYWELL.baudrate}",
                f'terminator = "{HONEYWELL.terminator_name}"',
                'feedback = "honeywell"',
                'mode = "receive"',
                "",
            ]
        )
    )
    process = StockdProcess("gateway", config, database_url=database_url, log_dir=tmp_path)
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


async def _scan(scanner: PtyScanner, text: str) -> str:
    before = scanner.feedback
    scanner.send_scan(text)
    after = await scanner.wait_feedback(before.events + 1, 10 * UNIT)
    return "ack" if after.acks > before.acks else "nak"


async def _receive(service: StockService, key: str, sku: str, where: str, n: int) -> None:
    command = Receive(ProductRef(sku=Sku(sku)), LocationCode(where), n)
    await service.post(Envelope(IdempotencyKey(key), command))


async def _at(service: StockService, sku: str, where: str) -> int:
    level = await service.stock_of(sku)
    return sum(x.on_hand for x in level.locations if x.location == where)


async def test_a_scanner_count_inside_a_task_waits_for_confirmation(
    gateway: StockdProcess, scanner: PtyScanner, service: StockService
) -> None:
    await _receive(service, "s1", "WIDGET", "A-01", 10)
    await _receive(service, "s2", "GADGET", "A-01", 3)
    task = await service.open_count_task(locations=["A-01"], blind=True)
    for text in ["CMD:COUNT", "LOC:A-01", "QTY:9", WIDGET, "CMD:DONE"]:
        assert await _scan(scanner, text) == "ack", text
    assert await _at(service, "WIDGET", "A-01") == 10  # kept on the task, not posted
    seen = await service.count_task(task.id)
    assert seen.counted_locations == ("A-01",)
    assert [(x.sku, x.counted) for x in seen.lines] == [("GADGET", 0), ("WIDGET", 9)]
    assert all(x.expected is None for x in seen.for_worker().lines)

    confirmed = await service.confirm_count_task(task.id, approval_percent=10)
    assert [(x.sku, x.variance, x.status) for x in confirmed.lines] == [
        ("GADGET", -3, "pending_approval"),
        ("WIDGET", -1, "posted"),
    ]
    assert await _at(service, "WIDGET", "A-01") == 9
    await service.approve_count_task(task.id)
    assert await _at(service, "GADGET", "A-01") == 0

    # The task is closed: a count of A-01 posts at once again.
    for text in ["LOC:A-01", WIDGET, "CMD:DONE"]:
        assert await _scan(scanner, text) == "ack", text
    assert await _at(service, "WIDGET", "A-01") == 1
    assert (await service.verify()).ok


async def test_a_receipt_into_a_full_location_gets_a_nak_with_the_reason(
    gateway: StockdProcess, scanner: PtyScanner, service: StockService, pool: Pool
) -> None:
    await service.create_location(LocationSpec("BIN-9", zone="S", max_weight_g=Decimal(300)))
    await _receive(service, "s1", "WIDGET", "A-01", 5)
    # WIDGET weighs 120 g: two fit in 300 g, a third does not.
    for text in ["LOC:BIN-9", WIDGET, WIDGET]:
        assert await _scan(scanner, text) == "ack", text
    assert await _scan(scanner, WIDGET) == "nak"
    assert await _at(service, "WIDGET", "BIN-9") == 2
    # A move into the full bin is refused too; the items stay held for another target.
    for text in ["CMD:MOVE", "LOC:A-01", WIDGET]:
        assert await _scan(scanner, text) == "ack", text
    assert await _scan(scanner, "LOC:BIN-9") == "nak"
    assert await _scan(scanner, "LOC:A-02") == "ack"
    assert await _at(service, "WIDGET", "A-02") == 1

    async def reasons() -> list[str]:
        events = await outbox_payloads(pool, "scan.rejected")
        return [p["reason"] for p in events if p["scanner"] == "c1"]

    full = "BIN-9 is full: weight 360 g > max 300 g"
    for _ in range(100):  # the gateway writes its scan.rejected events just after the nak
        if len(await reasons()) == 2:
            break
        await asyncio.sleep(0.05 * UNIT)
    assert await reasons() == [full, full]
    assert (await service.verify()).ok
