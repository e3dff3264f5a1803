"""Stock valuation at an instant, at unit cost."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from stock_core.domain.reports.period import ReportLine
from stock_core.domain.reports.period import _money
from stock_core.domain.reports.period import _report_csv
from stock_core.types import Sku

__all__ = [
    "ProductHolding",
    "ValuationLine",
    "ValuationReport",
    "valuation_csv",
    "valuation_report",
]


@dataclass(frozen=True)
class ProductHolding:
    """A product's on-hand at an instant (what the store reads)."""

    sku: Sku
    name: str
    category: str
    unit_cost: Decimal
    on_hand: int


@dataclass(frozen=True)
class ValuationLine(ReportLine):
    sku: Sku
    name: str
    category: str
    on_hand: int
    unit_cost: Decimal
    value: Decimal


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
    total = {"category": "TOTAL", "value": report.total}
    return _report_csv(ValuationLine, [*(i.to_dict() for i in report.items), total])
