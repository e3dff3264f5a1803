"""Customer orders with their reservations and backorders, and purchase orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime

__all__ = ["Backorder", "Order", "OrderLine", "PurchaseOrder", "PurchaseOrderLine"]


@dataclass(frozen=True)
class OrderLine:
    """One line of a customer order: units ordered, reserved, backordered and picked."""

    line_no: int
    sku: str
    quantity: int
    reserved: int
    backordered: int
    picked: int


@dataclass(frozen=True)
class Order:
    """A customer order: ``open``, ``complete`` or ``cancelled``, its lines in order."""

    id: int
    number: str
    priority: int
    status: str
    customer: str | None
    customer_email: str | None
    created_at: datetime
    closed_at: datetime | None
    lines: tuple[OrderLine, ...]


@dataclass(frozen=True)
class PurchaseOrderLine:
    """One line of a purchase order: units ordered and received so far."""

    line_no: int
    sku: str
    quantity: int
    received: int


@dataclass(frozen=True)
class PurchaseOrder:
    """A purchase order from a supplier: ``open``, ``received`` or ``cancelled``."""

    id: int
    number: str
    supplier: str | None
    expected_date: date
    status: str
    created_at: datetime
    closed_at: datetime | None
    lines: tuple[PurchaseOrderLine, ...]


@dataclass(frozen=True)
class Backorder:
    """Units of an order line waiting for stock, in its product's fill queue."""

    order: str
    sku: str
    quantity: int
    position: int
    priority: int
    created_at: datetime
    expected_date: date | None
