"""Stock alert rules: when ``low_stock`` and ``out_of_stock`` rise and clear.

* ``out_of_stock`` rises when available stock is 0 and clears once available reaches the
  margin below (so one unit in and out does not flap it; for a product without a
  reorder point the margin is one unit, i.e. it clears as soon as any is available).
* ``low_stock`` rises when available ≤ the reorder point (for products that have one)
  and clears only once available exceeds the reorder point by a margin (hysteresis:
  10 % of the reorder point, at least one unit), so a level hovering at the reorder
  point does not flap.
* ``expired`` rises when units of the product past their expiry date lie on hand (not
  held for an order) and clears when none are left (written off by an adjustment or a
  count, or moved away). Expired units are never part
  of available stock, so they also count toward ``low_stock`` and ``out_of_stock``.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

__all__ = [
    "EXPIRED",
    "LOW_STOCK",
    "OUT_OF_STOCK",
    "PROJECTED_STOCKOUT",
    "AlertChange",
    "evaluate",
    "evaluate_expired",
    "margin",
]

LOW_STOCK = "low_stock"
OUT_OF_STOCK = "out_of_stock"
PROJECTED_STOCKOUT = "projected_stockout"
EXPIRED = "expired"


@dataclass(frozen=True)
class AlertChange:
    raise_kinds: tuple[str, ...]
    clear_kinds: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.raise_kinds or self.clear_kinds)


def margin(reorder_point: int) -> int:
    return max(1, math.ceil(reorder_point * 0.1))


def evaluate(available: int, reorder_point: int, active: Collection[str]) -> AlertChange:
    """Which stock alerts to raise and clear for a product at ``available`` units."""
    raise_kinds: list[str] = []
    clear_kinds: list[str] = []
    if available <= 0:
        if OUT_OF_STOCK not in active:
            raise_kinds.append(OUT_OF_STOCK)
    elif OUT_OF_STOCK in active and available >= margin(reorder_point):
        clear_kinds.append(OUT_OF_STOCK)
    if reorder_point > 0 and available <= reorder_point:
        if LOW_STOCK not in active:
            raise_kinds.append(LOW_STOCK)
    elif LOW_STOCK in active and available > reorder_point + margin(reorder_point):
        clear_kinds.append(LOW_STOCK)
    return AlertChange(tuple(raise_kinds), tuple(clear_kinds))


def evaluate_expired(expired: int, active: Collection[str]) -> AlertChange:
    """Whether to raise or clear ``expired`` for a product with ``expired`` units past
    their date (not held for an order)."""
    if expired > 0 and EXPIRED not in active:
        return AlertChange((EXPIRED,), ())
    if expired <= 0 and EXPIRED in active:
        return AlertChange((), (EXPIRED,))
    return AlertChange((), ())
