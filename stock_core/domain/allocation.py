"""Which lots a pick draws from, which reservations it consumes, and what a count
changes. Pure functions."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple
from typing import TypeVar

from stock_core.errors import CountBelowReservedError

__all__ = [
    "CountChange",
    "CountTotal",
    "CountedLine",
    "Draw",
    "LotStock",
    "Reservation",
    "ReservationTake",
    "allocate_fefo",
    "counted_by_product",
    "reconcile_count",
    "release_reserved",
    "take_in_order",
    "take_reserved",
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


_Held = TypeVar("_Held")


def take_in_order(
    units: int, held: Iterable[_Held], size: Callable[[_Held], int]
) -> list[tuple[_Held, int]]:
    """``units`` taken from ``held`` in the order given, each up to its ``size``: every
    one taken from while some were left to take, and how many it gave. What they do not
    cover is left over (the caller compares the sum)."""
    taken: list[tuple[_Held, int]] = []
    left = units
    for item in held:
        if left == 0:
            break
        n = min(left, size(item))
        taken.append((item, n))
        left -= n
    return taken


class Draw(NamedTuple):
    """Units a pick takes from one lot."""

    lot: str
    units: int


def allocate_fefo(lots: Sequence[LotStock], quantity: int, today: date | None = None) -> list[Draw]:
    """Split ``quantity`` across lots, first expiry first (no expiry last, then by lot).

    Given ``today``, expired lots are skipped: expired stock is not available.
    Returns draws with positive units, or an empty list when the lots together hold
    less than ``quantity`` available (the caller reports the shortfall).
    """
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    usable = [lot for lot in lots if not lot.expired(today)]
    ordered = sorted(usable, key=lambda s: (s.expiry is None, s.expiry or date.min, s.lot))
    taken = take_in_order(quantity, ordered, lambda lot: max(lot.available, 0))
    draws = [Draw(lot.lot, units) for lot, units in taken if units > 0]
    return draws if sum(d.units for d in draws) == quantity else []


@dataclass(frozen=True)
class CountedLine:
    """A count line after barcode resolution: units of one product and lot."""

    product_id: int
    sku: str
    lot: str
    units: int


class CountTotal(NamedTuple):
    """Units counted of one product and lot, over every line that named them."""

    sku: str
    units: int


def total_counted(lines: Iterable[CountedLine]) -> dict[tuple[int, str], CountTotal]:
    """Add up count lines per (product, lot), keeping first-scanned order."""
    totals: dict[tuple[int, str], CountTotal] = {}
    for line in lines:
        key = (line.product_id, line.lot)
        sku, units = totals.get(key, CountTotal(line.sku, 0))
        totals[key] = CountTotal(sku, units + line.units)
    return totals


def counted_by_product(lines: Iterable[CountedLine]) -> dict[int, dict[str, int]]:
    """Units counted per product, then per lot (``""``: no lot), in first-scanned order:
    what :func:`reconcile_count` takes for each product."""
    per_product: dict[int, dict[str, int]] = {}
    for (product_id, lot), total in total_counted(lines).items():
        per_product.setdefault(product_id, {})[lot] = total.units
    return per_product


@dataclass(frozen=True)
class Reservation:
    """Units of one order line held at one location and lot."""

    location_id: int
    lot: str
    expiry: date | None
    quantity: int


@dataclass(frozen=True)
class ReservationTake:
    """Units a pick consumes (or lets go of) from one reservation."""

    location_id: int
    lot: str
    expiry: date | None
    units: int


def take_reserved(
    held: Sequence[Reservation], location_id: int, lot: str | None, units: int
) -> list[ReservationTake]:
    """What a pick of ``units`` at ``location_id`` (of ``lot``, when one is named) takes
    from its order line's reservations: those held there, of that lot, in the order
    given, each up to what it holds. What the takes do not cover comes from free stock.
    """
    here = [r for r in held if r.location_id == location_id and not (lot and r.lot != lot)]
    return release_reserved(here, units)


def release_reserved(held: Sequence[Reservation], units: int) -> list[ReservationTake]:
    """The reservations to let go of when ``units`` of an order line were picked from
    free stock instead: in the order given, each up to what it holds (the line never
    keeps more reserved than it still needs)."""
    taken = take_in_order(units, held, lambda r: r.quantity)
    return [ReservationTake(r.location_id, r.lot, r.expiry, n) for r, n in taken]


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
