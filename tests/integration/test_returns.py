"""Returns, scrap and quarantine on real PostgreSQL (issue 17): quarantined stock is on
hand but never available (picks, reservations, backorder fills, every figure), a move
to storage releases it and fills backorders first-in first-out, returns and scrap are
ledger movements with reasons, and verify checks the rules."""

from __future__ import annotations

import json
from datetime import date

import asyncpg
import pytest

from stock_core.domain.movement import Line
from stock_core.domain.movement import Move
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.movement import Return
from stock_core.domain.movement import Scrap
from stock_core.domain.orders import OrderLineRequest
from stock_core.errors import CatalogImportError
from stock_core.errors import InsufficientStockError
from stock_core.errors import NotQuarantineError
from stock_core.errors import QuarantinedStockError
from stock_core.errors import UnknownReasonError
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.types import LocationCode
from stock_core.types import ReasonCode
from stock_core.types import Sku
from tests.integration.catalog_fixture import keyed_envelopes
from tests.integration.catalog_fixture import load_sample_catalog

A1 = LocationCode("A-01")
Q1 = LocationCode("Q-01")
WIDGET = ProductRef(sku=Sku("WIDGET"))  # reorder point 10
DAMAGED = ReasonCode("damaged")
PAST = date(2020, 1, 1)


env = keyed_envelopes("rt")


@pytest.fixture
async def service(pool: Pool) -> StockService:
    svc = StockService(pool)
    await load_sample_catalog(svc, quarantine=True)
    return svc


async def widget_figures(service: StockService) -> tuple[int, int, int, int]:
    """WIDGET's on hand, reserved, available and quarantined units."""
    level = await service.stock_of("WIDGET")
    return level.on_hand, level.reserved, level.available, level.quarantined


async def events(pool: Pool, type_: str) -> list[dict[str, object]]:
    rows = await pool.fetch("SELECT payload::text FROM outbox WHERE type = $1 ORDER BY id", type_)
    return [json.loads(r["payload"]) for r in rows]


async def test_a_return_lands_in_quarantine_on_hand_but_not_available(
    service: StockService, pool: Pool
) -> None:
    await service.post(env(Receive(WIDGET, A1, 20)))
    outcome = await service.post(env(Return(WIDGET, Q1, 3, DAMAGED, note="RMA-7")))
    [row] = outcome.movements
    assert (row.kind, row.location, row.delta, row.reason) == ("return", "Q-01", 3, "damaged")
    level = await service.stock_of("WIDGET")
    assert (level.on_hand, level.available, level.quarantined, level.expired) == (23, 20, 3, 0)
    [listed] = await service.list_stock(sku="WIDGET", limit=1)
    assert (listed.available, listed.quarantined, listed.product_available) == (20, 3, 20)
    event = (await events(pool, "stock.changed"))[-1]
    assert (event["kind"], event["reason"], event["available"], event["product_available"]) == (
        "return",
        "damaged",
        0,
        20,
    )
    assert (await service.location("Q-01")).type == "quarantine"


async def test_a_return_to_a_storage_location_or_with_an_unlisted_reason_is_refused(
    service: StockService, pool: Pool
) -> None:
    with pytest.raises(NotQuarantineError) as caught:
        await service.post(env(Return(WIDGET, A1, 1, DAMAGED)))
    assert caught.value.http_status == 409
    with pytest.raises(UnknownReasonError):
        await service.post(env(Return(WIDGET, Q1, 1, ReasonCode("stolen"))))
    custom = StockService(pool, reasons=(ReasonCode("stolen"),))
    await custom.post(env(Return(WIDGET, Q1, 1, ReasonCode("stolen"))))
    assert await pool.fetchval("SELECT count(*) FROM movements") == 1


async def test_quarantined_stock_is_never_picked_reserved_or_given_to_backorders(
    service: StockService, pool: Pool
) -> None:
    await service.post(env(Return(WIDGET, Q1, 5, DAMAGED, lot="L1")))
    for pick in (Pick(WIDGET, Q1, 1), Pick(WIDGET, Q1, 1, lot="L1")):  # set-wise, one by one
        with pytest.raises(QuarantinedStockError) as caught:
            await service.post(env(pick))
        assert caught.value.http_status == 409
    [batch] = await service.post_batch([env(Pick(WIDGET, Q1, 2))])
    assert isinstance(batch, QuarantinedStockError)
    order, _ = await service.create_order("SO-1", [OrderLineRequest("WIDGET", 4)])
    assert (order.lines[0].reserved, order.lines[0].backordered) == (0, 4)
    # units released from quarantine fill the backorder, first in first out
    await service.create_order("SO-2", [OrderLineRequest("WIDGET", 3)])
    moved = await service.post(env(Move(Q1, A1, (Line(WIDGET, 5, lot="L1"),))))
    assert [m.kind for m in moved.movements] == ["move_out", "move_in"]
    first, second = await service.get_order("SO-1"), await service.get_order("SO-2")
    assert (first.lines[0].reserved, first.lines[0].backordered) == (4, 0)
    assert (second.lines[0].reserved, second.lines[0].backordered) == (1, 2)
    filled = await events(pool, "backorder.filled")
    assert [(e["order"], e["quantity"]) for e in filled] == [("SO-1", 4), ("SO-2", 1)]
    assert await widget_figures(service) == (5, 5, 0, 0)
    assert (await service.verify()).ok


async def test_a_set_wise_receive_into_quarantine_is_not_available(
    service: StockService, pool: Pool
) -> None:
    await service.create_order("SO-9", [OrderLineRequest("WIDGET", 2)])
    outcomes = await service.post_batch(
        [env(Receive(WIDGET, A1, 4)), env(Receive(WIDGET, Q1, 6)), env(Receive(WIDGET, A1, 1))]
    )
    assert all(not isinstance(o, Exception) for o in outcomes)
    changed = await events(pool, "stock.changed")
    received = [e for e in changed if e["kind"] == "receive"]
    assert [(e["location"], e["available"], e["product_available"]) for e in received] == [
        ("A-01", 4, 4),
        ("Q-01", 0, 4),
        ("A-01", 5, 5),
    ]
    assert await widget_figures(service) == (11, 2, 3, 6)
    assert (await service.verify()).ok


async def test_scrap_writes_units_off_with_a_reason_expired_lots_first(
    service: StockService, pool: Pool
) -> None:
    await service.post(env(Receive(WIDGET, A1, 5, lot="OLD", expiry=PAST)))
    await service.post(env(Receive(WIDGET, A1, 5, lot="NEW")))
    outcome = await service.post(env(Scrap(WIDGET, A1, 7, ReasonCode("expired"))))
    assert [(m.kind, m.lot, m.delta, m.reason) for m in outcome.movements] == [
        ("scrap", "OLD", -5, "expired"),
        ("scrap", "NEW", -2, "expired"),
    ]
    with pytest.raises(InsufficientStockError):
        await service.post(env(Scrap(WIDGET, A1, 4, DAMAGED)))
    await service.post(env(Return(WIDGET, Q1, 2, DAMAGED)))
    scrapped = await service.post(env(Scrap(WIDGET, Q1, 2, ReasonCode("defective"))))
    assert scrapped.movements[0].on_hand_after == 0
    level = await service.stock_of("WIDGET")
    assert (level.on_hand, level.quarantined) == (3, 0)
    report = await service.verify()
    assert report.ok, report.render()


async def test_a_location_holding_reserved_stock_cannot_become_quarantine(
    service: StockService, pool: Pool
) -> None:
    await service.post(env(Receive(WIDGET, A1, 5)))
    await service.create_order("SO-1", [OrderLineRequest("WIDGET", 2)])
    with pytest.raises(CatalogImportError) as caught:
        await service.import_locations(b"code,zone,name,gln,type\nA-01,A,,,quarantine\n")
    assert "2 units reserved" in caught.value.problems[0].reason
    # once nothing is reserved there, it can; its stock becomes quarantined at once
    await service.cancel_order("SO-1")
    await service.import_locations(b"code,zone,name,gln,type\nA-01,A,,,quarantine\n")
    level = await service.stock_of("WIDGET")
    assert (level.on_hand, level.available, level.quarantined) == (5, 0, 5)
    # a re-import without the column keeps the type
    await service.import_locations(b"code,zone,name,gln\nA-01,A,Aisle A bay 1,\n")
    assert (await service.location("A-01")).type == "quarantine"
    assert (await service.verify()).ok


async def test_verify_reports_quarantine_rules_broken_behind_its_back(
    service: StockService, admin_database_url: str
) -> None:
    await service.post(env(Return(WIDGET, Q1, 2, DAMAGED)))
    owner = await asyncpg.connect(admin_database_url)  # what no stockd role may do
    try:
        await owner.execute("ALTER TABLE stock DISABLE TRIGGER USER")
        await owner.execute("UPDATE stock SET quarantined = false")
    finally:
        await owner.close()
    report = await service.verify()
    assert not report.ok
    assert "WIDGET at Q-01 lot -: the row does not know its location is quarantine" in (
        report.render()
    )
