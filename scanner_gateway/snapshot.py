"""The JSON form of a scanner session's state.

:meth:`ScannerSession.snapshot <scanner_gateway.session.ScannerSession.snapshot>`
makes it for the floor display and the API; the handheld page keeps it in the
database between a handheld's connections and
:meth:`ScannerSession.restored <scanner_gateway.session.ScannerSession.restored>`
reads it back. Pure values: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from scanner_gateway.held import line_json
from scanner_gateway.held import line_of_json
from stock_core.domain.movement import Line
from stock_core.types import LocationCode
from stock_core.types import OperatorCode
from stock_core.types import OrderNumber
from stock_core.types import PurchaseOrderNumber
from stock_core.types import ReasonCode
from stock_core.types import ScannerId
from stock_core.types import TransferNumber

__all__ = ["SessionSnapshot"]


@dataclass(frozen=True)
class SessionSnapshot:
    """A session's state; ``mode`` is a :class:`~scanner_gateway.session.Mode` value."""

    scanner: ScannerId
    mode: str
    location: LocationCode | None
    order: OrderNumber | None
    purchase_order: PurchaseOrderNumber | None
    quantity: int | None
    operator: OperatorCode | None
    reason: ReasonCode | None
    pending: tuple[Line, ...]
    awaiting_outcome: bool
    last_rejection: str | None
    serial_wait: Line | None = None
    """A product scan waiting for its serials (``SN:``), its quantity how many."""
    transfer: TransferNumber | None = None
    """The transfer product scans ship (pick mode) or receive (receive mode) against."""

    def to_json(self) -> dict[str, object]:
        """The snapshot as JSON-ready values."""
        return {
            "scanner": self.scanner,
            "mode": self.mode,
            "location": self.location,
            "order": self.order,
            "purchase_order": self.purchase_order,
            "quantity": self.quantity,
            "operator": self.operator,
            "reason": self.reason,
            "pending": [line_json(line) for line in self.pending],
            "awaiting_outcome": self.awaiting_outcome,
            "last_rejection": self.last_rejection,
            "serial_wait": None if self.serial_wait is None else line_json(self.serial_wait),
            "transfer": self.transfer,
        }

    @classmethod
    def from_json(cls, scanner: ScannerId, snapshot: Mapping[str, object]) -> SessionSnapshot:
        """The snapshot :meth:`to_json` made, for ``scanner`` (its own is not read).

        A scan that was awaiting its outcome is not kept. Raises :class:`KeyError`,
        :class:`TypeError` or :class:`ValueError` when ``snapshot`` is not such JSON.
        """
        mode = snapshot["mode"]
        if not isinstance(mode, str):
            raise TypeError(f"mode is {mode!r}")
        location = _text(snapshot, "location")
        operator, reason = _text(snapshot, "operator"), _text(snapshot, "reason")
        order, purchase_order = _text(snapshot, "order"), _text(snapshot, "purchase_order")
        quantity = snapshot.get("quantity")
        if quantity is not None and (type(quantity) is not int or quantity < 1):
            raise ValueError(f"quantity {quantity!r}")
        last_rejection = _text(snapshot, "last_rejection")
        pending = snapshot.get("pending", [])
        if not isinstance(pending, list):
            raise TypeError("pending is not a list")
        waiting = snapshot.get("serial_wait")
        transfer = _text(snapshot, "transfer") if "transfer" in snapshot else None
        return cls(
            scanner=scanner,
            mode=mode,
            location=None if location is None else LocationCode(location),
            order=None if order is None else OrderNumber(order),
            purchase_order=None if purchase_order is None else PurchaseOrderNumber(purchase_order),
            quantity=quantity,
            operator=None if operator is None else OperatorCode(operator),
            reason=None if reason is None else ReasonCode(reason),
            pending=tuple(line_of_json(held) for held in pending),
            awaiting_outcome=False,
            last_rejection=last_rejection,
            serial_wait=None if waiting is None else line_of_json(waiting),
            transfer=None if transfer is None else TransferNumber(transfer),
        )


def _text(snapshot: Mapping[str, object], key: str) -> str | None:
    value = snapshot.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{key} is {value!r}")
    return value
