"""Forecasts, projected-stockout alerts, replenishment, backtest and reports on PostgreSQL.

Scripted history goes into ``demand_history`` (dated in the past); stock changes go
through ``StockService.post``. The ledger's rows are dated now, which lies after every
simulated "today" here, so they move stock without entering the simulated history.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal

import pytest

from stock_core.analytics_task import Forecaster
from stock_core.domain.catalog import PRODUCT_COLUMNS
from stock_core.domain.forecast import SEASONAL_METHODS
from stock_core.domain.movement import Command
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.movement import Undo
from stock_core.domain.orders import OrderLineRequest
from stock_core.errors import StockUsageError
from stock_core.errors import UnknownProductError
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import MovementId
from stock_core.types import OrderNumber
from stock_core.types import Sku
from tests.timing import UNIT

_keys = itertools.count()

A1 = LocationCode("A-01")

SCENARIO_CSV = (
    ",".join(PRODUCT_COLUMNS)
    + "\nXMAS,Festive Bauble,,seasonal,4.00,50,,,,0,24,14,0"
    + "\nFLAT,Steel Clamp,,hardware,6.00,300,,,,0,0,7,0\n"
).encode()

SEASONAL = {m.value for m in SEASONAL_METHODS}

HISTORY_START = date(2021, 1, 4)
HISTORY_END = date(2024, 1, 1)


def env(command: Command) -> Envelope:
    return Envelope(key=IdempotencyKey(f"analytics-{next(_keys)}"), command=command, actor="test")


def xmas_per_day(day: date) -> int:
    return 15 if day.month == 12 else 3


def flat_per_day(day: date) -> int:
    return 2 + day.toordinal() % 3  # 2, 3, 4, … : 3 a day on average


@pytest.fixture
async def scenario(service: StockService, pool: Pool) -> StockService:
    """XMAS (December 15 a day, else 3) and FLAT (about 3 a day), 2021 to 2023 daily."""
    await service.import_products(SCENARIO_CSV)
    days = [HISTORY_START + timedelta(days=i) for i in range((HISTORY_END - HISTORY_START).days)]
    for sku, rule in (("XMAS", xmas_per_day), ("FLAT", flat_per_day)):
        await pool.execute(
            """INSERT INTO demand_history (product_id, day, quantity)
               SELECT p.id, d, q FROM products p, unnest($2::date[], $3::integer[]) AS h(d, q)
               WHERE p.sku = $1""",
            sku,
            days,
            [rule(d) for d in days],
        )
    return service


async def receive(service: StockService, sku: str, quantity: int) -> None:
    await service.post(env(Receive(ProductRef(sku=Sku(sku)), A1, quantity)))


async def pick(service: StockService, sku: str, quantity: int) -> MovementId:
    outcome = await service.post(env(Pick(ProductRef(sku=Sku(sku)), A1, quantity)))
    return outcome.movements[0].id


async def active_stockouts(pool: Pool) -> set[str]:
    rows = await pool.fetch(
        """SELECT p.sku FROM alerts a JOIN products p ON p.id = a.product_id
           WHERE a.kind = 'projected_stockout' AND a.cleared_at IS NULL"""
    )
    return {r["sku"] for r in rows}


def mean_demand(weeks: list[dict[str, object]], month: int) -> float:
    chosen = [
        float(str(w["demand"]))
        for w in weeks
        if (date.fromisoformat(str(w["week_start"])) + timedelta(days=3)).month == month
    ]
    return sum(chosen) / len(chosen)


# -- forecasts ------------------------------------------------------------------------


async def test_a_christmas_seller_is_forecast_to_sell_at_christmas(
    scenario: StockService, pool: Pool
) -> None:
    today = date(2023, 6, 5)  # two and a half years of history
    answer = await scenario.forecast("XMAS", weeks=52, today=today)
    assert set(answer) >= {"sku", "weeks", "method"}
    assert answer["sku"] == "XMAS"
    assert answer["method"] in SEASONAL
    assert answer["weeks"][0]["week_start"] == "2023-06-05"
    assert len(answer["weeks"]) == 52
    december, september = mean_demand(answer["weeks"], 12), mean_demand(answer["weeks"], 9)
    assert december >= 2 * september
    flat = await scenario.forecast("FLAT", weeks=52, today=today)
    assert flat["method"] == "ses"
    assert mean_demand(flat["weeks"], 12) == pytest.approx(21, rel=0.15)
    cached = await pool.fetchrow(
        """SELECT f.method, f.detail::text AS detail FROM forecasts f
           JOIN products p ON p.id = f.product_id WHERE p.sku = 'XMAS'"""
    )
    assert cached is not None
    assert cached["method"] == answer["method"]
    assert json.loads(cached["detail"])["start"] == "2023-06-05"


async def test_a_forecast_is_cached_until_its_demand_changes(
    scenario: StockService, pool: Pool
) -> None:
    today = date(2023, 6, 5)
    await scenario.forecast("FLAT", today=today)
    first = await pool.fetchval("SELECT computed_at FROM forecasts")
    await scenario.forecast("FLAT", today=today)
    assert await pool.fetchval("SELECT computed_at FROM forecasts") == first
    await pool.execute(
        """UPDATE demand_history SET quantity = 40
           WHERE day = '2023-05-30' AND product_id = (SELECT id FROM products WHERE sku = 'FLAT')"""
    )
    await scenario.forecast("FLAT", today=today)
    assert await pool.fetchval("SELECT computed_at FROM forecasts") > first


async def test_picks_count_as_demand_net_of_undone_ones(service: StockService) -> None:
    await receive(service, "WIDGET", 100)
    await pick(service, "WIDGET", 7)
    undone = await pick(service, "WIDGET", 5)
    await service.post(env(Undo(movement_id=undone)))
    next_week = datetime.now(UTC).date() + timedelta(days=7)
    answer = await service.forecast("WIDGET", weeks=2, today=next_week)
    assert answer["history_weeks"] == 1
    assert answer["weeks"][0]["demand"] == 7.0


async def test_ordered_demand_counts_backorders_once_and_leaves_out_cancelled_orders(
    service: StockService,
) -> None:
    # 10 on hand; an order for 25 reserves 10 and backorders 15: all 25 were asked for
    await receive(service, "GADGET", 10)
    _, created = await service.create_order("SO-CENSORED", [OrderLineRequest("GADGET", 25)])
    assert created
    # picking the order's reserved units does not count them a second time
    await service.post(
        env(Pick(ProductRef(sku=Sku("GADGET")), A1, 10, order=OrderNumber("SO-CENSORED")))
    )
    # 20 arrive: 15 fill the backorder, 5 are free. A cancelled order is no demand,
    # but what was picked against it before it was cancelled left the shelf all the same
    await receive(service, "GADGET", 20)
    await service.create_order("SO-CANCELLED", [OrderLineRequest("GADGET", 40)])
    await service.post(
        env(Pick(ProductRef(sku=Sku("GADGET")), A1, 2, order=OrderNumber("SO-CANCELLED")))
    )
    await service.cancel_order("SO-CANCELLED")
    # a pick with no order is demand too
    await pick(service, "GADGET", 3)
    next_week = datetime.now(UTC).date() + timedelta(days=7)
    answer = await service.forecast("GADGET", weeks=1, today=next_week)
    assert answer["history_weeks"] == 1
    assert answer["weeks"][0]["demand"] == 25 + 2 + 3


@pytest.mark.parametrize("weeks", [52, 156])
async def test_a_demo_seasonal_product_gets_a_seasonal_forecast(
    service: StockService, weeks: int
) -> None:
    """The demo catalog's Christmas products, imported as ``stockd demo`` does (one year
    of weekly history), and with three years."""
    from hardware_mocks.warehouse import build_warehouse

    today = date(2025, 6, 2)
    warehouse = build_warehouse(today, products=12, weeks=weeks)
    await service.import_products(warehouse.products_csv())
    await service.import_history(warehouse.history_csv())
    christmas = [p for p in warehouse.products if p.pattern == "christmas"]
    assert christmas
    for product in christmas:
        answer = await service.forecast(product.sku, weeks=52, today=today)
        assert answer["method"] in SEASONAL
        if weeks > 52:
            assert answer["backtest_error"] <= 1.0  # never worse than seasonal naive there
            assert answer["selection"]["origins"] >= 4
        december, july = mean_demand(answer["weeks"], 12), mean_demand(answer["weeks"], 7)
        assert december > 2.5 * july
        assert all(w["low"] <= w["demand"] <= w["high"] for w in answer["weeks"])


async def test_monthly_history_imported_as_monthly_records_is_forecast_by_month(
    service: StockService,
) -> None:
    await service.import_products(SCENARIO_CSV)
    rows = ["sku,date,quantity"]
    for i in range(48):  # 2020-01 to 2023-12, December three times a usual month
        month = date(2020 + i // 12, i % 12 + 1, 1)
        rows.append(f"XMAS,{month.isoformat()},{300 if month.month == 12 else 100 + i}")
    await service.import_history(("\n".join(rows) + "\n").encode())
    answer = await service.forecast("XMAS", weeks=60, today=date(2024, 1, 1))
    assert answer["grid"] == "month"
    assert answer["method"] in SEASONAL
    months = {m["month"]: m["demand"] for m in answer["months"]}
    assert months["2024-12"] > 1.8 * months["2024-06"]
    assert months["2024-06"] == pytest.approx(150, rel=0.25)


async def test_forecast_refuses_unknown_products_and_bad_horizons(service: StockService) -> None:
    with pytest.raises(UnknownProductError):
        await service.forecast("NOPE")
    with pytest.raises(StockUsageError):
        await service.forecast("WIDGET", weeks=0)
    answer = await service.forecast("WIDGET", weeks=3)
    assert answer["method"] == "no_demand"
    assert [w["demand"] for w in answer["weeks"]] == [0, 0, 0]


async def test_refresh_forecasts_covers_every_product(scenario: StockService, pool: Pool) -> None:
    assert await scenario.refresh_forecasts(today=date(2023, 6, 5)) == 7
    assert await pool.fetchval("SELECT count(*) FROM forecasts") == 7
    assert await scenario.refresh_forecasts(today=date(2023, 6, 5), force=True) == 7


# -- projected stock-out ------------------------------------------------------------------


async def test_projected_stockout_fires_a_lead_time_ahead_and_flat_demand_never(
    scenario: StockService, pool: Pool
) -> None:
    start = date(2023, 10, 2)
    xmas_stock = sum(xmas_per_day(start + timedelta(days=i)) for i in range(70))
    stockout = start + timedelta(days=70)  # the first day the stock cannot serve: Dec 11
    assert stockout == date(2023, 12, 11)
    await receive(scenario, "XMAS", xmas_stock)
    await receive(scenario, "FLAT", 400)
    await receive(scenario, "WIDGET", 1000)
    forecaster = Forecaster(pool)
    raised_on: date | None = None
    today = start
    while today < stockout:
        sweep = await forecaster.run_once(today)
        assert "FLAT" not in sweep.short
        if "XMAS" in sweep.raised:
            raised_on = today
            break
        await pick(scenario, "XMAS", xmas_per_day(today))
        await pick(scenario, "FLAT", flat_per_day(today))
        today += timedelta(days=1)
    assert raised_on is not None
    lead = timedelta(days=14)
    assert raised_on <= stockout - lead
    assert raised_on > start  # not merely always on
    assert await active_stockouts(pool) == {"XMAS"}

    alert = await pool.fetchrow(
        """SELECT a.id, a.available, a.threshold, a.detail::text AS detail FROM alerts a
           WHERE a.kind = 'projected_stockout'"""
    )
    assert alert is not None
    detail = json.loads(alert["detail"])
    assert detail["lead_time_days"] == 14
    assert date.fromisoformat(detail["stockout_date"]) <= raised_on + lead
    event = await pool.fetchrow(
        "SELECT payload::text AS payload FROM outbox WHERE type = 'alert.raised'"
    )
    assert event is not None
    payload = json.loads(event["payload"])
    assert {k: payload[k] for k in ("alert_id", "kind", "sku", "available", "threshold")} == {
        "alert_id": alert["id"],
        "kind": "projected_stockout",
        "sku": "XMAS",
        "available": alert["available"],
        "threshold": alert["threshold"],
    }
    assert alert["threshold"] > alert["available"]

    # the same evaluation again raises nothing new
    again = await forecaster.run_once(raised_on)
    assert again.raised == ()
    assert "XMAS" in again.short

    # a big delivery clears it, with an event
    await receive(scenario, "XMAS", 2000)
    cleared = await scenario.evaluate_projected_stockouts(today=raised_on)
    assert cleared["cleared"] == ["XMAS"]
    assert await active_stockouts(pool) == set()
    event = await pool.fetchrow(
        "SELECT payload::text AS payload FROM outbox WHERE type = 'alert.cleared'"
    )
    assert event is not None
    assert json.loads(event["payload"])["alert_id"] == alert["id"]


async def test_a_purchase_order_arriving_in_time_prevents_the_alert(
    scenario: StockService, pool: Pool
) -> None:
    today = date(2023, 11, 27)
    await receive(scenario, "XMAS", 50)
    sweep = await scenario.evaluate_projected_stockouts(today=today)
    assert "XMAS" in sweep["raised"]
    await pool.execute(
        """WITH po AS (INSERT INTO purchase_orders (number, expected_date)
                       VALUES ('PO-1', $1) RETURNING id)
           INSERT INTO purchase_order_lines (po_id, line_no, product_id, quantity)
           SELECT po.id, 1, p.id, 1000 FROM po, products p WHERE p.sku = 'XMAS'""",
        today + timedelta(days=1),
    )
    sweep = await scenario.evaluate_projected_stockouts(today=today)
    assert sweep["cleared"] == ["XMAS"]


async def test_the_forecaster_runs_in_the_background(scenario: StockService, pool: Pool) -> None:
    await receive(scenario, "XMAS", 10)
    async with Forecaster(pool, interval=3600, today=lambda: date(2023, 11, 27)) as forecaster:
        forecaster.start()  # already running: no second task
        async with asyncio.timeout(20 * UNIT):
            first = await forecaster.next_sweep()
        assert first.raised == ("XMAS", "FLAT")  # FLAT has no stock at all
        forecaster.request_run()
        async with asyncio.timeout(20 * UNIT):
            second = await forecaster.next_sweep()
        assert second.raised == ()
        assert forecaster.last_sweep is second
    assert await active_stockouts(pool) == {"XMAS", "FLAT"}
    assert (await forecaster.forecast_now("XMAS")).sku == "XMAS"
    assert await pool.fetchval("SELECT count(*) FROM forecasts") == 7


async def test_a_failed_run_is_retried(pool: Pool, caplog: pytest.LogCaptureFixture) -> None:
    calls = 0

    def today() -> date:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("connection refused")
        if calls == 2:
            raise RuntimeError("bug")
        return date(2023, 11, 27)

    forecaster = Forecaster(pool, interval=0.01 * UNIT, today=today)
    forecaster.start()
    async with asyncio.timeout(20 * UNIT):
        await forecaster.next_sweep()
    await forecaster.stop()
    await forecaster.stop()
    assert "database unavailable" in caplog.text
    assert "run failed" in caplog.text


# -- replenishment ----------------------------------------------------------------------


async def test_replenishment_orders_before_christmas(scenario: StockService, pool: Pool) -> None:
    today = date(2023, 10, 2)
    await receive(scenario, "XMAS", 300)
    await receive(scenario, "FLAT", 60)
    await pool.execute(
        """WITH o AS (INSERT INTO orders (number) VALUES ('SO-1') RETURNING id)
           INSERT INTO order_lines (order_id, line_no, product_id, quantity, backordered)
           SELECT o.id, 1, p.id, 5, 5 FROM o, products p WHERE p.sku = 'FLAT'"""
    )
    await pool.execute(
        """WITH po AS (INSERT INTO purchase_orders (number, expected_date)
                       VALUES ('PO-7', '2023-10-20') RETURNING id)
           INSERT INTO purchase_order_lines (po_id, line_no, product_id, quantity, received)
           SELECT po.id, 1, p.id, 40, 10 FROM po, products p WHERE p.sku = 'FLAT'"""
    )
    page = await scenario.replenishment(today=today, needed_only=True)
    items = {i["sku"]: i for i in page["items"]}
    assert page["next_after"] is None
    # the sample products have no demand, but nothing on hand against their safety stock
    assert set(items) == {"XMAS", "FLAT", "WIDGET", "GADGET", "BOLT", "NUT"}
    bolt = items["BOLT"]
    assert (bolt["order_by"], bolt["order_quantity"]) == ("2023-10-02", 1000)  # 50 → 1000s
    xmas = items["XMAS"]
    assert set(xmas) >= {"sku", "order_quantity", "order_by"}
    assert xmas["order_quantity"] > 0
    assert xmas["order_quantity"] % 24 == 0
    order_by = date.fromisoformat(xmas["order_by"])
    # 300 units last until late November: order two weeks before they run low
    assert date(2023, 11, 1) <= order_by <= date(2023, 11, 27)
    assert date.fromisoformat(xmas["arrival_date"]) == order_by + timedelta(days=14)
    assert order_by < date(2023, 12, 1)
    flat = items["FLAT"]
    assert (flat["on_order"], flat["backordered"], flat["on_hand"]) == (30, 5, 60)
    # 55 net at 3 a day: below zero on day 18, the PO's 30 arrive on day 18 → later
    assert date.fromisoformat(flat["order_by"]) > today


async def test_replenishment_pages_through_every_product(scenario: StockService) -> None:
    today = date(2023, 10, 2)
    seen: list[str] = []
    after = 0
    for _ in range(10):
        page = await scenario.replenishment(today=today, after=after, limit=3)
        seen += [i["sku"] for i in page["items"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert sorted(seen) == sorted(["WIDGET", "GADGET", "SPROCKET", "BOLT", "NUT", "XMAS", "FLAT"])
    with pytest.raises(StockUsageError):
        await scenario.replenishment(limit=0)
    needed = await scenario.replenishment(today=today, needed_only=True, limit=3)
    assert [i["sku"] for i in needed["items"]] == ["WIDGET", "GADGET", "BOLT"]
    assert needed["next_after"] is not None
    rest = await scenario.replenishment(today=today, needed_only=True, after=needed["next_after"])
    # SPROCKET has neither demand nor safety stock; XMAS and FLAT have no stock yet
    assert [i["sku"] for i in rest["items"]] == ["NUT", "XMAS", "FLAT"]


# -- backtest -------------------------------------------------------------------------


async def test_backtest_reports_mase_against_seasonal_naive(scenario: StockService) -> None:
    report = await scenario.backtest(13, today=date(2024, 1, 1))
    by_sku = {p["sku"]: p for p in report["products"]}
    assert set(by_sku) == {"XMAS", "FLAT"}
    assert sorted(report["skipped"]) == ["BOLT", "GADGET", "NUT", "SPROCKET", "WIDGET"]
    assert by_sku["XMAS"]["baseline"] == "seasonal_naive"
    assert by_sku["XMAS"]["method"] in SEASONAL
    for p in by_sku.values():
        scale = p["baseline_mae"] / p["baseline_mase"]
        assert p["mase"] == pytest.approx(p["mae"] / scale, rel=1e-3)
    # FLAT repeats a 2-3-4 cycle around 3 a day: smoothing beats last year's week
    assert by_sku["FLAT"]["mase"] < by_sku["FLAT"]["baseline_mase"]
    assert report["overall"]["products"] == 2
    with pytest.raises(StockUsageError):
        await scenario.backtest(0)


# -- reports ------------------------------------------------------------------------


async def clock(pool: Pool) -> datetime:
    now: datetime = await pool.fetchval("SELECT clock_timestamp()")
    return now


@pytest.fixture
async def ledger(service: StockService, pool: Pool) -> tuple[datetime, datetime]:
    """Phase A, t1, phase B, t2, phase C (see the report tests for the figures)."""
    await receive(service, "WIDGET", 100)  # 2.50
    await receive(service, "GADGET", 10)  # 7.25
    await receive(service, "BOLT", 1000)  # 0.05
    await pick(service, "WIDGET", 30)
    t1 = await clock(pool)
    await pick(service, "WIDGET", 20)
    undone = await pick(service, "WIDGET", 10)
    await service.post(env(Undo(movement_id=undone)))
    await receive(service, "WIDGET", 50)
    await pick(service, "BOLT", 100)
    await receive(service, "NUT", 100)  # 0.03
    nut_pick = await pick(service, "NUT", 5)
    await service.post(env(Undo(movement_id=nut_pick)))
    t2 = await clock(pool)
    await pick(service, "WIDGET", 5)
    return t1, t2


async def test_turnover_matches_hand_computed_figures(
    service: StockService, ledger: tuple[datetime, datetime]
) -> None:
    t1, t2 = ledger
    report = await service.turnover(t1, t2)
    items = {i["sku"]: i for i in report["items"]}
    assert set(items) == {"WIDGET", "GADGET", "BOLT", "NUT"}
    widget = items["WIDGET"]
    # opening 70, closing 70 - 20 - 10 + 10 + 50 = 100, out 20 (the undone 10 not counted)
    assert (widget["opening"], widget["closing"], widget["units_out"]) == (70, 100, 20)
    assert widget["cost_of_goods_out"] == "50.00"
    assert widget["average_inventory_value"] == "212.50"
    assert widget["turnover"] == round(50 / 212.5, 4)
    assert items["GADGET"]["turnover"] == 0.0
    assert items["BOLT"]["cost_of_goods_out"] == "5.00"
    assert items["BOLT"]["turnover"] == round(5 / 47.5, 4)
    assert items["NUT"]["units_out"] == 0
    categories = {c["category"]: c for c in report["categories"]}
    assert categories["hardware"]["cost_of_goods_out"] == "50.00"
    assert categories["hardware"]["average_inventory_value"] == "285.00"
    assert categories["parts"]["average_inventory_value"] == "49.00"  # bolt 47.50 + nut 1.50
    assert report["total"]["turnover"] == round(55 / 334, 4)
    text = await service.turnover_csv(t1, t2)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[-1]["category"] == "TOTAL"
    assert rows[-1]["cost_of_goods_out"] == "55.00"
    # whole days: today's period holds everything, yesterday's nothing
    today = datetime.now(UTC).date()
    whole = await service.turnover(today, today)
    assert {i["sku"]: i["units_out"] for i in whole["items"]}["WIDGET"] == 55
    with pytest.raises(StockUsageError):
        await service.turnover(today, today - timedelta(days=1))


async def test_deadstock_matches_hand_computed_figures(
    service: StockService, ledger: tuple[datetime, datetime]
) -> None:
    _, t2 = ledger
    report = await service.deadstock(1, as_of=t2, slow_cover_days=5)
    items = {i["sku"]: i for i in report["items"]}
    # GADGET never picked; NUT's only pick was undone; BOLT: 900 left, 100 a day → 9 days
    assert {s: i["status"] for s, i in items.items()} == {
        "GADGET": "dead",
        "NUT": "dead",
        "BOLT": "slow",
    }
    assert items["GADGET"]["value"] == "72.50"
    assert items["GADGET"]["last_outbound"] is None
    assert items["NUT"]["value"] == "3.00"
    assert items["BOLT"]["days_of_cover"] == 9.0
    assert items["BOLT"]["value"] == "45.00"
    assert report["dead_value"] == "75.50"
    # over 30 days BOLT's 100 a month leave 270 days of cover: slow at the default 180
    default = await service.deadstock(30)
    assert [(i["sku"], i["status"]) for i in default["items"]] == [
        ("GADGET", "dead"),
        ("NUT", "dead"),
        ("BOLT", "slow"),
    ]
    rows = list(csv.DictReader(io.StringIO(await service.deadstock_csv(30))))
    assert [r["sku"] for r in rows] == ["GADGET", "NUT", "BOLT"]
    assert rows[2]["days_of_cover"] == "270.0"
    with pytest.raises(StockUsageError):
        await service.deadstock(0)
    # as of a date: the end of that day
    assert (await service.deadstock(30, as_of=datetime.now(UTC).date()))["dead_value"] == "75.50"


async def test_valuation_matches_hand_computed_figures(
    service: StockService, ledger: tuple[datetime, datetime]
) -> None:
    t1, _ = ledger
    at_t1 = await service.valuation(t1)
    assert {i["sku"]: i["value"] for i in at_t1["items"]} == {
        "WIDGET": "175.00",
        "GADGET": "72.50",
        "BOLT": "50.00",
    }
    assert at_t1["total"] == "297.50"
    now = await service.valuation()
    # WIDGET 95 × 2.50, GADGET 72.50, BOLT 900 × 0.05, NUT 100 × 0.03
    assert Decimal(now["total"]) == Decimal("237.50") + Decimal("72.50") + 45 + 3
    assert {c["category"]: c["value"] for c in now["categories"]} == {
        "hardware": "310.00",
        "parts": "48.00",
    }
    today = datetime.now(UTC).date()
    assert (await service.valuation(today))["total"] == now["total"]
    assert (await service.valuation(today - timedelta(days=1)))["items"] == []
    rows = list(csv.DictReader(io.StringIO(await service.valuation_csv())))
    assert rows[-1]["value"] == "358.00"
