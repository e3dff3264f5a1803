from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest

from stock_core.domain.forecast import Forecast
from stock_core.domain.forecast import ForecastMethod
from stock_core.domain.replenishment import Arrival
from stock_core.domain.replenishment import Position
from stock_core.domain.replenishment import Projection
from stock_core.domain.replenishment import evaluate_stockout
from stock_core.domain.replenishment import project
from stock_core.domain.replenishment import safety_stock
from stock_core.domain.replenishment import suggest
from stock_core.types import Sku

TODAY = date(2024, 11, 4)  # a Monday


def per_day(units: float, weeks: int = 60, start: date = TODAY) -> Forecast:
    """A forecast of ``units`` a day."""
    return Forecast(Sku("X"), ForecastMethod.SES, start, (units * 7,) * weeks)


def position(on_hand: int, **kwargs: object) -> Position:
    return Position(sku=Sku("X"), on_hand=on_hand, **kwargs)  # type: ignore[arg-type]


def test_expired_units_are_not_available_to_cover_demand() -> None:
    p = position(50, reserved=10, expired=15, backordered=5)
    assert (p.available, p.net) == (25, 20)
    assert suggest(p, per_day(1), TODAY).expired == 15


def day(n: int) -> date:
    return TODAY + timedelta(days=n)


# -- position and projection --------------------------------------------------------------


def test_position_figures() -> None:
    p = position(50, reserved=10, backordered=5, arrivals=(Arrival(day(3), 20), Arrival(day(9), 4)))
    assert (p.available, p.on_order, p.net) == (40, 24, 35)


def test_projection_subtracts_daily_demand_and_adds_arrivals_on_their_day() -> None:
    p = position(10, arrivals=(Arrival(day(2), 5), Arrival(day(-3), 1)))
    proj = project(p, per_day(2), TODAY, 4)
    # an overdue purchase order counts today
    assert proj.net == (9.0, 7.0, 10.0, 8.0)
    assert proj.at(day(2)) == 10.0
    assert proj.at(day(99)) == 8.0
    assert proj.at(day(-5)) == 9.0
    assert proj.first_below(8) == day(1)
    assert proj.first_below(9, day(2)) == day(3)
    assert proj.first_below(8, day(-2)) == day(1)
    assert proj.first_below(0) is None


def test_projection_has_at_least_one_day() -> None:
    assert project(position(3), per_day(1), TODAY, 0) == Projection(TODAY, (2.0,))


def test_reserved_and_backordered_units_do_not_serve_new_demand() -> None:
    proj = project(position(10, reserved=4, backordered=6), per_day(1), TODAY, 1)
    assert proj.net == (-1.0,)


# -- projected_stockout ---------------------------------------------------------------------


def test_alert_rises_when_stock_runs_out_by_the_time_an_order_today_arrives() -> None:
    # 1 a day and 10 on hand: the 11th day (day 10) cannot be served.
    p = position(10, lead_time_days=10)
    decision = evaluate_stockout(p, per_day(1), TODAY, active=False)
    assert decision.stockout_date == day(10)
    assert decision.arrival_date == day(10)
    assert decision.short
    assert decision.raise_alert
    assert not decision.clear_alert
    assert decision.demand_to_arrival == pytest.approx(11)
    assert decision.supply_to_arrival == 10
    assert decision.detail() == {
        "stockout_date": "2024-11-14",
        "arrival_date": "2024-11-14",
        "demand_to_arrival": 11.0,
        "demand_sd_to_arrival": 0.0,
        "service_level": 0.95,
        "supply_to_arrival": 10,
    }


def test_alert_rises_exactly_the_lead_time_before_a_steady_stockout() -> None:
    forecast = per_day(1)
    lead = 7
    for elapsed in range(20):
        today = day(elapsed)
        p = position(20 - elapsed, lead_time_days=lead)
        short = evaluate_stockout(p, forecast, today, active=False).short
        stockout = day(20)  # the first day the 20 units cannot serve
        assert short == (today >= stockout - timedelta(days=lead)), elapsed


def test_a_stored_lead_time_past_ten_years_counts_as_ten_years() -> None:
    """Imports refuse more than 3,650 days now; a product stored before may hold 3
    million (a date past the year 9999): the rules count ten years, never fail."""
    huge, capped = position(5, lead_time_days=3_000_000), position(5, lead_time_days=3650)
    assert evaluate_stockout(huge, per_day(1), TODAY, active=False) == evaluate_stockout(
        capped, per_day(1), TODAY, active=False
    )
    assert suggest(huge, per_day(1), TODAY).to_dict()["lead_time_days"] == 3650


def test_no_alert_while_an_order_today_would_arrive_in_time() -> None:
    decision = evaluate_stockout(position(11, lead_time_days=10), per_day(1), TODAY, active=False)
    assert not decision.short
    assert not decision.raise_alert
    assert decision.stockout_date is None or decision.stockout_date > day(10)


def test_purchase_orders_arriving_within_the_lead_time_count() -> None:
    p = position(5, lead_time_days=10, arrivals=(Arrival(day(3), 50), Arrival(day(30), 9)))
    decision = evaluate_stockout(p, per_day(1), TODAY, active=False)
    assert not decision.short
    assert decision.supply_to_arrival == 55


def test_a_gap_before_a_purchase_order_arrives_is_still_a_stockout() -> None:
    p = position(2, lead_time_days=10, arrivals=(Arrival(day(6), 50),))
    decision = evaluate_stockout(p, per_day(1), TODAY, active=False)
    assert decision.stockout_date == day(2)
    assert decision.short


def test_an_active_alert_is_not_raised_again() -> None:
    decision = evaluate_stockout(position(3, lead_time_days=10), per_day(1), TODAY, active=True)
    assert decision.short
    assert not decision.raise_alert
    assert not decision.clear_alert


def test_alert_clears_only_past_the_margin() -> None:
    # lead 20: margin 2 days. Stock-out on day 21 is within the margin: keep.
    forecast = per_day(1)
    keep = evaluate_stockout(position(21, lead_time_days=20), forecast, TODAY, active=True)
    assert not keep.short
    assert not keep.clear_alert
    edge = evaluate_stockout(position(22, lead_time_days=20), forecast, TODAY, active=True)
    assert not edge.clear_alert
    clear = evaluate_stockout(position(23, lead_time_days=20), forecast, TODAY, active=True)
    assert clear.clear_alert
    assert clear.stockout_date is None
    assert clear.detail()["stockout_date"] is None


def test_zero_lead_time_alerts_only_when_already_short() -> None:
    ok = evaluate_stockout(position(1), per_day(1), TODAY, active=False)
    assert not ok.short
    short = evaluate_stockout(position(1, backordered=2), per_day(1), TODAY, active=False)
    assert short.short
    assert short.stockout_date == TODAY


# -- order suggestions --------------------------------------------------------------------


def test_no_order_while_stock_stays_above_safety_stock() -> None:
    s = suggest(position(100, safety_stock=5, lead_time_days=7), per_day(0), TODAY)
    assert (s.order_quantity, s.order_by, s.arrival_date, s.reorder_date) == (0, None, None, None)
    assert s.stockout_date is None
    assert s.method == "ses"


def test_order_by_is_the_safety_stock_breach_less_the_lead_time() -> None:
    # 2 a day, 60 on hand, safety 10: below 10 at the end of day 25 (60 - 52 = 8).
    p = position(60, safety_stock=10, lead_time_days=7)
    s = suggest(p, per_day(2), TODAY, review_days=7)
    assert s.reorder_date == day(25)
    assert s.order_by == day(18)
    assert s.arrival_date == day(25)
    # cover through the next review's arrival: P(day 31) = 60 - 64 = -4 → 14 units
    assert s.order_quantity == 14
    assert s.stockout_date == day(30)
    assert s.demand_over_lead_time == pytest.approx(14)


def test_order_quantity_is_rounded_up_to_the_reorder_quantity() -> None:
    p = position(60, safety_stock=10, lead_time_days=7, reorder_qty=12)
    assert suggest(p, per_day(2), TODAY).order_quantity == 24


def test_a_late_order_is_due_today_and_covers_the_shortfall() -> None:
    p = position(20, reserved=5, backordered=5, safety_stock=4, lead_time_days=14)
    s = suggest(p, per_day(1), TODAY, review_days=7)
    assert s.order_by == TODAY
    assert s.arrival_date == day(14)
    # net 10; through day 20 demand 21 → P = -11; safety 4 → 15
    assert s.order_quantity == 15
    assert s.to_dict() == {
        "sku": "X",
        "order_quantity": 15,
        "order_by": "2024-11-04",
        "arrival_date": "2024-11-18",
        "reorder_date": "2024-11-10",
        "stockout_date": "2024-11-14",
        "on_hand": 20,
        "reserved": 5,
        "expired": 0,
        "available": 15,
        "on_order": 0,
        "backordered": 5,
        "safety_stock": 4,
        "lead_time_days": 14,
        "reorder_qty": 0,
        "demand_over_lead_time": 14.0,
        "demand_sd_over_lead_time": 0.0,
        "service_level": 0.95,
        "configured_safety_stock": 4,
        "method": "ses",
        "backtest_error": None,
    }


def test_a_breach_a_purchase_order_covers_moves_the_search_on() -> None:
    # 5 on hand, 1 a day, 100 arriving on day 8; an order today would arrive on day 10,
    # when stock is fine again: the next breach is day 105 (order by day 95).
    p = position(5, lead_time_days=10, arrivals=(Arrival(day(8), 100),))
    s = suggest(p, per_day(1), TODAY, review_days=7)
    assert s.reorder_date == day(5)
    assert s.order_by == day(95)
    assert s.arrival_date == day(105)
    assert s.order_quantity == 7


def test_no_order_when_the_next_breach_is_past_the_horizon() -> None:
    p = position(5, lead_time_days=10, arrivals=(Arrival(day(8), 100),))
    s = suggest(p, per_day(1), TODAY, review_days=7, horizon_days=50)
    assert (s.order_quantity, s.order_by, s.arrival_date) == (0, None, None)
    assert s.reorder_date == day(5)


def test_no_order_when_a_purchase_order_covers_for_good() -> None:
    p = position(5, lead_time_days=10, arrivals=(Arrival(day(8), 10_000),))
    s = suggest(p, per_day(1), TODAY, review_days=7, horizon_days=200)
    assert (s.order_quantity, s.order_by, s.arrival_date) == (0, None, None)


# -- uncertainty: safety stock and the alert at a service level -----------------------------


def uncertain(units: float, sd_per_week: float, weeks: int = 60) -> Forecast:
    """``units`` a day whose weekly demand has standard deviation ``sd_per_week``,
    independent from week to week."""
    spread = tuple(sd_per_week * (i + 1) ** 0.5 for i in range(weeks))
    return Forecast(
        Sku("X"),
        ForecastMethod.SES,
        TODAY,
        (units * 7,) * weeks,
        spread=spread,
        week_sd=(sd_per_week,) * weeks,
    )


def test_safety_stock_covers_lead_time_and_review_at_the_service_level() -> None:
    # lead 14 + review 7 = 3 weeks: sigma = 10 * sqrt(3); z(95 %) = 1.645
    f = uncertain(10, 10)
    p = position(1000, lead_time_days=14)
    assert safety_stock(p, f, TODAY) == 29  # ceil(1.645 * 17.32)
    assert safety_stock(p, f, TODAY, service_level=0.99) == 41  # ceil(2.326 * 17.32)
    assert safety_stock(p, f, TODAY, service_level=0.5) == 0
    # the product's own setting is a floor
    assert safety_stock(position(1000, lead_time_days=14, safety_stock=50), f, TODAY) == 50
    # a forecast without intervals leaves the setting alone
    assert safety_stock(position(1000, safety_stock=5), per_day(1), TODAY) == 5


def test_suggestion_keeps_the_statistical_safety_stock() -> None:
    f = uncertain(10, 10)
    s = suggest(position(400, lead_time_days=14, reorder_qty=0), f, TODAY)
    assert s.safety_stock == 29
    assert s.configured_safety_stock == 0
    assert s.service_level == 0.95
    # 400 at 10 a day end day 37 at 20, below 29: order two weeks before
    assert s.reorder_date == day(37)
    assert s.order_by == day(23)
    assert s.demand_sd_over_lead_time == pytest.approx(10 * 2**0.5, rel=1e-3)
    # without uncertainty the same stock is ordered later
    plain = suggest(position(400, lead_time_days=14, reorder_qty=0), per_day(10), TODAY)
    assert plain.order_by is not None
    assert plain.order_by > s.order_by


def test_projected_stockout_counts_demand_at_the_service_level() -> None:
    # 100 on hand at 10 a day: the mean runs out on day 10, beyond a 7-day lead time;
    # with a 30-unit weekly deviation the 95 % demand runs out within it
    p = position(100, lead_time_days=7)
    assert not evaluate_stockout(p, per_day(10), TODAY, active=False).short
    decision = evaluate_stockout(p, uncertain(10, 30), TODAY, active=False)
    assert decision.short
    assert decision.stockout_date is not None
    assert decision.stockout_date <= day(7)
    assert decision.demand_at_service_level > decision.demand_to_arrival
    assert decision.detail()["service_level"] == 0.95
    # at a 50 % service level only the mean counts
    assert not evaluate_stockout(p, uncertain(10, 30), TODAY, active=False, service_level=0.5).short


def test_projection_at_a_quantile_subtracts_the_spread() -> None:
    f = uncertain(1, 7)
    mean = project(position(100), f, TODAY, 14)
    cautious = project(position(100), f, TODAY, 14, z=2.0)
    assert cautious.net[6] == pytest.approx(mean.net[6] - 2 * 7)
    assert cautious.net[13] == pytest.approx(mean.net[13] - 2 * 7 * 2**0.5)
