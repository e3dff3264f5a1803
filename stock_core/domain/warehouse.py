"""Warehouses and transfers between them: the pure rules.

* A warehouse code is 1 to 32 upper-case letters, digits, ``_`` or ``-``, starting with
  a letter or digit (``MAIN``, ``EAST-2``); its name is at most 200 printable characters.
  Every location belongs to one warehouse (``MAIN`` unless said).
* A transfer ships from a location of one warehouse to *another* warehouse: the units
  leave at once (``transfer_out`` rows) and are in transit, in no location, until they
  are received at a location of the destination (``transfer_in`` rows), partly or whole.
* Per product and lot a transfer line keeps what was shipped and what was received; in
  transit is the difference and never negative: a receipt takes at most what is still
  on its way, earliest expiry first (as picks do), from the lot named if one is.
* A transfer is ``in_transit`` until its first receipt, ``partial`` while some units are
  still on their way, ``received`` once every unit shipped has arrived. More is shipped
  against a transfer only while nothing of it was received.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from stock_core.domain.allocation import take_in_order

__all__ = [
    "DEFAULT_WAREHOUSE",
    "WAREHOUSE_CODE",
    "LotInTransit",
    "ReceiptPart",
    "TransferStatus",
    "allocate_receipt",
    "check_warehouse",
    "check_warehouse_code",
    "transfer_status",
]

DEFAULT_WAREHOUSE = "MAIN"
WAREHOUSE_CODE = r"^[A-Z0-9][A-Z0-9_-]{0,31}$"
"""The shape of a warehouse code (the database's CHECK says the same)."""
_CODE = re.compile(WAREHOUSE_CODE)
_MAX_NAME = 200


def check_warehouse_code(code: str) -> str:
    """The code, or ``ValueError`` saying what a code is."""
    if _CODE.fullmatch(code) is None:
        raise ValueError(
            f"warehouse code {code!r} must be 1-32 upper-case letters, digits, '_' or '-'"
        )
    return code


def check_warehouse(code: str, name: str) -> tuple[str, str]:
    """A warehouse's (code, name) as stored: the name trimmed; ``ValueError`` otherwise."""
    check_warehouse_code(code)
    name = name.strip()
    if len(name) > _MAX_NAME or not name.isprintable():
        raise ValueError(f"a warehouse name is at most {_MAX_NAME} printable characters")
    return code, name


class TransferStatus(enum.StrEnum):
    IN_TRANSIT = "in_transit"
    PARTIAL = "partial"
    RECEIVED = "received"


def transfer_status(lines: Sequence[tuple[int, int]]) -> TransferStatus:
    """The status of a transfer from its lines' (shipped, received) units."""
    shipped = sum(q for q, _ in lines)
    received = sum(r for _, r in lines)
    if received == 0:
        return TransferStatus.IN_TRANSIT
    if received >= shipped:
        return TransferStatus.RECEIVED
    return TransferStatus.PARTIAL


@dataclass(frozen=True)
class LotInTransit:
    """One lot of one product on a transfer: its expiry and the units still on their way."""

    lot: str
    expiry: date | None
    in_transit: int


@dataclass(frozen=True)
class ReceiptPart:
    lot: str
    expiry: date | None
    units: int


def allocate_receipt(
    lots: Sequence[LotInTransit], units: int, lot: str | None = None
) -> list[ReceiptPart] | None:
    """Which lots ``units`` received are: earliest expiry first (no date last, then by
    lot), only ``lot`` when one is named; ``None`` when fewer are in transit."""
    kept = [x for x in lots if x.in_transit > 0 and (lot is None or x.lot == lot)]
    kept.sort(key=lambda x: (x.expiry is None, x.expiry or date.min, x.lot))
    if sum(x.in_transit for x in kept) < units:
        return None
    taken = take_in_order(units, kept, lambda x: x.in_transit)
    return [ReceiptPart(x.lot, x.expiry, n) for x, n in taken]
