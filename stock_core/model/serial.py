"""A serial number of a serial-tracked product: where it is and how it got there."""

from __future__ import annotations

from dataclasses import dataclass

from stock_core.domain.movement import MovementRecord

__all__ = ["SerialView"]


@dataclass(frozen=True)
class SerialView:
    """SPEC's ``GET /api/v1/serials/{sku}/{serial}``: ``status`` is ``in_stock``,
    ``quarantined`` (in stock at a quarantine location), ``in_transit``, ``shipped``,
    ``scrapped`` or ``missing`` (a count did not find it); ``location`` while in stock."""

    sku: str
    serial: str
    status: str
    location: str | None
    lot: str
    history: tuple[MovementRecord, ...]
