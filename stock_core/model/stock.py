"""Stock: what is on hand, reserved and expired, per location and lot, and per product.

A lot whose expiry date is before today (UTC) is expired: its units stay on hand but are
never available; on hand = available + reserved + expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from stock_core.model.warehouse import WarehouseStock

__all__ = ["LocationStock", "ProductStock", "StockLevel", "StockRow"]


@dataclass(frozen=True)
class LocationStock:
    """One lot of a product at one location."""

    location: str
    lot: str
    expiry: date | None
    on_hand: int
    reserved: int
    expired: bool = False
    """Its expiry date is before today (UTC): on hand, never available."""
    quarantined: bool = False
    """It lies in a quarantine location: on hand, never available nor reserved."""

    @property
    def available(self) -> int:
        return 0 if self.expired or self.quarantined else self.on_hand - self.reserved


@dataclass(frozen=True)
class StockLevel:
    """One product's stock at every location (what the gateway and the CLI read)."""

    sku: str
    locations: tuple[LocationStock, ...]
    on_order: int = 0
    """Units on open purchase orders not yet received."""
    backordered: int = 0
    """Units of open customer orders waiting for stock."""

    @property
    def on_hand(self) -> int:
        return sum(loc.on_hand for loc in self.locations)

    @property
    def reserved(self) -> int:
        return sum(loc.reserved for loc in self.locations)

    @property
    def available(self) -> int:
        """Not reserved, not expired and not in quarantine."""
        return sum(loc.available for loc in self.locations)

    @property
    def expired(self) -> int:
        """Expired units not held for an order, outside quarantine:
        on hand = available + reserved + expired + quarantined."""
        return sum(loc.on_hand - loc.reserved for loc in self.locations if loc.expired)

    @property
    def quarantined(self) -> int:
        """Units in quarantine locations (expired ones included)."""
        return sum(loc.on_hand for loc in self.locations if loc.quarantined)


@dataclass(frozen=True)
class StockRow:
    """One lot at one location, with the location's zone (the API's stock lines)."""

    location: str
    zone: str
    lot: str
    expiry: date | None
    on_hand: int
    reserved: int
    past_expiry: bool = False
    """Its expiry date is before today (UTC): on hand, never available."""
    in_quarantine: bool = False
    """It lies in a quarantine location: on hand, never available nor reserved."""
    warehouse: str = "MAIN"
    """The warehouse of the location."""

    @property
    def available(self) -> int:
        return 0 if self.past_expiry or self.in_quarantine else self.on_hand - self.reserved

    @property
    def expired(self) -> int:
        """Units past their date not held for an order (0 for a good row)."""
        return self.on_hand - self.reserved if self.past_expiry else 0

    @property
    def quarantined(self) -> int:
        """Units in a quarantine location (all of the row's, or 0)."""
        return self.on_hand if self.in_quarantine else 0


@dataclass(frozen=True)
class ProductStock:
    """One product's stock at the locations a filter kept (all of them without one)."""

    id: int
    sku: str
    name: str
    reorder_point: int
    product_available: int
    """Available over every location: what the reorder point is compared with."""
    on_order: int
    """Units open purchase orders have still to bring."""
    backordered: int
    """Units open customer orders wait for."""
    locations: tuple[StockRow, ...]
    in_transit: int = 0
    """Units transfers have on their way (to the warehouse the list was scoped to)."""
    warehouses: tuple[WarehouseStock, ...] = ()
    """Per warehouse: on hand and available in its locations, in transit to it."""

    @property
    def on_hand(self) -> int:
        return sum(r.on_hand for r in self.locations)

    @property
    def reserved(self) -> int:
        return sum(r.reserved for r in self.locations)

    @property
    def available(self) -> int:
        """Not reserved and not expired, over the locations listed."""
        return sum(r.available for r in self.locations)

    @property
    def expired(self) -> int:
        """Expired units not held for an order: on hand = available + reserved + expired."""
        return sum(r.expired for r in self.locations)

    @property
    def quarantined(self) -> int:
        """Units in quarantine locations."""
        return sum(r.quarantined for r in self.locations)

    @property
    def below_reorder_point(self) -> bool:
        """Available over every location is at or below the reorder point."""
        return self.product_available <= self.reorder_point
