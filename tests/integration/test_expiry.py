"""Expired stock on real PostgreSQL: counted apart from available, the ``expired`` alert
(at write time and from the periodic check), the expiry report (issue 12.12)."""

from __future__ import annotations

import itertools
import json
from datetime import date
from datetime import timedelta

from stock_core.analytics_task import Forecaster
from stock_core.domain.movement import Adjust
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Line
from stock_core.domain.movement import Move
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.orders import OrderLineRequest
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku

_keys = itertools.count()
A1 = LocationCode("A-01")
A2 = LocationCode("A-02")
WIDGET = ProductRef(sku=Sku("WIDGET"))  # reorder point 10
PAST = date(2020, 1, 1)
FUTURE = date(2099, 1, 1)


def env(command: Receive | Pick | Adjust | Move) -> Envelope:
    return Envelope(IdempotencyKey(f"x{next(_keys)}"), command)


async def events(pool: Pool, type_: str) -> list[dict[str, object]]:
    rows = await pool.fetch("SELECT payload::text FROM outbox WHERE type = $1 ORDER BY id", type_)
    return [json.loads(r["payload"]) for r in rows]


async def active_alerts(pool: Pool) -> set[tuple[str, str]]:
    rows = await pool.fetch(
        "SELECT p.sku, a.kind FROM alerts a JOIN products p ON p.id = a.product_id "
        "WHERE a.cleared_at IS NULL"
    )
    return {(r["sku"], r["kind"]) for r in rows}


async def test_expired_stock_is_on_hand_but_never_available(
    service: StockService, pool: Pool
) -> None:
    await service.post(env(Receive(WIDGET, A1, 30, lot="NEW", expiry=FUTURE)))
    await service.post(env(Receive(WIDGET, A1, 5, lot="OLD", expiry=PAST)))
    level = await service.stock_of("WIDGET")
    assert (level.on_hand, level.reserved, level.available, level.expired) == (35, 0, 30, 5)
    [listed] = await service.list_stock(sku="WIDGET", limit=1)
    assert (listed.on_hand, listed.available, listed.expired, listed.product_available) == (
        35,
        30,
        5,
        30,
    )
    old = next(r for r in listed.locations if r.lot == "OLD")
    assert (old.expiry, old.available, old.expired) == (PAST, 0, 5)
    changed = await events(pool, "stock.changed")
    assert (changed[-1]["available"], changed[-1]["product_available"]) == (30, 30)
    # a reservation's event says the same
    await service.create_order("SO-1", [OrderLineRequest("WIDGET", 4)])
    reserve = (await events(pool, "stock.changed"))[-1]
    assert (reserve["kind"], reserve["available"], reserve["product_available"]) == (
        "reserve",
        26,
        26,
    )
    level = await service.stock_of("WIDGET")
    assert (level.on_hand, level.reserved, level.available, level.expired) == (35, 4, 26, 5)
    # a move (posted one by one, not set-wise) carries it too
    await service.post(env(Move(A1, A2, (Line(WIDGET, 5, lot="OLD"),))))
    moved = (await events(pool, "stock.changed"))[-1]
    assert (moved["location"], moved["available"], moved["product_available"]) == ("A-02", 0, 26)
    snapshot = await service.floor_snapshot()
    widget = next(s for s in snapshot["stock"] if s["sku"] == "WIDGET")
    assert (widget["on_hand"], widget["available"], widget["expired"]) == (35, 26, 5)


async def test_expired_units_count_toward_low_stock(service: StockService, pool: Pool) -> None:
    await service.post(env(Receive(WIDGET, A1, 50, lot="OLD", expiry=PAST)))
    assert {("WIDGET", "low_stock"), ("WIDGET", "out_of_stock")} <= await active_alerts(pool)
    raised = {e["kind"]: e for e in await events(pool, "alert.raised")}
    assert raised["out_of_stock"]["available"] == 0


async def test_receiving_expired_stock_raises_expired_and_writing_it_off_clears_it(
    service: StockService, pool: Pool
) -> None:
    await service.post(env(Receive(WIDGET, A1, 40, lot="NEW", expiry=FUTURE)))
    await service.post(env(Receive(WIDGET, A1, 6, lot="OLD", expiry=PAST)))
    assert ("WIDGET", "expired") in await active_alerts(pool)
    [raised] = [e for e in await events(pool, "alert.raised") if e["kind"] == "expired"]
    assert raised["sku"] == "WIDGET"
    assert (raised["available"], raised["expired"], raised["expiry"]) == (40, 6, "2020-01-01")
    await service.post(env(Adjust(WIDGET, A1, -2, lot="OLD")))
    assert ("WIDGET", "expired") in await active_alerts(pool)  # 4 expired units left
    await service.post(env(Adjust(WIDGET, A1, -4, lot="OLD")))
    assert ("WIDGET", "expired") not in await active_alerts(pool)
    [cleared] = [e for e in await events(pool, "alert.cleared") if e["kind"] == "expired"]
    assert (cleared["alert_id"], cleared["sku"], cleared["available"]) == (
        raised["alert_id"],
        "WIDGET",
        40,
    )


async def test_the_periodic_check_raises_for_stock_that_passed_its_date_and_clears_it(
    service: StockService, pool: Pool
) -> None:
    await service.post(env(Receive(WIDGET, A1, 40, lot="NEW", expiry=FUTURE)))
    await service.post(env(Receive(WIDGET, A1, 7, lot="SOON", expiry=FUTURE)))
    assert ("WIDGET", "expired") not in await active_alerts(pool)
    # the days go by: SOON's date is now behind us
    await pool.execute("UPDATE stock SET expiry = $1 WHERE lot = 'SOON'", PAST)
    forecaster = Forecaster(pool, isolate=False, today=lambda: date.today())
    await forecaster.run_once()
    assert forecaster.last_expiry_sweep is not None
    assert forecaster.last_expiry_sweep.raised == ("WIDGET",)
    [raised] = [e for e in await events(pool, "alert.raised") if e["kind"] == "expired"]
    assert (raised["available"], raised["expired"], raised["threshold"]) == (40, 7, 0)
    assert await service.sweep_expired() == {"raised": [], "cleared": []}  # once
    # the stock is gone without a write that re-evaluates it (the date was corrected)
    await pool.execute("UPDATE stock SET expiry = $1 WHERE lot = 'SOON'", FUTURE)
    assert await service.sweep_expired() == {"raised": [], "cleared": ["WIDGET"]}
    [cleared] = [e for e in await events(pool, "alert.cleared") if e["kind"] == "expired"]
    assert (cleared["alert_id"], cleared["available"]) == (raised["alert_id"], 47)


async def test_verify_holds_with_expired_stock_and_backorders_waiting(
    service: StockService,
) -> None:
    await service.post(env(Receive(WIDGET, A1, 5, lot="OLD", expiry=PAST)))
    order, _ = await service.create_order("SO-2", [OrderLineRequest("WIDGET", 3)])
    assert (order.lines[0].reserved, order.lines[0].backordered) == (0, 3)
    report = await service.verify()
    assert report.ok, report.render()


async def test_the_expiry_report_lists_expired_and_soon_to_expire_stock(
    service: StockService,
) -> None:
    today = (await service.expiry(0))["today"]
    soon = date.fromisoformat(today) + timedelta(days=10)
    await service.post(env(Receive(WIDGET, A1, 3, lot="OLD", expiry=PAST)))
    await service.post(env(Receive(WIDGET, A1, 4, lot="SOON", expiry=soon)))
    await service.post(env(Receive(WIDGET, A1, 9, lot="LATE", expiry=FUTURE)))
    await service.post(env(Receive(WIDGET, A1, 2)))  # no date
    report = await service.expiry(30)
    assert [(i["lot"], i["status"], i["on_hand"]) for i in report["items"]] == [
        ("OLD", "expired", 3),
        ("SOON", "expiring", 4),
    ]
    assert report["items"][1]["days_left"] == 10
    assert report["expired"] == {"on_hand": 3, "value": "7.50"}
    assert [i["lot"] for i in (await service.expiry(0))["items"]] == ["OLD"]
    csv_text = await service.expiry_csv(30)
    assert csv_text.splitlines()[0].startswith("sku,name,category,location,lot,expiry,days_left")
    assert len(csv_text.splitlines()) == 3
