"""Deadstock and slow movers: stock that has not moved, or covers too many days."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any

from stock_core.domain.reports.period import DEFAULT_SLOW_COVER_DAYS
from stock_core.domain.reports.period import ReportLine
from stock_core.domain.reports.period import _money
from stock_core.domain.reports.period import _report_csv
from stock_core.types import Sku

__all__ = [
    "DeadstockLine",
    "DeadstockReport",
    "ProductActivity",
    "deadstock_csv",
    "deadstock_report",
]


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
class DeadstockLine(ReportLine):
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


@dataclass(frozen=True)
class DeadstockReport:
    """Stock that has not gone out in ``days`` (dead), or covers more than
    ``slow_cover_days`` (slow), with the value of each."""

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
    return _report_csv(DeadstockLine, (i.to_dict() for i in report.items))
