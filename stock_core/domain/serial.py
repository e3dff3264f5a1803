"""Tracking and serial numbers: the pure rules.

* A product is tracked by ``none`` (the default), ``lot`` or ``serial``
  (:class:`Tracking`).
* A serial-tracked product moves one unit per serial: every movement of it names its
  serials, the quantity is their number, and each ledger row carries one serial and
  moves one unit. A product that is not serial-tracked takes no serials. A lot-tracked
  product is received (or returned) with a lot (:func:`tracking_refusal`).
* A serial is in one place at a time (:func:`arrival_refusal`,
  :func:`departure_refusal`): one arriving (a receipt, a return, a count that finds it,
  a move's second half) may not already be in stock or in transit; one leaving (a
  pick, a scrap, a move, a transfer) must be in stock at that location; one received
  off a transfer (or whose shipment is undone) must be in transit on that transfer
  (:func:`transit_refusal`).
* Where a serial is after a ledger row (:func:`status_after`): in stock at the row's
  location when the row adds it; else shipped (a pick), scrapped, in transit (a
  transfer out) or missing (a count that did not find it). ``in_stock`` at a quarantine
  location is reported as ``quarantined`` (:func:`reported_status`).
* A serial is 1 to 64 printable ASCII characters without spaces (GS1 AI 21 is at most
  20 of them); one command names each serial once (:func:`check_serials`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from stock_core.errors import InvalidMovementError
from stock_core.errors import SerialConflictError
from stock_core.errors import TrackingError

__all__ = [
    "MAX_SERIAL_LENGTH",
    "SerialState",
    "SerialStatus",
    "Tracking",
    "arrival_refusal",
    "check_serial",
    "check_serials",
    "departure_refusal",
    "reported_status",
    "status_after",
    "tracking_refusal",
    "transit_refusal",
]

MAX_SERIAL_LENGTH: Final = 64
_SERIAL = re.compile(rf"[!-~]{{1,{MAX_SERIAL_LENGTH}}}")


class Tracking(enum.StrEnum):
    """How a product's units are told apart: not at all, by lot, or one by one by serial."""

    NONE = "none"
    LOT = "lot"
    SERIAL = "serial"


class SerialStatus(enum.StrEnum):
    """Where a serial is, as ``GET /api/v1/serials/{sku}/{serial}`` reports it."""

    IN_STOCK = "in_stock"
    IN_TRANSIT = "in_transit"
    QUARANTINED = "quarantined"
    SHIPPED = "shipped"
    SCRAPPED = "scrapped"
    MISSING = "missing"


@dataclass(frozen=True)
class SerialState:
    """A serial as stored: ``location_id`` and ``location`` only while in stock."""

    serial: str
    status: SerialStatus
    location_id: int | None = None
    location: str | None = None
    lot: str = ""


def check_serial(serial: object) -> str:
    """The serial itself, or :class:`InvalidMovementError` saying what a serial is."""
    if not isinstance(serial, str) or _SERIAL.fullmatch(serial) is None:
        raise InvalidMovementError(
            f"a serial is 1 to {MAX_SERIAL_LENGTH} printable characters without spaces"
        )
    return serial


def check_serials(serials: Sequence[str], quantity: int) -> None:
    """Each serial well-formed and named once; the quantity is their number."""
    for serial in serials:
        check_serial(serial)
    if len(set(serials)) != len(serials):
        twice = sorted({s for s in serials if serials.count(s) > 1})
        raise InvalidMovementError(f"serial {twice[0]} is named twice")
    if serials and quantity != len(serials):
        raise InvalidMovementError(
            f"the quantity is the number of serials: {len(serials)}, not {quantity}"
        )


def tracking_refusal(
    sku: str,
    tracking: Tracking,
    *,
    serials: Sequence[str],
    lot: str | None,
    pack_size: int = 1,
    arriving: bool = False,
) -> TrackingError | None:
    """Why a movement does not fit the product's tracking, or ``None``.

    ``arriving``: a receipt or a return (a lot-tracked product needs a lot there).
    """
    if tracking is Tracking.SERIAL:
        if not serials:
            return TrackingError(
                sku,
                tracking,
                f"{sku} is serial-tracked: name its serials (scan SN:<serial>)",
                wants_serials=True,
            )
        if pack_size != 1:
            return TrackingError(
                sku, tracking, f"{sku} is serial-tracked: scan each unit, not a pack of {pack_size}"
            )
        return None
    if serials:
        return TrackingError(sku, tracking, f"{sku} is not serial-tracked: it takes no serials")
    if tracking is Tracking.LOT and arriving and not lot:
        return TrackingError(sku, tracking, f"{sku} is lot-tracked: receive it with a lot")
    return None


def _where(state: SerialState | None) -> str:
    if state is None:
        return "not known"
    if state.status is SerialStatus.IN_STOCK:
        return f"in stock at {state.location}"
    return state.status.value.replace("_", " ")


def _conflict(sku: str, serial: str, state: SerialState | None, reason: str) -> SerialConflictError:
    return SerialConflictError(
        sku,
        serial,
        "unknown" if state is None else state.status,
        None if state is None else state.location,
        reason,
    )


def arrival_refusal(sku: str, serial: str, state: SerialState | None) -> SerialConflictError | None:
    """A serial arriving in stock must not be in stock or in transit already."""
    if state is None or state.status not in (SerialStatus.IN_STOCK, SerialStatus.IN_TRANSIT):
        return None
    return _conflict(sku, serial, state, f"serial {serial} of {sku} is already {_where(state)}")


def departure_refusal(
    sku: str, serial: str, state: SerialState | None, location_id: int, location: str
) -> SerialConflictError | None:
    """A serial leaving ``location`` must be in stock there."""
    if (
        state is not None
        and state.status is SerialStatus.IN_STOCK
        and state.location_id == location_id
    ):
        return None
    reason = f"serial {serial} of {sku} is not at {location}: it is {_where(state)}"
    return _conflict(sku, serial, state, reason)


def transit_refusal(
    sku: str, serial: str, state: SerialState | None, transfer: str, on_it: bool
) -> SerialConflictError | None:
    """A serial received off ``transfer`` must be in transit on it (``on_it``: the
    serial's latest ledger row ships it on that transfer)."""
    if state is not None and state.status is SerialStatus.IN_TRANSIT and on_it:
        return None
    moving = state is not None and state.status is SerialStatus.IN_TRANSIT
    where = "in transit on another transfer" if moving else _where(state)
    reason = f"serial {serial} of {sku} is not in transit on transfer {transfer}: it is {where}"
    return _conflict(sku, serial, state, reason)


_GONE: Final[dict[str, SerialStatus]] = {
    "pick": SerialStatus.SHIPPED,
    "scrap": SerialStatus.SCRAPPED,
    "transfer_out": SerialStatus.IN_TRANSIT,
}


def status_after(kind: str, delta: int) -> SerialStatus:
    """Where a serial is after a ledger row of ``kind`` moved it by ``delta`` (±1).

    A row that adds it puts it in stock at the row's location; a move's first half
    leaves it missing only until the second half puts it in (same transaction).
    """
    if delta > 0:
        return SerialStatus.IN_STOCK
    return _GONE.get(kind, SerialStatus.MISSING)


def reported_status(status: SerialStatus, location_type: str | None) -> SerialStatus:
    """In stock at a quarantine location reads as quarantined."""
    if status is SerialStatus.IN_STOCK and location_type == "quarantine":
        return SerialStatus.QUARANTINED
    return status
