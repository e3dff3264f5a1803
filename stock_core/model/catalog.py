"""The catalog: products with their barcodes, and locations.

A ``*Spec`` is what a client or a CSV line supplies; the plain name is what exists
(with its id and timestamps).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

__all__ = ["Barcode", "Location", "LocationSpec", "Product", "ProductFigures", "ProductSpec"]


@dataclass(frozen=True)
class Barcode:
    code: str
    """GTINs normalised to 14 digits; alias codes verbatim."""
    pack_size: int = 1
    """Units one scan of it counts."""


@dataclass(frozen=True)
class ProductSpec:
    """A product as a client or a CSV line gives it; unsaid fields take these defaults."""

    sku: str
    name: str
    category: str = ""
    unit_cost: Decimal = Decimal(0)
    weight_g: Decimal | None = None
    length_mm: Decimal | None = None
    width_mm: Decimal | None = None
    height_mm: Decimal | None = None
    reorder_point: int = 0
    reorder_qty: int = 0
    lead_time_days: int = 0
    safety_stock: int = 0
    backorder_allowed: bool = True
    barcodes: tuple[Barcode, ...] = ()
    tracking: str = "none"
    """``none``, ``lot`` (received with a lot) or ``serial`` (one unit per serial)."""


@dataclass(frozen=True, kw_only=True)
class ProductFigures:
    """What a stored product and an import line both give in full: the category, the
    unit cost, the size and the replenishment figures (keyword-only fields)."""

    category: str
    unit_cost: Decimal
    weight_g: Decimal | None
    length_mm: Decimal | None
    width_mm: Decimal | None
    height_mm: Decimal | None
    reorder_point: int
    reorder_qty: int
    lead_time_days: int
    safety_stock: int


@dataclass(frozen=True)
class Product(ProductFigures):
    """A product as stored, with its id, barcodes and timestamps."""

    id: int
    sku: str
    name: str
    backorder_allowed: bool
    barcodes: tuple[Barcode, ...]
    created_at: datetime
    updated_at: datetime
    tracking: str = "none"


@dataclass(frozen=True)
class LocationSpec:
    """A location as a client or a CSV line gives it."""

    code: str
    zone: str = ""
    name: str = ""
    gln: str | None = None
    max_weight_g: Decimal | None = None
    max_volume_cm3: Decimal | None = None
    type: str = "storage"
    warehouse: str = "MAIN"


@dataclass(frozen=True)
class Location:
    """A location as stored: ``type`` ``storage`` or ``quarantine``, in ``warehouse``."""

    id: int
    code: str
    warehouse: str
    zone: str
    name: str
    gln: str | None
    type: str
    created_at: datetime
    updated_at: datetime
    max_weight_g: Decimal | None = None
    max_volume_cm3: Decimal | None = None
