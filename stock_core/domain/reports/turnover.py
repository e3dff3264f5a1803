"""Inventory turnover over a period, per product and per category."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from stock_core.domain.reports.period import ReportLine
from stock_core.domain.reports.period import _days
from stock_core.domain.reports.period import _money
from stock_core.domain.reports.period import _ratio
from stock_core.domain.reports.period import _report_csv
from stock_core.types import Sku

__all__ = [
    "CategoryTurnover",
    "ProductPeriod",
    "TurnoverLine",
    "TurnoverReport",
    "turnover_csv",
    "turnover_report",
]


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
class TurnoverLine(ReportLine):
    """One product's turnover over the period, from its ledger sums."""

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


@dataclass(frozen=True)
class CategoryTurnover(ReportLine):
    """A category's turnover: its products' figures summed."""

    category: str
    products: int
    cost_of_goods_out: Decimal
    average_inventory_value: Decimal
    turnover: float | None
    days_of_supply: float | None


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
    totals = [
        c.to_dict() | {"category": c.category if c is not report.total else "TOTAL"}
        for c in (*report.categories, report.total)
    ]
    return _report_csv(TurnoverLine, [*(p.to_dict() for p in report.products), *totals])
