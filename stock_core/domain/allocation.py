"""Which lots a pick draws from, and what a count changes. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

__all__ = ["CountedLine", "LotStock", "allocate_fefo", "total_available", "total_counted"]


@dataclass(frozen=True)
class LotStock:
    """One stock row of a product at a location."""

    lot: str
    expiry: date | None
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def expired(self, today: date | None) -> bool:
        """Past its expiry date (a lot is good through the day it expires)."""
        return today is not None and self.expiry is not None and self.expiry < today


def total_available(lots: Iterable[LotStock], today: date | None = None) -> int:
    """Units free to pick: not reserved and, given ``today``, not expired."""
    return sum(max(lot.available, 0) for lot in lots if not lot.expired(today))


def allocate_fefo(
    lots: Sequence[LotStock], quantity: int, today: date | None = None
) -> list[tuple[str, int]]:
    """Split ``quantity`` across lots, first expiry first (no expiry last, then by lot).

    Given ``today``, expired lots are skipped: expired stock is not available.
    Returns ``(lot, units)`` pairs with positive units, or an empty list when the lots
    together hold less than ``quantity`` available (the caller reports the shortfall).
    """
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    usable = [lot for lot in lots if not lot.expired(today)]
    ordered = sorted(usable, key=lambda s: (s.expiry is None, s.expiry or date.min, s.lot))
    taken: list[tuple[str, int]] = []
    left = quantity
    for lot in ordered:
        if left == 0:
            break
        units = min(lot.available, left)
        if units > 0:
            taken.append((lot.lot, units))
            left -= units
    return taken if left == 0 else []


@dataclass(frozen=True)
class CountedLine:
    """A count line after barcode resolution: units of one product and lot."""

    product_id: int
    sku: str
    lot: str
    units: int


def total_counted(lines: Iterable[CountedLine]) -> dict[tuple[int, str], tuple[str, int]]:
    """Add up count lines per (product, lot), keeping first-scanned order."""
    totals: dict[tuple[int, str], tuple[str, int]] = {}
    for line in lines:
        key = (line.product_id, line.lot)
        sku, units = totals.get(key, (line.sku, 0))
        totals[key] = (sku, units + line.units)
    return totals
