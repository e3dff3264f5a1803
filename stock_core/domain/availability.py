"""What a storefront shows for a product: in stock, low, on backorder or out of stock.

A pure rule over one product's figures (SPEC, pinned shape of ``GET
/api/v1/availability``):

* ``in_stock``: units are available to a new order and nobody is waiting for them, and
  more are available than the product's reorder point;
* ``low``: the same, but at or below the reorder point (the ``low_stock`` alert's
  threshold);
* ``backorder``: nothing is available to a new order (none free, or earlier orders are
  waiting, and a new order joins the back of the queue), and the product accepts
  backorders: ``expected_date`` is when a new order of one unit would be filled, from
  the queue ahead of it and the open purchase orders' expected dates (null when open
  purchase orders do not cover it);
* ``out_of_stock``: nothing available and the product refuses backorders;
  ``expected_date`` is then when stock is expected back for a new order, computed the
  same way.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from stock_core.domain.orders import expected_dates

__all__ = ["MAX_SKUS", "Availability", "AvailabilityStatus", "ProductSupply", "availability"]

MAX_SKUS = 1000
"""SKUs one availability request may ask about."""


class AvailabilityStatus(enum.StrEnum):
    IN_STOCK = "in_stock"
    LOW = "low"
    BACKORDER = "backorder"
    OUT_OF_STOCK = "out_of_stock"


@dataclass(frozen=True)
class ProductSupply:
    """One product's figures as the store reads them."""

    sku: str
    available: int
    """On hand minus reserved, over every location."""
    reorder_point: int
    backorder_allowed: bool
    waiting: Sequence[int]
    """Backordered quantities waiting, in fill order."""
    supply: Sequence[tuple[date, int]]
    """Open purchase order lines: (expected date, units still to come)."""


@dataclass(frozen=True)
class Availability:
    sku: str
    status: AvailabilityStatus
    available: int
    expected_date: date | None
    backorder_allowed: bool


def availability(product: ProductSupply) -> Availability:
    available = max(product.available, 0)
    if available > 0 and not any(product.waiting):
        low = available <= product.reorder_point
        status = AvailabilityStatus.LOW if low else AvailabilityStatus.IN_STOCK
        return Availability(product.sku, status, available, None, product.backorder_allowed)
    # A new order of one unit waits behind every line already waiting.
    expected = expected_dates([*product.waiting, 1], product.supply)[-1]
    status = (
        AvailabilityStatus.BACKORDER
        if product.backorder_allowed
        else AvailabilityStatus.OUT_OF_STOCK
    )
    return Availability(product.sku, status, available, expected, product.backorder_allowed)
