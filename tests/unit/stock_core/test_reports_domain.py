from __future__ import annotations

import csv
import io
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from decimal import Decimal

import pytest

from stock_core.domain.reports import DatedStock
from stock_core.domain.reports import ProductActivity
from stock_core.domain.reports import ProductHolding
from stock_core.domain.reports import ProductPeriod
from stock_core.domain.reports import deadstock_csv
from stock_core.domain.reports import deadstock_report
from stock_core.domain.reports import expiry_csv
from stock_core.domain.reports import expiry_report
from stock_core.domain.reports import instant
from stock_core.domain.reports import period_bounds
from stock_core.domain.reports import turnover_csv
from stock_core.domain.reports import turnover_report
from stock_core.domain.reports import valuation_csv
from stock_core.domain.reports import valuation_report
from stock_core.types import Sku

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 31, tzinfo=UTC)  # 30 days


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# -- instants and periods -------------------------------------------------------------


def test_a_date_is_utc_midnight_and_end_of_day_is_the_next() -> None:
    assert instant(date(2024, 3, 1)) == datetime(2024, 3, 1, tzinfo=UTC)
    assert instant(date(2024, 3, 1), end_of_day=True) == datetime(2024, 3, 2, tzinfo=UTC)


def test_datetimes_are_kept_and_naive_ones_read_as_utc() -> None:
    aware = datetime(2024, 3, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert instant(aware, end_of_day=True) is aware
    assert instant(datetime(2024, 3, 1, 12)) == datetime(2024, 3, 1, 12, tzinfo=UTC)


def test_period_bounds_include_the_last_day() -> None:
    assert period_bounds(date(2024, 1, 1), date(2024, 1, 30)) == (START, END)
    assert period_bounds(START, END) == (START, END)
    with pytest.raises(ValueError, match="empty"):
        period_bounds(date(2024, 2, 1), date(2024, 1, 31))
    with pytest.raises(ValueError, match="empty"):
        period_bounds(START, START)


# -- turnover -----------------------------------------------------------------------


def period(
    sku: str, category: str, cost: str, opening: int, closing: int, out: int
) -> ProductPeriod:
    return ProductPeriod(Sku(sku), sku.title(), category, Decimal(cost), opening, closing, out)


def test_turnover_is_cost_of_goods_out_over_average_inventory_value() -> None:
    report = turnover_report(
        [
            period("WIDGET", "hardware", "2.50", 100, 60, 90),  # cogs 225, avg 200
            period("GADGET", "hardware", "10.00", 0, 20, 5),  # cogs 50, avg 100
            period("NUT", "parts", "0.03", 0, 0, 0),
            period("BOLT", "parts", "0.05", 0, 0, 40),  # sold what came in: avg 0
        ],
        START,
        END,
    )
    widget, gadget, nut, bolt = report.products
    assert widget.cost_of_goods_out == Decimal("225.00")
    assert widget.average_inventory_value == Decimal("200.00")
    assert widget.turnover == 1.125
    assert widget.days_of_supply == round(30 / 1.125, 2)
    assert gadget.turnover == 0.5
    assert gadget.days_of_supply == 60.0
    assert nut.turnover is None
    assert nut.days_of_supply is None
    assert bolt.turnover is None
    hardware, parts = report.categories
    assert (hardware.category, hardware.products) == ("hardware", 2)
    assert hardware.cost_of_goods_out == Decimal("275.00")
    assert hardware.average_inventory_value == Decimal("300.00")
    assert hardware.turnover == round(275 / 300, 4)
    assert parts.cost_of_goods_out == Decimal("2.00")
    assert parts.turnover is None
    assert report.total.cost_of_goods_out == Decimal("277.00")
    assert report.total.turnover == round(277 / 300, 4)


def test_zero_outbound_gives_zero_turnover_and_no_days_of_supply() -> None:
    (line,) = turnover_report([period("W", "c", "1", 10, 10, 0)], START, END).products
    assert line.turnover == 0.0
    assert line.days_of_supply is None


def test_turnover_serialises_to_json_and_csv() -> None:
    report = turnover_report([period("WIDGET", "hardware", "2.50", 100, 60, 90)], START, END)
    d = report.to_dict()
    assert d["from"] == "2024-01-01T00:00:00+00:00"
    assert d["items"][0]["cost_of_goods_out"] == "225.00"
    assert d["items"][0]["turnover"] == 1.125
    assert d["categories"][0]["category"] == "hardware"
    assert d["total"]["average_inventory_value"] == "200.00"
    rows = rows_of(turnover_csv(report))
    assert [r["category"] for r in rows] == ["hardware", "hardware", "TOTAL"]
    assert rows[0]["sku"] == "WIDGET"
    assert rows[0]["units_out"] == "90"
    assert rows[0]["turnover"] == "1.125"
    assert rows[2]["cost_of_goods_out"] == "225.00"


def test_turnover_shows_returns_and_scrap_apart_from_goods_out() -> None:
    row = ProductPeriod(Sku("WIDGET"), "Widget", "hardware", Decimal("2"), 10, 12, 4, 3, 1)
    report = turnover_report([row], START, END)
    line = report.products[0]
    assert (line.units_out, line.returned, line.scrapped) == (4, 3, 1)
    assert line.cost_of_goods_out == Decimal("8.00")  # picks only
    assert report.to_dict()["items"][0]["returned"] == 3
    assert rows_of(turnover_csv(report))[0]["scrapped"] == "1"


def test_empty_turnover_csv_has_the_header_and_total() -> None:
    rows = rows_of(turnover_csv(turnover_report([], START, END)))
    assert rows == [
        {
            "sku": "",
            "name": "",
            "category": "TOTAL",
            "unit_cost": "",
            "opening": "",
            "closing": "",
            "units_out": "",
            "cost_of_goods_out": "0.00",
            "average_inventory_value": "0.00",
            "turnover": "",
            "days_of_supply": "",
            "returned": "",
            "scrapped": "",
        }
    ]


# -- deadstock ----------------------------------------------------------------------

AS_OF = datetime(2024, 6, 30, tzinfo=UTC)


def activity(
    sku: str, on_hand: int, last: datetime | None, out: int, cost: str = "2.00"
) -> ProductActivity:
    return ProductActivity(Sku(sku), sku.title(), "c", Decimal(cost), on_hand, last, out)


def test_deadstock_lists_stock_without_outbound_in_the_window_and_slow_movers() -> None:
    report = deadstock_report(
        [
            activity("NEVER", 5, None, 0, "1.00"),  # never picked
            activity("OLD", 10, AS_OF - timedelta(days=100), 0),  # dead for 100 days
            activity("BIGOLD", 10, AS_OF - timedelta(days=40), 0, "9.00"),
            activity("SLOW", 1000, AS_OF - timedelta(days=3), 10),  # 10 in 30 d: 3000 d cover
            activity("BUSY", 50, AS_OF - timedelta(days=1), 300),  # 5 days of cover
            activity("EMPTY", 0, None, 0),  # nothing tied up
        ],
        as_of=AS_OF,
        days=30,
    )
    assert [(i.sku, i.status) for i in report.items] == [
        ("BIGOLD", "dead"),
        ("OLD", "dead"),
        ("NEVER", "dead"),
        ("SLOW", "slow"),
    ]
    bigold, old, never, slow = report.items
    assert bigold.value == Decimal("90.00")
    assert old.days_since_outbound == 100
    assert never.days_since_outbound is None
    assert never.days_of_cover is None
    assert slow.days_of_cover == 3000.0
    assert slow.value == Decimal("2000.00")
    assert report.dead_value == Decimal("115.00")
    assert report.slow_value == Decimal("2000.00")


def test_picks_exactly_at_the_window_edge_count_as_movement() -> None:
    report = deadstock_report(
        [activity("EDGE", 5, AS_OF - timedelta(days=30), 1)], as_of=AS_OF, days=30
    )
    assert report.items == ()


def test_a_lower_cover_limit_makes_more_slow_movers() -> None:
    rows = [activity("BUSY", 50, AS_OF - timedelta(days=1), 300)]
    assert deadstock_report(rows, as_of=AS_OF, days=30, slow_cover_days=4).items[0].status == "slow"


def test_deadstock_needs_a_window() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        deadstock_report([], as_of=AS_OF, days=0)


def test_deadstock_serialises_to_json_and_csv() -> None:
    report = deadstock_report(
        [activity("OLD", 10, datetime(2024, 3, 1, tzinfo=UTC), 0), activity("NEVER", 1, None, 0)],
        as_of=AS_OF,
        days=30,
    )
    d = report.to_dict()
    assert d["items"][0]["last_outbound"] == "2024-03-01T00:00:00+00:00"
    assert d["items"][1]["last_outbound"] is None
    assert d["dead_value"] == "22.00"
    assert d["slow_value"] == "0.00"
    assert d["days"] == 30
    rows = rows_of(deadstock_csv(report))
    assert rows[0]["sku"] == "OLD"
    assert rows[0]["value"] == "20.00"
    assert rows[0]["days_since_outbound"] == "121"
    assert rows[1]["last_outbound"] == ""


# -- valuation ----------------------------------------------------------------------


def test_valuation_per_product_category_and_total() -> None:
    at = datetime(2024, 6, 30, tzinfo=UTC)
    report = valuation_report(
        [
            ProductHolding(Sku("WIDGET"), "Widget", "hardware", Decimal("2.50"), 12),
            ProductHolding(Sku("NUT"), "Nut", "parts", Decimal("0.0333"), 1000),
            ProductHolding(Sku("NONE"), "None", "parts", Decimal("9"), 0),
            ProductHolding(Sku("BOLT"), "Bolt", "parts", Decimal("0.05"), 10),
        ],
        at,
    )
    assert [i.sku for i in report.items] == ["WIDGET", "NUT", "BOLT"]
    assert [i.value for i in report.items] == [Decimal("30.00"), Decimal("33.30"), Decimal("0.50")]
    assert report.categories == (("hardware", Decimal("30.00")), ("parts", Decimal("33.80")))
    assert report.total == Decimal("63.80")
    d = report.to_dict()
    assert d["total"] == "63.80"
    assert d["categories"][1] == {"category": "parts", "value": "33.80"}
    assert d["items"][0]["unit_cost"] == "2.50"
    rows = rows_of(valuation_csv(report))
    assert rows[-1] == {
        "sku": "",
        "name": "",
        "category": "TOTAL",
        "on_hand": "",
        "unit_cost": "",
        "value": "63.80",
    }
    assert rows[1]["value"] == "33.30"


def _dated(sku: str, expiry: date, on_hand: int = 4, lot: str = "L1") -> DatedStock:
    return DatedStock(
        Sku(sku), f"name {sku}", "food", Decimal("2.50"), "SHELF", lot, expiry, on_hand, 1
    )


def test_expiry_report_lists_expired_and_expiring_rows_soonest_first() -> None:
    today = date(2026, 12, 7)
    rows = [
        _dated("LATER", date(2026, 12, 20)),
        _dated("BEYOND", date(2027, 1, 6)),  # today + 30: outside the window
        _dated("PAST", date(2026, 12, 6), on_hand=3),
        _dated("EMPTY", date(2026, 12, 1), on_hand=0),
        _dated("LAST_DAY", today, lot="L2"),
    ]
    report = expiry_report(rows, today=today, days=30)
    assert [(i.sku, i.status, i.days_left) for i in report.items] == [
        ("PAST", "expired", -1),
        ("LAST_DAY", "expiring", 0),
        ("LATER", "expiring", 13),
    ]
    body = report.to_dict()
    assert body["today"] == "2026-12-07"
    assert body["expired"] == {"on_hand": 3, "value": "7.50"}
    assert body["expiring"] == {"on_hand": 8, "value": "20.00"}
    assert body["items"][0]["expiry"] == "2026-12-06"
    only_expired = expiry_report(rows, today=today, days=0)
    assert [i.sku for i in only_expired.items] == ["PAST"]
    lines = rows_of(expiry_csv(report))
    assert [(r["sku"], r["status"], r["days_left"], r["value"]) for r in lines] == [
        ("PAST", "expired", "-1", "7.50"),
        ("LAST_DAY", "expiring", "0", "10.00"),
        ("LATER", "expiring", "13", "10.00"),
    ]
    assert lines[0]["lot"] == "L1"
    assert lines[1]["lot"] == "L2"
