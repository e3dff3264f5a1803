"""Transfers scanned end to end (issue 17): ``stockd import locations`` with a
``warehouse`` column (creating EAST), ``stockd gateway`` reading two pty scanners, each
configured with its warehouse (a ``LOC:`` of the other is a nak naming it); ``TRF:`` in
pick mode ships against a transfer from the current location, in receive mode receives
against it; every refusal a worker can meet; ``CMD:UNDO`` of a receipt; ``stockd verify``
after."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from hardware_mocks.frames import HONEYWELL
from hardware_mocks.pty_scanner import PtyScanner
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ShipTransfer
from stock_core.service import StockService
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import TransferNumber
from stock_core.types import WarehouseCode
from tests.functional.pty_scans import expect_answers
from tests.functional.pty_scans import first_answer
from tests.functional.pty_scans import honeywell_scanner
from tests.functional.pty_scans import import_csvs
from tests.functional.pty_scans import running_gateway
from tests.functional.pty_scans import seed_widgets
from tests.functional.pty_scans import verify_holds
from tests.functional.pty_scans import write
from tests.integration.catalog_fixture import PRODUCTS_CSV

WIDGET = "05012345678900"
LOCATIONS = b"""code,zone,name,gln,warehouse
A-01,A,Aisle A bay 1,,
E-01,E,East bay 1,,EAST
"""


async def test_a_transfer_is_shipped_and_received_by_scans_on_ptys(
    database_url: str, home: Path, tmp_path: Path
) -> None:
    runs = await import_csvs(
        tmp_path, home, database_url, ("locations", LOCATIONS), ("products", PRODUCTS_CSV)
    )
    assert "new warehouses: EAST" in runs["locations"].stdout
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        service = StockService(pool)
        await seed_widgets(service, 10)
        # opened with nothing yet: the scanners ship against it
        await service.post(
            Envelope(
                IdempotencyKey("open"),
                ShipTransfer(
                    TransferNumber("T-1"), LocationCode("A-01"), (), WarehouseCode("EAST")
                ),
            )
        )
        async with (
            await PtyScanner.create(tmp_path / "main-1", HONEYWELL) as main,
            await PtyScanner.create(tmp_path / "east-1", HONEYWELL) as east,
        ):
            config = write(
                tmp_path / "stockd.toml",
                (
                    honeywell_scanner("main-1", main.path, warehouse="MAIN")
                    + honeywell_scanner("east-1", east.path, warehouse="EAST")
                ).encode(),
            )
            async with running_gateway(config, home, database_url) as gateway:
                await first_answer(main, "CMD:PICK")
                await first_answer(east, "CMD:RECEIVE")
                shipping = [
                    ("LOC:E-01", "nak"),  # in EAST: this scanner works in MAIN
                    ("LOC:A-01", "ack"),
                    ("TRF:T-1", "ack"),
                    ("QTY:3", "ack"),
                    (WIDGET, "ack"),  # 3 shipped on T-1
                    ("TRF:T-9", "ack"),
                    (WIDGET, "nak"),  # no transfer T-9
                    ("CMD:COUNT", "ack"),
                    ("TRF:T-1", "nak"),  # pick or receive mode only
                ]
                await expect_answers(main, shipping)
                receiving = [
                    ("LOC:A-01", "nak"),  # in MAIN: this scanner works in EAST
                    ("LOC:E-01", "ack"),
                    ("TRF:T-1", "ack"),
                    ("QTY:5", "ack"),
                    (WIDGET, "nak"),  # only 3 in transit
                    ("QTY:2", "ack"),
                    (WIDGET, "ack"),  # partial
                    (WIDGET, "ack"),  # received
                    (WIDGET, "nak"),  # nothing left in transit
                    ("CMD:UNDO", "ack"),  # the last unit is in transit again
                ]
                await expect_answers(east, receiving)
            assert gateway.returncode == 0, gateway.stderr
        rows = await pool.fetch(
            "SELECT m.scanner, m.kind, l.code, m.delta, t.number FROM movements m "
            "JOIN locations l ON l.id = m.location_id LEFT JOIN transfers t ON t.id = "
            "m.transfer_id WHERE m.scanner IS NOT NULL ORDER BY m.id"
        )
        assert [tuple(r) for r in rows] == [
            ("main-1", "transfer_out", "A-01", -3, "T-1"),
            ("east-1", "transfer_in", "E-01", 2, "T-1"),
            ("east-1", "transfer_in", "E-01", 1, "T-1"),
            ("east-1", "undo", "E-01", -1, "T-1"),
        ]
        rejected = await pool.fetch(
            "SELECT payload->>'scanner' AS scanner, payload->>'reason' AS reason FROM outbox "
            "WHERE type = 'scan.rejected' ORDER BY id"
        )
        assert [(r["scanner"], r["reason"]) for r in rejected] == [
            ("main-1", "E-01 is in warehouse EAST, not MAIN: this scanner works in MAIN"),
            ("main-1", "unknown transfer T-9"),
            (
                "main-1",
                "TRF: ships in pick mode or receives in receive mode: scan CMD:PICK or "
                "CMD:RECEIVE first",
            ),
            ("east-1", "A-01 is in warehouse MAIN, not EAST: this scanner works in EAST"),
            ("east-1", "only 3 of WIDGET in transit on transfer T-1, 5 asked"),
            ("east-1", "only 0 of WIDGET in transit on transfer T-1, 1 asked"),
        ]
        transfer = await service.transfer("T-1")
        assert (transfer.status, transfer.lines[0].quantity, transfer.lines[0].received) == (
            "partial",
            3,
            2,
        )
        stock = await service.list_stock(sku="WIDGET", warehouse="EAST")
        assert (stock[0].on_hand, stock[0].in_transit) == (2, 1)
    finally:
        await pool.close()
    await verify_holds(home, database_url)
