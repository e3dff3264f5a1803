"""Movement commands, their outcomes and the pure rules they obey.

A *command* is what a caller asks for (receive 5 of X at A). The store turns one
command into one or more ledger rows (a move is two, a pick without a lot that spans
lots is one per lot), all in one transaction. Every command travels in an
:class:`Envelope` carrying its idempotency key: replaying the key returns the first
outcome and changes nothing.

Rules (checked here, before any I/O, and again by the database's constraints):

* quantities are whole units, 1 ≤ quantity ≤ ``MAX_QUANTITY``; an adjustment's
  delta is non-zero and within ±``MAX_QUANTITY``; a count is ≥ 0;
* a product is named by SKU or by barcode, never both; barcodes carry pack sizes,
  resolved by the store, so a case scan counts as its pack of units;
* on-hand and available never go below zero (the store refuses with
  :class:`~stock_core.errors.InsufficientStockError` naming the shortfall);
* a move goes between two different locations;
* a serial-tracked product moves by serial: a receive, pick, return, scrap or line
  naming ``serials`` has each once, and its quantity is their number (whether the
  product takes serials is the store's to check: :mod:`stock_core.domain.serial`);
* a return or a scrap names a reason: a code of 1 to 32 lower-case letters, digits or
  ``_`` (whether the code is on the configured list is checked by whoever knows the
  list: :func:`stock_core.domain.returns.check_reason`). Where a return may go
  (quarantine only) and what scrap may take is the store's to check.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from dataclasses import is_dataclass
from datetime import date
from datetime import datetime
from typing import assert_never

from stock_core.domain.serial import check_serials
from stock_core.errors import InvalidMovementError
from stock_core.errors import StockRejection
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import MovementId
from stock_core.types import OperatorCode
from stock_core.types import OrderNumber
from stock_core.types import PurchaseOrderNumber
from stock_core.types import ReasonCode
from stock_core.types import ScannerId
from stock_core.types import Sku
from stock_core.types import TransferNumber
from stock_core.types import WarehouseCode

__all__ = [
    "MAX_QUANTITY",
    "Adjust",
    "Command",
    "Count",
    "Envelope",
    "Line",
    "Move",
    "MovementKind",
    "MovementOutcome",
    "MovementRecord",
    "Outcome",
    "Pick",
    "ProductRef",
    "Receive",
    "ReceiveTransfer",
    "Return",
    "Scrap",
    "ShipTransfer",
    "Undo",
    "request_fingerprint",
    "validate_command",
]

MAX_QUANTITY = 100_000
"""The most units one scan, command line or barcode pack carries: the one limit the
decoder, the session, the API, the catalog and the labels all check."""
MAX_LOT_LENGTH = 20  # GS1 AI 10 is at most 20 characters
_REASON = re.compile(r"[a-z0-9_]{1,32}")


class MovementKind(enum.StrEnum):
    """Ledger row kinds, exactly as SPEC names them."""

    RECEIVE = "receive"
    PICK = "pick"
    ADJUST = "adjust"
    COUNT = "count"
    MOVE_OUT = "move_out"
    MOVE_IN = "move_in"
    UNDO = "undo"
    RETURN = "return"
    SCRAP = "scrap"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"


@dataclass(frozen=True)
class ProductRef:
    """A product named by SKU, or by any barcode registered to it (GTIN or alias)."""

    sku: Sku | None = None
    barcode: str | None = None

    def __post_init__(self) -> None:
        if (self.sku is None) == (self.barcode is None):
            raise InvalidMovementError("name a product by sku or by barcode (exactly one)")

    def __str__(self) -> str:
        return self.sku if self.sku is not None else f"barcode {self.barcode}"


@dataclass(frozen=True)
class Line:
    """Units of one product (and optionally one lot) in a count or a move."""

    product: ProductRef
    quantity: int
    lot: str | None = None
    expiry: date | None = None
    serials: tuple[str, ...] = ()


@dataclass(frozen=True)
class Receive:
    """Add units at a location (a lot, with its expiry, and the purchase order they come on)."""

    product: ProductRef
    location: LocationCode
    quantity: int
    lot: str | None = None
    expiry: date | None = None
    note: str | None = None
    purchase_order: PurchaseOrderNumber | None = None
    serials: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pick:
    """Remove units. Without a lot, lots are drawn first-expiry-first."""

    product: ProductRef
    location: LocationCode
    quantity: int
    lot: str | None = None
    note: str | None = None
    order: OrderNumber | None = None
    serials: tuple[str, ...] = ()


@dataclass(frozen=True)
class Return:
    """Units coming back (from a customer) into stock at a quarantine location, with why.

    They are on hand but not available until moved to a storage location.
    """

    product: ProductRef
    location: LocationCode
    quantity: int
    reason: ReasonCode
    lot: str | None = None
    expiry: date | None = None
    note: str | None = None
    serials: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scrap:
    """Units written off, with why. Without a lot, lots go first-expiry-first (expired
    ones included: they are what is usually scrapped)."""

    product: ProductRef
    location: LocationCode
    quantity: int
    reason: ReasonCode
    lot: str | None = None
    note: str | None = None
    serials: tuple[str, ...] = ()


@dataclass(frozen=True)
class Adjust:
    """A signed correction (damage, found stock). ``delta`` is in units, no pack sizes."""

    product: ProductRef
    location: LocationCode
    delta: int
    lot: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Count:
    """Set on-hand at ``location`` to what was counted, per product and lot.

    Lines naming the same product (e.g. a case and a unit barcode) are added up
    before on-hand is set. Products not named are left alone.
    """

    location: LocationCode
    lines: tuple[Line, ...]
    note: str | None = None


@dataclass(frozen=True)
class Move:
    """Transfer every line from ``from_location`` to ``to_location`` in one transaction."""

    from_location: LocationCode
    to_location: LocationCode
    lines: tuple[Line, ...]
    note: str | None = None


@dataclass(frozen=True)
class Undo:
    """Reverse one earlier command with compensating ``undo`` rows.

    ``movement_id`` names a ledger row (its whole command is reversed); without it,
    the latest not yet reversed command of ``scanner`` is.
    """

    scanner: ScannerId | None = None
    movement_id: MovementId | None = None
    note: str | None = None


@dataclass(frozen=True)
class ShipTransfer:
    """Ship every line of transfer ``transfer`` from ``from_location``: the units leave at
    once and are in transit until received (rules: :mod:`stock_core.domain.warehouse`).

    With ``to_warehouse`` the transfer is new (its number must be free, its destination
    another warehouse); without it more is shipped against an existing transfer that
    nothing was received of yet, from a location of its warehouse (a scanner's ``TRF:``).
    Without a lot, lots leave first-expiry-first, as picks take them.
    """

    transfer: TransferNumber
    from_location: LocationCode
    lines: tuple[Line, ...]
    to_warehouse: WarehouseCode | None = None
    note: str | None = None


@dataclass(frozen=True)
class ReceiveTransfer:
    """Receive lines of transfer ``transfer`` at ``location``, a location of its
    destination: at most what is still in transit, earliest expiry first (only the lot a
    line names, if any)."""

    transfer: TransferNumber
    location: LocationCode
    lines: tuple[Line, ...]
    note: str | None = None


Command = (
    Receive | Pick | Adjust | Count | Move | Undo | Return | Scrap | ShipTransfer | ReceiveTransfer
)


@dataclass(frozen=True)
class Envelope:
    """A command with who asked and the key that makes it happen at most once.

    ``actor`` is who is accountable (a scanner, an API token); ``operator`` the worker
    signed in on the scanner (``USR:``) or named in an API request, if any.
    """

    key: IdempotencyKey
    command: Command
    actor: str = "system"
    scanner: ScannerId | None = None
    scan_seq: int | None = None
    operator: OperatorCode | None = None


@dataclass(frozen=True)
class MovementRecord:
    """One ledger row, in the shape of SPEC's ``GET /movements`` items."""

    id: MovementId
    ts: datetime
    kind: MovementKind
    sku: Sku
    location: LocationCode
    lot: str
    delta: int
    on_hand_after: int
    scanner: ScannerId | None
    scan_seq: int | None
    actor: str
    note: str | None = None
    reverses: MovementId | None = None
    operator: OperatorCode | None = None
    reason: ReasonCode | None = None
    serial: str | None = None
    warehouse: str | None = None
    """The warehouse of the location."""


@dataclass(frozen=True)
class MovementOutcome:
    """The committed result of one envelope. ``replayed`` when its key was seen before."""

    key: IdempotencyKey
    movements: tuple[MovementRecord, ...]
    replayed: bool = False
    extra: dict[str, object] = field(default_factory=dict)


Outcome = MovementOutcome | StockRejection


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_quantity(quantity: int, what: str = "quantity") -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidMovementError(f"{what} must be a whole number")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidMovementError(f"{what} must be between 1 and {MAX_QUANTITY}, not {quantity}")


def _check_lot(lot: str | None) -> None:
    if lot is not None and not (1 <= len(lot) <= MAX_LOT_LENGTH and lot.isprintable()):
        raise InvalidMovementError(f"a lot is 1 to {MAX_LOT_LENGTH} printable characters")


def _check_lines(lines: tuple[Line, ...], *, counting: bool) -> None:
    if not lines:
        raise InvalidMovementError("nothing to post: no lines")
    for line in lines:
        if counting and _is_whole(line.quantity) and line.quantity <= 0:
            if line.quantity < 0:
                raise InvalidMovementError("a count cannot be negative")
        else:
            _check_quantity(line.quantity)
        _check_lot(line.lot)
        check_serials(line.serials, line.quantity)


def _check_reason(reason: object) -> None:
    if not isinstance(reason, str) or _REASON.fullmatch(reason) is None:
        raise InvalidMovementError(
            "a reason is a code of 1 to 32 lower-case letters, digits or '_' (e.g. damaged)"
        )


def validate_command(command: Command) -> None:
    """Raise :class:`InvalidMovementError` when a command breaks a rule knowable without I/O."""
    match command:
        case Receive() | Pick():
            _check_quantity(command.quantity)
            _check_lot(command.lot)
            check_serials(command.serials, command.quantity)
        case Return() | Scrap():
            _check_quantity(command.quantity)
            _check_lot(command.lot)
            _check_reason(command.reason)
            check_serials(command.serials, command.quantity)
        case Adjust():
            if isinstance(command.delta, bool) or not isinstance(command.delta, int):
                raise InvalidMovementError("delta must be a whole number")
            if command.delta == 0 or abs(command.delta) > MAX_QUANTITY:
                raise InvalidMovementError(
                    f"an adjustment is non-zero and at most {MAX_QUANTITY} either way"
                )
            _check_lot(command.lot)
        case Count():
            _check_lines(command.lines, counting=True)
        case Move():
            if command.from_location == command.to_location:
                raise InvalidMovementError("a move needs two different locations")
            _check_lines(command.lines, counting=False)
        case Undo():
            if (command.scanner is None) == (command.movement_id is None):
                raise InvalidMovementError("undo names a scanner or a movement id (exactly one)")
        case ShipTransfer():
            if command.lines or command.to_warehouse is None:  # a new transfer may be empty
                _check_lines(command.lines, counting=False)
        case ReceiveTransfer():
            _check_lines(command.lines, counting=False)
        case _:  # not a command at all: a caller's bug, never a silent pass
            assert_never(command)


def _jsonable(value: object) -> object:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


_FINGERPRINT_JSON = json.JSONEncoder(sort_keys=True, default=_jsonable, separators=(",", ":"))
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain(value: object) -> object:
    """``dataclasses.asdict``'s shape (dataclasses as dicts, recursively) without its
    deep copies (a command's values are immutable), and ``serials: []`` left out, so a
    request without serials hashes as it always did."""
    if value is None or isinstance(value, str | int):
        return value
    kind = type(value)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        if not is_dataclass(value):
            if isinstance(value, list | tuple):
                return [_plain(v) for v in value]
            if isinstance(value, dict):
                return {k: _plain(v) for k, v in value.items() if not (k == "serials" and not v)}
            return value
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(value))
    plain = {}
    for name in names:
        item = getattr(value, name)
        if not (name == "serials" and not item):
            plain[name] = _plain(item)
    return plain


def request_fingerprint(envelope: Envelope) -> str:
    """A stable hash of what was asked, to tell a replay from a reused key.

    Stored with each idempotency key, so its text never changes: the command's fields
    (as ``dataclasses.asdict`` gives them, without empty ``serials``) and its type, as
    sorted compact JSON."""
    command = envelope.command
    body = _plain(command)
    assert isinstance(body, dict)
    body["type"] = type(command).__name__
    return hashlib.sha256(_FINGERPRINT_JSON.encode(body).encode()).hexdigest()
