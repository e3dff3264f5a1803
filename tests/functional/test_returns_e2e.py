"""Returns, scrap and quarantine scanned end to end (issue 17): ``stockd import`` with a
quarantine location, ``stockd gateway`` reading a pty scanner with its own reason list,
every refusal a worker can meet, a release from quarantine filling a backorder, and
``stockd verify`` after."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from hardware_mocks.frames import HONEYWELL
from hardware_mocks.pty_scanner import PtyScanner
from stock_core.domain.orders import OrderLineRequest
from stock_core.service import StockService
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
LOCATIONS = b"""code,zone,name,gln,type
A-01,A,Aisle A bay 1,,
Q-01,RET,Returns cage,,quarantine
"""


async def test_returns_scrap_and_a_release_from_quarantine_scanned_on_a_pty(
    database_url: str, home: Path, tmp_path: Path
) -> None:
    await import_csvs(
        tmp_path, home, database_url, ("locations", LOCATIONS), ("products", PRODUCTS_CSV)
    )
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        service = StockService(pool)
        await seed_widgets(service, 1)
        order, _ = await service.create_order("SO-1", [OrderLineRequest("WIDGET", 3)])
        assert (order.lines[0].reserved, order.lines[0].backordered) == (1, 2)
        async with await PtyScanner.create(tmp_path / "dock-1", HONEYWELL) as scanner:
            config = write(
                tmp_path / "stockd.toml",
                (
                    '[stock]\nreasons = ["damaged", "recalled"]\n\n'
                    + honeywell_scanner("dock-1", scanner.path)
                ).encode(),
            )
            async with running_gateway(config, home, database_url) as gateway:
                await first_answer(scanner, "CMD:RETURN")
                steps = [
                    ("LOC:A-01", "ack"),
                    (WIDGET, "nak"),  # no reason yet
                    ("RSN:lost", "nak"),  # not on this gateway's list
                    ("RSN:RECALLED", "ack"),
                    (WIDGET, "nak"),  # A-01 is storage: returns go to quarantine
                    ("LOC:Q-01", "ack"),
                    ("QTY:4", "ack"),
                    (WIDGET, "ack"),  # 4 returned into Q-01, recalled
                    ("CMD:PICK", "ack"),
                    (WIDGET, "nak"),  # nothing is picked from quarantine
                    ("RSN:damaged", "nak"),  # a reason is for returns and scrap only
                    ("CMD:SCRAP", "ack"),
                    ("RSN:damaged", "ack"),
                    (WIDGET, "ack"),  # 1 scrapped at Q-01
                    ("CMD:MOVE", "ack"),
                    ("QTY:3", "ack"),
                    (WIDGET, "ack"),  # held: Q-01 is the source
                    ("LOC:A-01", "ack"),  # released into storage: fills SO-1's backorder
                ]
                await expect_answers(scanner, steps)
            assert gateway.returncode == 0, gateway.stderr
        rows = await pool.fetch(
            "SELECT m.kind, l.code, m.delta, m.reason FROM movements m "
            "JOIN locations l ON l.id = m.location_id WHERE m.scanner = 'dock-1' ORDER BY m.id"
        )
        assert [tuple(r) for r in rows] == [
            ("return", "Q-01", 4, "recalled"),
            ("scrap", "Q-01", -1, "damaged"),
            ("move_out", "Q-01", -3, None),
            ("move_in", "A-01", 3, None),
        ]
        rejected = await pool.fetch(
            "SELECT payload->>'reason' AS reason FROM outbox "
            "WHERE type = 'scan.rejected' ORDER BY id"
        )
        assert [r["reason"] for r in rejected] == [
            "scan a reason first (RSN:<code>)",
            "unknown reason lost (one of damaged, recalled)",
            "returns go to a quarantine location; A-01 is storage",
            "Q-01 is a quarantine location: move the stock to storage first",
            "a reason is for returns and scrap: scan CMD:RETURN or CMD:SCRAP first",
        ]
        order = await service.get_order("SO-1")
        assert (order.lines[0].reserved, order.lines[0].backordered) == (3, 0)
        level = await service.stock_of("WIDGET")
        assert (level.on_hand, level.reserved, level.available, level.quarantined) == (4, 3, 1, 0)
    finally:
        await pool.close()
    await verify_holds(home, database_url)
