"""Stock by expiry date: what has expired and what expires within so many days."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from decimal import Decimal
from typing import Any

from stock_core.domain.reports.period import ReportLine
from stock_core.domain.reports.period import _money
from stock_core.domain.reports.period import _report_csv
from stock_core.types import Sku

__all__ = ["DatedStock", "ExpiryLine", "ExpiryReport", "expiry_csv", "expiry_report"]


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
class ExpiryLine(ReportLine):
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
    return _report_csv(ExpiryLine, (i.to_dict() for i in report.items))
