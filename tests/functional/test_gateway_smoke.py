from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hardware_mocks.frames import HONEYWELL
from hardware_mocks.pty_scanner import PtyScanner
from scanner_gateway.gateway import Gateway
from stock_core.service import StockService
from tests.gateway_harness import honeywell_config
from tests.timing import UNIT


@pytest.fixture
async def scanner(tmp_path: Path) -> AsyncIterator[PtyScanner]:
    async with await PtyScanner.create(tmp_path / "dock-1", HONEYWELL) as s:
        yield s


@pytest.fixture
async def gateway(
    service: StockService, scanner: PtyScanner, tmp_path: Path
) -> AsyncIterator[Gateway]:
    config = honeywell_config("dock-1", scanner.path)
    gw = Gateway(service, [config], tmp_path / "spool", name="test")
    await gw.start()
    yield gw
    await gw.stop()


async def scan(scanner: PtyScanner, text: str) -> bytes:
    before = scanner.feedback.events
    scanner.send_scan(text)
    await scanner.wait_feedback(before + 1, 5 * UNIT)
    return b"ack" if scanner.acks > 0 and scanner.feedback.events == before + 1 else b""


async def test_scans_on_a_pty_change_stock(
    gateway: Gateway, scanner: PtyScanner, service: StockService
) -> None:
    await asyncio.sleep(0.3 * UNIT)
    for text in ["LOC:A-01", "05012345678900", "05012345678900", "QTY:5", "4006381333931"]:
        await scan(scanner, text)
    assert scanner.acks == 5
    assert (await service.stock_of("WIDGET")).on_hand == 2
    assert (await service.stock_of("GADGET")).on_hand == 5
    await scan(scanner, "05012345678901")  # bad check digit
    assert scanner.naks == 1
    assert (await service.verify()).ok


async def test_order_and_purchase_order_scans(
    gateway: Gateway, scanner: PtyScanner, service: StockService
) -> None:
    from datetime import date

    from stock_core.domain.movement import Envelope
    from stock_core.domain.movement import ProductRef
    from stock_core.domain.movement import Receive
    from stock_core.domain.orders import OrderLineRequest
    from stock_core.types import IdempotencyKey
    from stock_core.types import LocationCode
    from stock_core.types import Sku

    await service.post(
        Envelope(
            IdempotencyKey("seed"), Receive(ProductRef(sku=Sku("WIDGET")), LocationCode("A-01"), 5)
        )
    )
    await service.create_order("SO-1", [OrderLineRequest("WIDGET", 3)])
    await service.create_purchase_order("PO-1", date(2031, 1, 1), [OrderLineRequest("GADGET", 4)])
    await asyncio.sleep(0.3 * UNIT)
    for text in ["PO:PO-1", "LOC:DOCK-1", "QTY:4", "4006381333931"]:
        await scan(scanner, text)
    assert (scanner.acks, scanner.naks) == (4, 0)
    po = await service.get_purchase_order("PO-1")
    assert (po.status, po.lines[0].received) == ("received", 4)
    await scan(scanner, "4006381333931")  # GADGET again: not on the (closed) PO
    assert scanner.naks == 1
    for text in ["ORD:SO-1", "LOC:A-01", "QTY:3", "05012345678900"]:
        await scan(scanner, text)
    assert scanner.naks == 1
    order = await service.get_order("SO-1")
    assert (order.status, order.lines[0].picked) == ("complete", 3)
    level = await service.stock_of("WIDGET")
    assert (level.on_hand, level.reserved) == (2, 0)
    assert (await service.verify()).ok
