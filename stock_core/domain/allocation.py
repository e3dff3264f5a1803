"""Which lots a pick draws from, and what a count changes. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from stock_core.errors import CountBelowReservedError

__all__ = [
    "CountChange",
    "CountedLine",
    "LotStock",
    "allocate_fefo",
    "reconcile_count",
    "total_available",
    "total_counted",
]


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


@dataclass(frozen=True)
class CountChange:
    """One stock row a count sets: its lot and on-hand before and after."""

    lot: str
    expiry: date | None
    before: int
    after: int


def _fefo_key(lot: LotStock) -> tuple[bool, date, str]:
    return (lot.expiry is None, lot.expiry or date.min, lot.lot)


def reconcile_count(
    rows: Sequence[LotStock], counted: Mapping[str, int], what: str
) -> list[CountChange]:
    """What a count of one product at one location sets, the location taken as a whole.

    ``rows`` are the product's stock rows there; ``counted`` the units counted per lot
    (``""``: scanned without a lot). Lots named are set to their count. Units counted
    without a lot stand for every other row (the blank lot and lots not named): a
    surplus goes to the blank lot, a shortfall comes off those rows first-expiry-first.
    So a plain scan in a lot-tracked location never counts the same units twice, and
    a lot not scanned when lots are counted is gone. Rows never go below what is
    reserved (``what`` names the product and location in that refusal).

    Returns named lots in ``counted``'s order, then the other rows that change.
    """
    by_lot = {row.lot: row for row in rows}
    changes: list[CountChange] = []
    for lot, units in counted.items():
        if lot == "":
            continue
        row = by_lot.get(lot, LotStock(lot, None, 0, 0))
        if units < row.reserved:
            raise CountBelowReservedError(
                f"counted {units} of {what} lot {lot} but {row.reserved} are reserved "
                "for orders: a manager must release them first"
            )
        changes.append(CountChange(lot, row.expiry, row.on_hand, units))
    others = sorted((r for r in rows if r.lot not in counted or r.lot == ""), key=_fefo_key)
    blank = counted.get("", 0)
    held = sum(r.on_hand for r in others)
    if blank >= held:
        if "" in counted or blank > held:
            row = by_lot.get("", LotStock("", None, 0, 0))
            changes.append(CountChange("", row.expiry, row.on_hand, row.on_hand + blank - held))
        return changes
    short = held - blank
    if short > sum(max(r.available, 0) for r in others):
        reserved = sum(r.reserved for r in others)
        raise CountBelowReservedError(
            f"counted {blank} of {what} but {reserved} are reserved "
            "for orders: a manager must release them first"
        )
    for row in others:
        take = min(short, max(row.available, 0))
        if take:
            changes.append(CountChange(row.lot, row.expiry, row.on_hand, row.on_hand - take))
            short -= take
    return changes
