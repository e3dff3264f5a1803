"""Errors raised by ``stock_core``.

The tree, in three families (as asyncpg's ``exceptions/_base.py``)::

    StockError
    ├── StockRejection                  1. the user can act on it (nak / 4xx)
    │   ├── InsufficientStockError         pick/move/adjust would go below zero
    │   ├── UnknownProductError            no product has that SKU or barcode
    │   ├── UnknownLocationError           no location has that code or GLN
    │   ├── InvalidMovementError           quantity out of range, bad combination
    │   ├── NothingToUndoError             no movement left to reverse
    │   ├── CountBelowReservedError        counted less than is reserved for orders
    │   ├── ConflictError                  clashes with what exists (an order number)
    │   │   └── CatalogConflictError           a SKU, location code, GLN or barcode is taken
    │   ├── InvalidCatalogEntryError       a catalog field value the rules refuse
    │   ├── ConstraintRejectedError        the database's own guard refused (a CHECK)
    │   ├── BackorderNotAllowedError       an order would backorder a product that refuses it
    │   ├── NotFoundError                  no such order or purchase order
    │   ├── CountTaskStateError            a count task not open (or not awaiting approval)
    │   ├── InvalidCountTaskError          a count task with no locations
    │   ├── CapacityExceededError          a receipt or move would overfill a location
    │   ├── IdempotencyConflictError       same key, different request
    │   ├── UnknownOperatorError           no operator has that badge code
    │   ├── UnknownReasonError             a reason not on the configured list
    │   ├── QuarantinedStockError          a pick from a quarantine location
    │   ├── NotQuarantineError             a return into a storage location
    │   ├── SerialConflictError            a serial already in stock, or not where it is taken
    │   ├── TrackingError                  a serial or lot missing (or given) for the tracking
    │   ├── UnknownWarehouseError          no warehouse has that code
    │   ├── WrongWarehouseError            a location of another warehouse than the one meant
    │   ├── UnknownTransferError           no transfer has that number
    │   └── NotInTransitError              a transfer receipt of more than is on its way
    ├── StockUsageError (RuntimeError)  2. misuse of stock_core's own API
    ├── DatabaseUnavailableError        3. infrastructure: scans go to the spool
    │   └── PoolExhaustedError             no connection free within the web pool's deadline
    │   ├── NoPrimaryError                 no host is a primary on the right timeline
    │   ├── DeadlineExceededError          no answer in time: connection dropped
    │   ├── CommitUnconfirmedError         the synchronous standby never confirmed it
    │   └── LineageChangedError            a failover since the caller last looked
    ├── DatabaseAccessError             a role lacks what stockd needs (names the setting)
    └── CatalogImportError              a CSV import was refused (carries every bad line)

Every rejection carries a stable ``problem_type`` (the RFC 9457 ``type`` suffix), an
``http_status`` hint and a short ``reason`` fit for a floor display and a nak.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY
from dataclasses import dataclass
from dataclasses import field
from typing import ClassVar

__all__ = [
    "BackorderNotAllowedError",
    "CapacityExceededError",
    "CatalogConflictError",
    "CatalogImportError",
    "CommitUnconfirmedError",
    "ConflictError",
    "ConstraintRejectedError",
    "CountBelowReservedError",
    "CountTaskStateError",
    "DatabaseAccessError",
    "DatabaseUnavailableError",
    "DeadlineExceededError",
    "IdempotencyConflictError",
    "ImportProblem",
    "InsufficientStockError",
    "InvalidCatalogEntryError",
    "InvalidCountTaskError",
    "InvalidMovementError",
    "LineageChangedError",
    "NoPrimaryError",
    "NotFoundError",
    "NotInTransitError",
    "NotQuarantineError",
    "NothingToUndoError",
    "PoolExhaustedError",
    "QuarantinedStockError",
    "SerialConflictError",
    "StockError",
    "StockRejection",
    "StockUsageError",
    "TrackingError",
    "UnknownLocationError",
    "UnknownOperatorError",
    "UnknownProductError",
    "UnknownReasonError",
    "UnknownTransferError",
    "UnknownWarehouseError",
    "WrongWarehouseError",
    "rejection_from_dict",
]


class StockError(Exception):
    """Root of every error ``stock_core`` raises."""


class StockRejection(StockError):
    """A request refused for a reason the user can act on. Nothing changed."""

    problem_type: ClassVar[str] = "rejected"
    http_status: ClassVar[int] = 422
    detail_fields: ClassVar[tuple[str, ...]] = ()
    """The attributes :meth:`to_dict` carries beside the problem type and the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def to_dict(self) -> dict[str, object]:
        """A JSON-able form, stored with an idempotency key and replayed verbatim."""
        return {"problem_type": self.problem_type, "reason": self.reason, **self._details()}

    def _details(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.detail_fields}


@dataclass(eq=False, repr=False)
class _DetailedRejection(StockRejection):
    """A rejection made from its details, the fields of a dataclass: :meth:`_reason`
    words them. Equality, hashing and ``repr`` stay those of an exception."""

    def __post_init__(self) -> None:
        StockRejection.__init__(self, self._reason())

    def _reason(self) -> str:
        """By default the ``reason`` field, worded by the caller."""
        return self.reason


@dataclass(eq=False, repr=False)
class _UnknownCodeError(_DetailedRejection):
    """A ``code`` that names no ``what`` (a product, a location …)."""

    what: ClassVar[str]
    detail_fields = ("code",)

    code: str

    def _reason(self) -> str:
        return f"unknown {self.what} {self.code}"


@dataclass(eq=False, repr=False)
class InsufficientStockError(_DetailedRejection):
    problem_type = "insufficient-stock"
    http_status = 409
    detail_fields = ("sku", "location", "requested", "available", "shortfall")

    sku: str
    location: str
    requested: int
    available: int
    shortfall: int = field(init=False)

    def __post_init__(self) -> None:
        self.shortfall = self.requested - self.available
        super().__post_init__()

    def _reason(self) -> str:
        return (
            f"only {self.available} of {self.sku} available at {self.location}, "
            f"{self.requested} asked (short {self.shortfall})"
        )


class UnknownProductError(_UnknownCodeError):
    problem_type = "unknown-product"
    http_status = 404
    what = "product"


class UnknownLocationError(_UnknownCodeError):
    problem_type = "unknown-location"
    http_status = 404
    what = "location"


class InvalidMovementError(StockRejection):
    problem_type = "invalid-movement"
    http_status = 422


class NothingToUndoError(StockRejection):
    problem_type = "nothing-to-undo"
    http_status = 409


class CountBelowReservedError(StockRejection):
    problem_type = "count-below-reserved"
    http_status = 409


class ConflictError(StockRejection):
    """The request clashes with what exists (e.g. an order number with other lines)."""

    problem_type = "conflict"
    http_status = 409


class CatalogConflictError(ConflictError):
    """The SKU, location code, GLN or barcode already belongs to another entry."""


class InvalidCatalogEntryError(StockRejection):
    """A field value the catalog rules refuse; ``field`` names it."""

    problem_type = "validation-error"
    http_status = 422

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        super().__init__(f"{field}: {reason}")

    def _details(self) -> dict[str, object]:
        return {
            "errors": [{"loc": ["body", self.field], "msg": self.reason, "type": "value_error"}]
        }


@dataclass(eq=False, repr=False)
class ConstraintRejectedError(_DetailedRejection):
    """The database's own guard (a CHECK constraint: stock never negative) refused a
    write the rules let through. The problem type stays the generic ``rejected``."""

    constraint: str

    def _reason(self) -> str:
        return f"refused: it would break {self.constraint}"


class NotFoundError(StockRejection):
    """No such order, purchase order or other record."""

    problem_type = "not-found"
    http_status = 404


@dataclass(eq=False, repr=False)
class IdempotencyConflictError(_DetailedRejection):
    problem_type = "idempotency-conflict"
    http_status = 409

    key: str

    def _reason(self) -> str:
        return f"idempotency key {self.key} was already used for a different request"


@dataclass(eq=False, repr=False)
class BackorderNotAllowedError(_DetailedRejection):
    """An order line could not be reserved in full, and its product refuses backorders."""

    problem_type = "backorder-not-allowed"
    http_status = 409
    detail_fields = ("sku", "quantity", "available")

    sku: str
    quantity: int
    available: int

    def _reason(self) -> str:
        return (
            f"{self.sku} does not accept backorders: "
            f"{self.quantity} ordered, {self.available} available"
        )


class UnknownOperatorError(_UnknownCodeError):
    """A badge (``USR:``) or an API ``operator`` that names no operator."""

    problem_type = "unknown-operator"
    http_status = 422
    what = "operator"


@dataclass(eq=False, repr=False)
class UnknownReasonError(_DetailedRejection):
    """A return or scrap reason that is not on the configured list."""

    problem_type = "unknown-reason"
    http_status = 422
    detail_fields = ("code", "allowed")

    code: str
    allowed: Sequence[str]

    def __post_init__(self) -> None:
        self.allowed = list(self.allowed)
        super().__post_init__()

    def _reason(self) -> str:
        return f"unknown reason {self.code} (one of {', '.join(self.allowed)})"


@dataclass(eq=False, repr=False)
class QuarantinedStockError(_DetailedRejection):
    """Stock in a quarantine location is not available: it must be moved to storage first."""

    problem_type = "quarantined-stock"
    http_status = 409
    detail_fields = ("location",)

    location: str

    def _reason(self) -> str:
        return f"{self.location} is a quarantine location: move the stock to storage first"


@dataclass(eq=False, repr=False)
class NotQuarantineError(_DetailedRejection):
    """A return names a location that is not a quarantine location."""

    problem_type = "not-quarantine"
    http_status = 409
    detail_fields = ("location",)

    location: str

    def _reason(self) -> str:
        return f"returns go to a quarantine location; {self.location} is storage"


class UnknownWarehouseError(_UnknownCodeError):
    """A warehouse code that names no warehouse (``GET|POST /api/v1/warehouses``)."""

    problem_type = "unknown-warehouse"
    http_status = 404
    what = "warehouse"


@dataclass(eq=False, repr=False)
class WrongWarehouseError(_DetailedRejection):
    """A location in another warehouse than the one the request or the scanner works in."""

    problem_type = "wrong-warehouse"
    http_status = 409
    detail_fields = ("location", "warehouse", "expected")

    location: str
    warehouse: str
    expected: str
    why: str = ""
    """Appended to the reason (not a detail)."""

    def _reason(self) -> str:
        return f"{self.location} is in warehouse {self.warehouse}, not {self.expected}{self.why}"


@dataclass(eq=False, repr=False)
class UnknownTransferError(_DetailedRejection):
    """No transfer has that number."""

    problem_type = "unknown-transfer"
    http_status = 404
    detail_fields = ("number",)

    number: str

    def _reason(self) -> str:
        return f"unknown transfer {self.number}"


@dataclass(eq=False, repr=False)
class NotInTransitError(_DetailedRejection):
    """A transfer receipt asks for more of a product than is still on its way."""

    problem_type = "not-in-transit"
    http_status = 409
    detail_fields = ("transfer", "sku", "requested", "in_transit")

    transfer: str
    sku: str
    requested: int
    in_transit: int

    def _reason(self) -> str:
        return (
            f"only {self.in_transit} of {self.sku} in transit on transfer {self.transfer}, "
            f"{self.requested} asked"
        )


class CountTaskStateError(StockRejection):
    """The count task is not in a state that allows this (confirm twice, count a closed one)."""

    problem_type = "count-task-state"
    http_status = 409


class InvalidCountTaskError(StockRejection):
    """A count task that cannot be opened: no locations, or an unknown ABC class."""

    problem_type = "invalid-count-task"
    http_status = 422


@dataclass(eq=False, repr=False)
class CapacityExceededError(_DetailedRejection):
    """A receipt or move would put more weight or volume in a location than it holds."""

    problem_type = "capacity-exceeded"
    http_status = 409
    detail_fields = ("location", "weight_g", "max_weight_g", "volume_cm3", "max_volume_cm3")

    location: str
    reason: str
    _: KW_ONLY
    weight_g: float
    max_weight_g: float | None
    volume_cm3: float
    max_volume_cm3: float | None


@dataclass(eq=False, repr=False)
class SerialConflictError(_DetailedRejection):
    """A serial is in one place at a time: receiving one already in stock (or in
    transit), or taking one from a location it is not at, is refused."""

    problem_type = "serial-conflict"
    http_status = 409
    detail_fields = ("sku", "serial", "serial_status", "location")

    sku: str
    serial: str
    serial_status: str
    location: str | None
    reason: str

    @property
    def status(self) -> str:
        """The serial's status (``serial_status``)."""
        return self.serial_status


@dataclass(eq=False, repr=False)
class TrackingError(_DetailedRejection):
    """A movement that does not fit its product's tracking: a serial-tracked product
    without serials (or a product not serial-tracked with them), a lot-tracked receipt
    without a lot."""

    problem_type = "tracking-required"
    http_status = 422
    detail_fields = ("sku", "tracking", "wants_serials")

    sku: str
    tracking: str
    reason: str
    _: KW_ONLY
    wants_serials: bool = False


_REJECTIONS: dict[str, type[StockRejection]] = {
    cls.problem_type: cls
    for cls in (
        StockRejection,
        InsufficientStockError,
        UnknownProductError,
        UnknownLocationError,
        InvalidMovementError,
        NothingToUndoError,
        CountBelowReservedError,
        IdempotencyConflictError,
        ConflictError,
        NotFoundError,
        BackorderNotAllowedError,
        UnknownOperatorError,
        UnknownReasonError,
        QuarantinedStockError,
        NotQuarantineError,
        UnknownWarehouseError,
        WrongWarehouseError,
        UnknownTransferError,
        NotInTransitError,
        CapacityExceededError,
        SerialConflictError,
        TrackingError,
        CountTaskStateError,
        InvalidCountTaskError,
    )
}


def rejection_from_dict(data: dict[str, object]) -> StockRejection:
    """Rebuild a stored rejection (the first result of an idempotency key)."""
    cls = _REJECTIONS.get(str(data.get("problem_type")), StockRejection)
    error = StockRejection.__new__(cls)
    StockRejection.__init__(error, str(data.get("reason", "rejected")))
    for name, value in data.items():
        if name not in ("problem_type", "reason"):
            setattr(error, name, value)
    return error


class StockUsageError(StockError, RuntimeError):
    """stock_core's own API was called wrongly (a bug in the caller)."""


class DatabaseUnavailableError(StockError):
    """PostgreSQL cannot be reached; the caller may spool and retry."""

    setting: str = "database.url"
    """The setting that names the server that could not be reached."""


class PoolExhaustedError(DatabaseUnavailableError):
    """No connection came free (or could be opened) within the web pool's deadline."""


class NoPrimaryError(DatabaseUnavailableError):
    """No host of the database URL is a primary the writer may use (all down, standbys,
    read-only, or behind the timeline it writes on)."""


class DeadlineExceededError(DatabaseUnavailableError):
    """PostgreSQL did not answer within the call's deadline; the connection was dropped.
    Whatever the call wrote may or may not have committed: retry by idempotency key."""


class CommitUnconfirmedError(DatabaseUnavailableError):
    """PostgreSQL committed locally but its wait for the synchronous standby was
    cancelled: the commit may be missing after a failover. Retry by idempotency key."""


class LineageChangedError(DatabaseUnavailableError):
    """The connection reached a new primary history (a failover) since the caller last
    looked; nothing was written. The caller catches up first (the gateway's window)."""


class DatabaseAccessError(StockError):
    """PostgreSQL answers but a role cannot do what stockd needs of it (log in, run the
    migrations, grant, read or write a table). ``setting`` names the setting to change
    (``database.url``, ``database.admin_url`` or ``database.app_role``)."""

    def __init__(self, message: str, setting: str) -> None:
        super().__init__(message)
        self.setting = setting


@dataclass(frozen=True)
class ImportProblem:
    """One bad line of a CSV import."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class CatalogImportError(StockError):
    """A CSV import was refused; nothing was loaded. ``problems`` lists every bad line."""

    def __init__(self, problems: Sequence[ImportProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(f"{len(self.problems)} bad line(s); nothing was loaded")
