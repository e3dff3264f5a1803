"""Warehouses and the transfers between them (rules in ``stock_core.domain.warehouse``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime

__all__ = ["Transfer", "TransferLine", "TransferLot", "Warehouse", "WarehouseStock"]


@dataclass(frozen=True)
class Warehouse:
    """A warehouse, by its code."""

    code: str
    name: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class WarehouseStock:
    """One product's stock in one warehouse: in its locations, and on its way to it."""

    warehouse: str
    on_hand: int
    available: int
    in_transit: int = 0


@dataclass(frozen=True)
class TransferLot:
    """One lot of a transfer line: units shipped, and received so far."""

    lot: str
    expiry: date | None
    quantity: int
    """Units shipped."""
    received: int


@dataclass(frozen=True)
class TransferLine:
    """One product of a transfer, over its lots."""

    sku: str
    lots: tuple[TransferLot, ...]

    @property
    def quantity(self) -> int:
        return sum(lot.quantity for lot in self.lots)

    @property
    def received(self) -> int:
        return sum(lot.received for lot in self.lots)

    @property
    def in_transit(self) -> int:
        return self.quantity - self.received


@dataclass(frozen=True)
class Transfer:
    """Stock on its way between warehouses: ``in_transit``, ``partial`` or ``received``."""

    id: int
    """In the order transfers were opened (what a list pages by)."""
    number: str
    status: str
    from_warehouse: str
    to_warehouse: str
    from_location: str
    created_by: str
    created_at: datetime
    received_at: datetime | None
    lines: tuple[TransferLine, ...]
