"""Serial numbers scanned on a pty (issue 17): a GS1 scan with AI 21 moves that unit; a
plain scan of a serial-tracked product is acknowledged and waits for ``SN:<serial>``;
anything else meanwhile is refused with the reason; ``CMD:CANCEL`` drops the wait; count
and move modes hold serials; returns bring a shipped serial back to quarantine; a
spooled serial scan is replayed once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hardware_mocks.frames import HONEYWELL
from scanner_gateway.gateway import Gateway
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ShipTransfer
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import TransferNumber
from stock_core.types import WarehouseCode
from tests.gateway_harness import Outage
from tests.gateway_harness import Rig
from tests.gateway_harness import all_connected
from tests.gateway_harness import drained
from tests.gateway_harness import ledger_rows
from tests.gateway_harness import open_rig
from tests.gateway_harness import outbox_payloads
from tests.gateway_harness import serving
from tests.integration.catalog_fixture import QUARANTINE_CSV
from tests.timing import UNIT

PHONE = "09506000134352"  # GTIN of the serial-tracked PHONE


def gs1(serial: str) -> str:
    return f"01{PHONE}21{serial}"


@pytest.fixture
async def catalog(service: StockService) -> StockService:
    await service.import_locations(QUARANTINE_CSV)
    await service.import_products(
        b"sku,name,barcodes,category,unit_cost,weight_g,length_mm,width_mm,height_mm,"
        b"reorder_point,reorder_qty,lead_time_days,safety_stock,tracking\n"
        b"PHONE,Phone," + PHONE.encode() + b",phones,300,200,,,,0,0,0,0,serial\n"
    )
    return service


@pytest.fixture
async def rig(
    catalog: StockService, pool: Pool, tmp_path: Path
) -> AsyncIterator[tuple[Rig, Gateway]]:
    rig = await open_rig("sn-1", "pty", HONEYWELL, tmp_path, mode="receive", location="A-01")
    gateway = Gateway(StockService(pool), [rig.config], tmp_path / "spool")
    rig.gateway = gateway
    async with serving(gateway, rig):
        await all_connected(gateway)
        yield rig, gateway


async def steps(rig: Rig, plan: list[tuple[str, str]]) -> None:
    for text, expected in plan:
        aim = "]C1" if text.startswith("01") else None
        assert await rig.scan(text, aim=aim) == expected, text


async def _reasons(pool: Pool) -> list[str]:
    return [p["reason"] for p in await outbox_payloads(pool, "scan.rejected")]


async def where(service: StockService, serial: str) -> tuple[str, str | None] | None:
    view = await service.serial("PHONE", serial)
    return None if view is None else (view.status, view.location)


async def test_serials_are_received_picked_counted_moved_and_returned_by_scan(
    rig: tuple[Rig, Gateway], catalog: StockService, pool: Pool
) -> None:
    scanner, gateway = rig
    await steps(
        scanner,
        [
            (gs1("S1"), "ack"),  # AI 21: that one unit
            (gs1("S1"), "nak"),  # already in stock at A-01
            ("QTY:2", "ack"),
            (PHONE, "ack"),  # plain: acknowledged, waits for two serials
            ("LOC:A-02", "nak"),  # anything else meanwhile is refused
            (PHONE, "nak"),
            ("SN:S1", "nak"),  # in stock already: the wait stays
            ("SN:S2", "ack"),
            ("SN:S3", "ack"),
            ("SN:S4", "nak"),  # nothing waits any more
            (PHONE, "ack"),
            ("CMD:CANCEL", "ack"),  # drops the wait
            ("LOC:A-02", "ack"),
        ],
    )
    # rejections reach the outbox through the gateway's event sink, a moment after the nak
    deadline = asyncio.get_running_loop().time() + 5 * UNIT
    while len(rejected := await _reasons(pool)) < 5:
        assert asyncio.get_running_loop().time() < deadline, rejected
        await asyncio.sleep(0.05)
    assert rejected[:3] == [
        "serial S1 of PHONE is already in stock at A-01",
        f"scan the serial of barcode {PHONE} (SN:<serial>) or CMD:CANCEL",
        f"scan the serial of barcode {PHONE} (SN:<serial>) or CMD:CANCEL",
    ]
    assert (await catalog.stock_of("PHONE")).on_hand == 3
    # move S2 to A-02 by scans, count A-01 (S1 there, S3 not found), pick S2
    await steps(
        scanner,
        [
            ("CMD:MOVE", "ack"),
            ("LOC:A-01", "ack"),
            (PHONE, "ack"),
            ("SN:S2", "ack"),
            ("LOC:A-02", "ack"),  # the move posts
            ("CMD:COUNT", "ack"),
            ("LOC:A-01", "ack"),
            (gs1("S1"), "ack"),
            ("CMD:DONE", "ack"),
            ("CMD:PICK", "ack"),
            ("LOC:A-02", "ack"),
            (PHONE, "ack"),
            ("SN:S2", "ack"),
            ("CMD:RETURN", "ack"),
            ("RSN:defective", "ack"),
            ("LOC:Q-01", "ack"),
            (gs1("S2"), "ack"),  # a shipped serial comes back, to quarantine
        ],
    )
    assert await where(catalog, "S1") == ("in_stock", "A-01")
    assert await where(catalog, "S3") == ("missing", None)
    assert await where(catalog, "S2") == ("quarantined", "Q-01")
    view = await catalog.serial("PHONE", "S2")
    assert view is not None
    assert [(m.kind, m.location) for m in view.history] == [
        ("receive", "A-01"),
        ("move_out", "A-01"),
        ("move_in", "A-02"),
        ("pick", "A-02"),
        ("return", "Q-01"),
    ]
    rows = await ledger_rows(pool, "sn-1")
    assert all(r["delta"] in (-1, 1) for r in rows)
    assert (await catalog.verify()).ok
    assert gateway.runtimes["sn-1"].counters.spooled == 0


async def test_a_spooled_serial_scan_is_replayed_once(
    catalog: StockService, pool: Pool, outage: Outage, tmp_path: Path
) -> None:
    rig = await open_rig("sn-2", "pty", HONEYWELL, tmp_path, mode="receive", location="A-01")
    gateway = outage.gateway([rig.config], tmp_path / "spool")
    async with serving(gateway, rig):
        await all_connected(gateway)
        await outage.proxy.acut()
        assert await rig.scan(gs1("S9"), aim="]C1") == "ack"  # spooled
        assert await rig.scan(gs1("S9"), aim="]C1") == "ack"  # spooled too: refused on replay
        assert gateway.runtimes["sn-2"].counters.spooled == 2
        await outage.proxy.arestore()
        await drained(gateway)
    rows = await ledger_rows(pool, "sn-2")
    assert [(r["kind"], r["delta"]) for r in rows] == [("receive", 1)]
    assert await where(catalog, "S9") == ("in_stock", "A-01")
    [exception] = await catalog.list_spool_exceptions()
    assert exception.problem_type == "serial-conflict"
    assert (await catalog.verify()).ok


async def test_serials_ship_and_arrive_on_a_transfer_by_scan(
    rig: tuple[Rig, Gateway], catalog: StockService
) -> None:
    scanner, _ = rig
    await catalog.import_locations(b"code,zone,name,gln,warehouse\nE-01,E,,,EAST\n")
    await steps(scanner, [(gs1("S7"), "ack"), (gs1("S8"), "ack")])
    opened = ShipTransfer(TransferNumber("T-5"), LocationCode("A-01"), (), WarehouseCode("EAST"))
    await catalog.post(Envelope(IdempotencyKey("open-t5"), opened))
    await steps(
        scanner,
        [
            ("CMD:PICK", "ack"),
            ("TRF:T-5", "ack"),
            (PHONE, "ack"),  # waits for the serial
            ("SN:S7", "ack"),  # shipped: in transit
            (gs1("S9"), "nak"),  # not at A-01
            ("CMD:RECEIVE", "ack"),
            ("TRF:T-5", "ack"),
            ("LOC:E-01", "ack"),
            (gs1("S8"), "nak"),  # not in transit on T-5: in stock at A-01
            (gs1("S7"), "ack"),
        ],
    )
    assert await where(catalog, "S7") == ("in_stock", "E-01")
    view = await catalog.serial("PHONE", "S7")
    assert view is not None
    assert [m.kind for m in view.history] == ["receive", "transfer_out", "transfer_in"]
    assert (await catalog.verify()).ok
