"""Order and backorder rules that need no database: validation and expected dates."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from stock_core.errors import InvalidMovementError

__all__ = [
    "OrderLineRequest",
    "WaitingLine",
    "expected_dates",
    "moved_dates",
    "validate_lines",
    "validate_number",
]

_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
MAX_LINES = 500
MAX_LINE_QUANTITY = 1_000_000


@dataclass(frozen=True)
class OrderLineRequest:
    sku: str
    quantity: int
    lot: str | None = None
    """Receipts: the lot received (a lot-tracked product needs one)."""
    expiry: date | None = None
    """Receipts: the lot's expiry date, as a GS1 scan's AI 17 gives it."""


def validate_number(number: str, what: str = "order") -> None:
    if not _NUMBER.match(number):
        raise InvalidMovementError(
            f"{what} number must be 1-64 letters, digits, '.', '_', '/' or '-'"
        )


def validate_lines(
    lines: Sequence[OrderLineRequest], limit: int = MAX_LINE_QUANTITY, *, one_per_sku: bool = True
) -> None:
    """An order's or a purchase order's lines (one per SKU); with ``one_per_sku`` false,
    the lines of a receipt or a pick, where a SKU may come twice (two lots of it)."""
    if not lines:
        raise InvalidMovementError("an order needs at least one line")
    if len(lines) > MAX_LINES:
        raise InvalidMovementError(f"at most {MAX_LINES} lines")
    seen: set[str] = set()
    for line in lines:
        if one_per_sku and line.sku in seen:
            raise InvalidMovementError(f"{line.sku} appears on two lines: put it on one")
        seen.add(line.sku)
        if isinstance(line.quantity, bool) or not 1 <= line.quantity <= limit:
            raise InvalidMovementError(f"quantity of {line.sku} must be 1 to {limit}")


def expected_dates(waiting: Sequence[int], supply: Sequence[tuple[date, int]]) -> list[date | None]:
    """When each backorder in queue order can be filled from open purchase orders.

    ``waiting`` are backordered quantities in fill order; ``supply`` the remaining
    quantities of open purchase order lines by expected date. A backorder's date is
    the date by which cumulative supply covers cumulative demand up to and including
    it; ``None`` when open purchase orders never cover it.
    """
    dates: list[date | None] = []
    demand = 0
    supplied = 0
    source = iter(sorted(supply))
    current: date | None = None
    for quantity in waiting:
        demand += quantity
        while supplied < demand:
            nxt = next(source, None)
            if nxt is None:
                current = None
                break
            current, amount = nxt
            supplied += amount
        dates.append(current if supplied >= demand else None)
    return dates


@dataclass(frozen=True)
class WaitingLine:
    """A backordered line in fill order, with the expected date last announced for it."""

    quantity: int
    announced: date | None
    new: bool = False
    """Created in this change: its date goes out with ``backorder.created`` instead."""


def moved_dates(
    waiting: Sequence[WaitingLine], supply: Sequence[tuple[date, int]]
) -> list[tuple[int, date | None, bool]]:
    """Lines whose expected date is not the one announced: ``(index, date, announce)``.

    ``announce`` is false for new lines (their date is told as they are created); every
    other line in the list gets a ``backorder.eta_changed``.
    """
    dates = expected_dates([line.quantity for line in waiting], supply)
    return [
        (index, expected, not line.new)
        for index, (line, expected) in enumerate(zip(waiting, dates, strict=True))
        if line.new or expected != line.announced
    ]
