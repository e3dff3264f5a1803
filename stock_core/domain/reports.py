"""Stock reports: inventory turnover, deadstock and slow movers, valuation; and their CSV.

Pure: the store sums the ledger (on-hand at an instant is the sum of the deltas before
it; outbound units are picks less the undo rows that reverse them) and these functions
turn the sums into figures. Money is :class:`~decimal.Decimal` at the products' current
``unit_cost`` (stockd keeps no cost history), rounded to cents in the reports.

* **Turnover** over ``[start, end)``: cost of goods moved out (outbound units ×
  unit cost) divided by the average inventory value (the mean of the on-hand value at
  ``start`` and at ``end``); per product, per category and in total. Undefined
  (``None``) when the average inventory value is zero. ``days_of_supply`` is the
  period's length divided by the turnover.
* **Deadstock and slow movers** at ``as_of``, looking back ``days``: products with
  stock and no outbound movement in the window are ``dead``; products that moved but
  whose stock would last longer than ``slow_cover_days`` at the window's rate are
  ``slow``. Each with the value tied up (on hand × unit cost) and the last outbound day.
* **Valuation** at an instant: on hand × unit cost per product, per category, in total.
* **Expiry** on ``today``: every stock row (product, location, lot) holding units whose
  expiry date is before ``today + days``: ``expired`` when the date is before
  ``today`` (a lot is good through the day it expires), else ``expiring``, with the
  days left (negative once expired), the units not held for an order, and the value.

Dates given for a period are whole days in UTC: ``period_bounds(from, to)`` covers the
first day's midnight up to the midnight after the last day.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from stock_core.types import Sku

__all__ = [
    "DEFAULT_SLOW_COVER_DAYS",
    "CategoryTurnover",
    "DatedStock",
    "DeadstockLine",
    "DeadstockReport",
    "ExpiryLine",
    "ExpiryReport",
    "ProductActivity",
    "ProductHolding",
    "ProductPeriod",
    "TurnoverLine",
    "TurnoverReport",
    "ValuationLine",
    "ValuationReport",
    "deadstock_csv",
    "deadstock_report",
    "expiry_csv",
    "expiry_report",
    "instant",
    "period_bounds",
    "turnover_csv",
    "turnover_report",
    "valuation_csv",
    "valuation_report",
]

DEFAULT_SLOW_COVER_DAYS = 180
_CENT = Decimal("0.01")


def instant(at: date | datetime, *, end_of_day: bool = False) -> datetime:
    """A date as UTC midnight (the next one with ``end_of_day``); datetimes as they are.

    A naive datetime is taken as UTC.
    """
    if isinstance(at, datetime):
        return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    day = at + timedelta(days=1) if end_of_day else at
    return datetime.combine(day, time(), tzinfo=UTC)


def period_bounds(start: date | datetime, end: date | datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` as instants; a date ``end`` includes that whole day."""
    first, last = instant(start), instant(end, end_of_day=True)
    if last <= first:
        raise ValueError(f"the period is empty: it ends ({last}) by the time it starts ({first})")
    return first, last


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT)


def _ratio(numerator: Decimal, denominator: Decimal) -> float | None:
    return round(float(numerator / denominator), 4) if denominator else None


def _days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400


def _write_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue()


# -- turnover -----------------------------------------------------------------------


@dataclass(frozen=True)
class ProductPeriod:
    """A product's ledger sums for a period (what the store reads)."""

    sku: Sku
    name: str
    category: str
    unit_cost: Decimal
    opening: int
    """On hand at the period's start."""
    closing: int
    """On hand at its end."""
    units_out: int
    """Outbound units in the period, net of undone picks."""
    returned: int = 0
    """Units returned in the period (into quarantine), net of undone returns."""
    scrapped: int = 0
    """Units written off in the period, net of undone scrap."""


@dataclass(frozen=True)
class TurnoverLine:
    sku: Sku
    name: str
    category: str
    unit_cost: Decimal
    opening: int
    closing: int
    units_out: int
    cost_of_goods_out: Decimal
    average_inventory_value: Decimal
    turnover: float | None
    days_of_supply: float | None
    returned: int = 0
    scrapped: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name": self.name,
            "category": self.category,
            "unit_cost": str(self.unit_cost),
            "opening": self.opening,
            "closing": self.closing,
            "units_out": self.units_out,
            "cost_of_goods_out": str(self.cost_of_goods_out),
            "average_inventory_value": str(self.average_inventory_value),
            "turnover": self.turnover,
            "days_of_supply": self.days_of_supply,
            "returned": self.returned,
            "scrapped": self.scrapped,
        }


@dataclass(frozen=True)
class CategoryTurnover:
    category: str
    products: int
    cost_of_goods_out: Decimal
    average_inventory_value: Decimal
    turnover: float | None
    days_of_supply: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "products": self.products,
            "cost_of_goods_out": str(self.cost_of_goods_out),
            "average_inventory_value": str(self.average_inventory_value),
            "turnover": self.turnover,
            "days_of_supply": self.days_of_supply,
        }


@dataclass(frozen=True)
class TurnoverReport:
    start: datetime
    end: datetime
    products: tuple[TurnoverLine, ...]
    categories: tuple[CategoryTurnover, ...]
    total: CategoryTurnover
    """Every product together (``category`` is ``""``)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "items": [p.to_dict() for p in self.products],
            "categories": [c.to_dict() for c in self.categories],
            "total": self.total.to_dict(),
        }


def _turnover_figures(
    cogs: Decimal, average: Decimal, days: float
) -> tuple[float | None, float | None]:
    turnover = _ratio(cogs, average)
    supply = round(days / turnover, 2) if turnover else None
    return turnover, supply


def _category(name: str, lines: Sequence[TurnoverLine], days: float) -> CategoryTurnover:
    cogs = sum((line.cost_of_goods_out for line in lines), Decimal(0))
    average = sum((line.average_inventory_value for line in lines), Decimal(0))
    turnover, supply = _turnover_figures(cogs, average, days)
    return CategoryTurnover(name, len(lines), _money(cogs), _money(average), turnover, supply)


def turnover_report(
    rows: Iterable[ProductPeriod], start: datetime, end: datetime
) -> TurnoverReport:
    """Turnover per product (in ``rows`` order), per category (by name) and in total.

    The cost of goods out counts picks only: scrap is a loss, not a sale, and a return is
    not negative demand (returned units wait in quarantine, and may be scrapped). Both
    change on-hand, so both are in the opening and closing stock, and each line shows
    its units ``returned`` and ``scrapped``.
    """
    days = _days(start, end)
    lines: list[TurnoverLine] = []
    for row in rows:
        cogs = row.units_out * row.unit_cost
        average = (row.opening + row.closing) * row.unit_cost / 2
        turnover, supply = _turnover_figures(cogs, average, days)
        lines.append(
            TurnoverLine(
                sku=row.sku,
                name=row.name,
                category=row.category,
                unit_cost=row.unit_cost,
                opening=row.opening,
                closing=row.closing,
                units_out=row.units_out,
                cost_of_goods_out=_money(cogs),
                average_inventory_value=_money(average),
                turnover=turnover,
                days_of_supply=supply,
                returned=row.returned,
                scrapped=row.scrapped,
            )
        )
    by_category: dict[str, list[TurnoverLine]] = defaultdict(list)
    for line in lines:
        by_category[line.category].append(line)
    return TurnoverReport(
        start=start,
        end=end,
        products=tuple(lines),
        categories=tuple(_category(c, by_category[c], days) for c in sorted(by_category)),
        total=_category("", lines, days),
    )


def turnover_csv(report: TurnoverReport) -> str:
    """One row per product, then one per category (``sku`` empty) and the total."""
    header = (
        "sku",
        "name",
        "category",
        "unit_cost",
        "opening",
        "closing",
        "units_out",
        "cost_of_goods_out",
        "average_inventory_value",
        "turnover",
        "days_of_supply",
        "returned",
        "scrapped",
    )
    rows: list[Sequence[object]] = [
        (
            p.sku,
            p.name,
            p.category,
            p.unit_cost,
            p.opening,
            p.closing,
            p.units_out,
            p.cost_of_goods_out,
            p.average_inventory_value,
            p.turnover,
            p.days_of_supply,
            p.returned,
            p.scrapped,
        )
        for p in report.products
    ]
    for c in (*report.categories, report.total):
        label = c.category if c is not report.total else "TOTAL"
        rows.append(
            (
                "",
                "",
                label,
                "",
                "",
                "",
                "",
                c.cost_of_goods_out,
                c.average_inventory_value,
                c.turnover,
                c.days_of_supply,
                "",
                "",
            )
        )
    return _write_csv(header, rows)


# -- deadstock and slow movers ------------------------------------------------------


@dataclass(frozen=True)
class ProductActivity:
    """A product's stock and recent outbound movement (what the store reads)."""

    sku: Sku
    name: str
    category: str
    unit_cost: Decimal
    on_hand: int
    last_outbound: datetime | None
    """The last pick not undone, ever (before ``as_of``)."""
    units_out: int
    """Outbound units in the window, net of undone picks."""


@dataclass(frozen=True)
class DeadstockLine:
    sku: Sku
    name: str
    category: str
    status: str
    """``dead`` (no outbound in the window) or ``slow`` (stock outlasts the cover limit)."""
    on_hand: int
    unit_cost: Decimal
    value: Decimal
    last_outbound: datetime | None
    days_since_outbound: int | None
    units_out: int
    days_of_cover: float | None
    """On hand ÷ the window's daily outbound rate; ``None`` when nothing moved."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name": self.name,
            "category": self.category,
            "status": self.status,
            "on_hand": self.on_hand,
            "unit_cost": str(self.unit_cost),
            "value": str(self.value),
            "last_outbound": self.last_outbound.isoformat() if self.last_outbound else None,
            "days_since_outbound": self.days_since_outbound,
            "units_out": self.units_out,
            "days_of_cover": self.days_of_cover,
        }


@dataclass(frozen=True)
class DeadstockReport:
    as_of: datetime
    days: int
    slow_cover_days: int
    items: tuple[DeadstockLine, ...]
    dead_value: Decimal
    slow_value: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "days": self.days,
            "slow_cover_days": self.slow_cover_days,
            "items": [i.to_dict() for i in self.items],
            "dead_value": str(self.dead_value),
            "slow_value": str(self.slow_value),
        }


def deadstock_report(
    rows: Iterable[ProductActivity],
    *,
    as_of: datetime,
    days: int,
    slow_cover_days: int = DEFAULT_SLOW_COVER_DAYS,
) -> DeadstockReport:
    """Dead, then slow products, each group by value tied up (largest first), then SKU."""
    if days < 1:
        raise ValueError("days must be at least 1")
    cutoff = as_of - timedelta(days=days)
    items: list[DeadstockLine] = []
    for row in rows:
        if row.on_hand <= 0:
            continue
        moved = row.last_outbound is not None and row.last_outbound >= cutoff
        cover = round(row.on_hand / (row.units_out / days), 1) if row.units_out > 0 else None
        if not moved:
            status = "dead"
        elif cover is not None and cover > slow_cover_days:
            status = "slow"
        else:
            continue
        items.append(
            DeadstockLine(
                sku=row.sku,
                name=row.name,
                category=row.category,
                status=status,
                on_hand=row.on_hand,
                unit_cost=row.unit_cost,
                value=_money(row.on_hand * row.unit_cost),
                last_outbound=row.last_outbound,
                days_since_outbound=(as_of - row.last_outbound).days
                if row.last_outbound is not None
                else None,
                units_out=row.units_out,
                days_of_cover=cover,
            )
        )
    items.sort(key=lambda i: (i.status != "dead", -i.value, i.sku))
    return DeadstockReport(
        as_of=as_of,
        days=days,
        slow_cover_days=slow_cover_days,
        items=tuple(items),
        dead_value=sum((i.value for i in items if i.status == "dead"), Decimal("0.00")),
        slow_value=sum((i.value for i in items if i.status == "slow"), Decimal("0.00")),
    )


def deadstock_csv(report: DeadstockReport) -> str:
    header = (
        "sku",
        "name",
        "category",
        "status",
        "on_hand",
        "unit_cost",
        "value",
        "last_outbound",
        "days_since_outbound",
        "units_out",
        "days_of_cover",
    )
    return _write_csv(
        header,
        (
            (
                i.sku,
                i.name,
                i.category,
                i.status,
                i.on_hand,
                i.unit_cost,
                i.value,
                i.last_outbound.isoformat() if i.last_outbound else None,
                i.days_since_outbound,
                i.units_out,
                i.days_of_cover,
            )
            for i in report.items
        ),
    )


# -- valuation ----------------------------------------------------------------------


@dataclass(frozen=True)
class ProductHolding:
    """A product's on-hand at an instant (what the store reads)."""

    sku: Sku
    name: str
    category: str
    unit_cost: Decimal
    on_hand: int


@dataclass(frozen=True)
class ValuationLine:
    sku: Sku
    name: str
    category: str
    on_hand: int
    unit_cost: Decimal
    value: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name": self.name,
            "category": self.category,
            "on_hand": self.on_hand,
            "unit_cost": str(self.unit_cost),
            "value": str(self.value),
        }


@dataclass(frozen=True)
class ValuationReport:
    at: datetime
    items: tuple[ValuationLine, ...]
    categories: tuple[tuple[str, Decimal], ...]
    total: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "items": [i.to_dict() for i in self.items],
            "categories": [{"category": c, "value": str(v)} for c, v in self.categories],
            "total": str(self.total),
        }


def valuation_report(rows: Iterable[ProductHolding], at: datetime) -> ValuationReport:
    """Products with stock at ``at`` (in ``rows`` order), category subtotals and the total."""
    items = tuple(
        ValuationLine(
            r.sku, r.name, r.category, r.on_hand, r.unit_cost, _money(r.on_hand * r.unit_cost)
        )
        for r in rows
        if r.on_hand != 0
    )
    categories: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for item in items:
        categories[item.category] += item.value
    return ValuationReport(
        at=at,
        items=items,
        categories=tuple(sorted(categories.items())),
        total=sum((i.value for i in items), Decimal("0.00")),
    )


def valuation_csv(report: ValuationReport) -> str:
    """One row per product, then ``TOTAL``."""
    rows: list[Sequence[object]] = [
        (i.sku, i.name, i.category, i.on_hand, i.unit_cost, i.value) for i in report.items
    ]
    rows.append(("", "", "TOTAL", "", "", report.total))
    return _write_csv(("sku", "name", "category", "on_hand", "unit_cost", "value"), rows)


# -- expiry -------------------------------------------------------------------------


@dataclass(frozen=True)
class DatedStock:
    """A stock row with an expiry date (what the store reads)."""

    sku: Sku
    name: str
    category: str
    unit_cost: Decimal
    location: str
    lot: str
    expiry: date
    on_hand: int
    reserved: int


@dataclass(frozen=True)
class ExpiryLine:
    sku: Sku
    name: str
    category: str
    location: str
    lot: str
    expiry: date
    days_left: int
    """Days from today to the expiry date: 0 on its last good day, negative once expired."""
    status: str
    """``expired`` or ``expiring``."""
    on_hand: int
    reserved: int
    unit_cost: Decimal
    value: Decimal
    """On hand × unit cost."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name": self.name,
            "category": self.category,
            "location": self.location,
            "lot": self.lot,
            "expiry": self.expiry.isoformat(),
            "days_left": self.days_left,
            "status": self.status,
            "on_hand": self.on_hand,
            "reserved": self.reserved,
            "unit_cost": str(self.unit_cost),
            "value": str(self.value),
        }


@dataclass(frozen=True)
class ExpiryReport:
    today: date
    days: int
    items: tuple[ExpiryLine, ...]

    def _total(self, status: str) -> dict[str, Any]:
        lines = [i for i in self.items if i.status == status]
        return {
            "on_hand": sum(i.on_hand for i in lines),
            "value": str(sum((i.value for i in lines), Decimal("0.00"))),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "days": self.days,
            "items": [i.to_dict() for i in self.items],
            "expired": self._total("expired"),
            "expiring": self._total("expiring"),
        }


def expiry_report(rows: Iterable[DatedStock], *, today: date, days: int) -> ExpiryReport:
    """Rows expired or expiring within ``days`` of ``today``, soonest first."""
    horizon = today + timedelta(days=days)
    items = sorted(
        (
            ExpiryLine(
                sku=r.sku,
                name=r.name,
                category=r.category,
                location=r.location,
                lot=r.lot,
                expiry=r.expiry,
                days_left=(r.expiry - today).days,
                status="expired" if r.expiry < today else "expiring",
                on_hand=r.on_hand,
                reserved=r.reserved,
                unit_cost=r.unit_cost,
                value=_money(r.on_hand * r.unit_cost),
            )
            for r in rows
            if r.on_hand > 0 and r.expiry < horizon
        ),
        key=lambda i: (i.expiry, i.sku, i.location, i.lot),
    )
    return ExpiryReport(today=today, days=days, items=tuple(items))


def expiry_csv(report: ExpiryReport) -> str:
    """One row per stock row, soonest expiry first."""
    return _write_csv(
        (
            "sku",
            "name",
            "category",
            "location",
            "lot",
            "expiry",
            "days_left",
            "status",
            "on_hand",
            "reserved",
            "unit_cost",
            "value",
        ),
        (
            (
                i.sku,
                i.name,
                i.category,
                i.location,
                i.lot,
                i.expiry.isoformat(),
                i.days_left,
                i.status,
                i.on_hand,
                i.reserved,
                i.unit_cost,
                i.value,
            )
            for i in report.items
        ),
    )
