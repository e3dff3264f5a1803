"""What one scanned frame means: exactly one frozen ``Decoded`` variant.

The decoder (``symbology``) turns a frame into one of these, or into a
:class:`ScanRejected` with a reason a worker can act on. Never an exception.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from stock_core.domain.movement import MAX_QUANTITY
from stock_core.types import Gtin
from stock_core.types import LocationCode
from stock_core.types import OperatorCode
from stock_core.types import OrderNumber
from stock_core.types import PurchaseOrderNumber
from stock_core.types import ReasonCode
from stock_core.types import Sku
from stock_core.types import TransferNumber

__all__ = [
    "Command",
    "CommandScan",
    "Decoded",
    "LocationScan",
    "OperatorScan",
    "OrderScan",
    "ProductScan",
    "PurchaseOrderScan",
    "QuantityScan",
    "ReasonScan",
    "RejectReason",
    "ScanRejected",
    "SerialScan",
    "Symbology",
    "TransferScan",
]


class Symbology(enum.Enum):
    """The symbology a frame came from, from its AIM identifier or its shape."""

    EAN13 = "ean13"
    EAN8 = "ean8"
    UPCA = "upca"
    UPCE = "upce"
    ITF14 = "itf14"
    ITF = "itf"
    CODE128 = "code128"
    GS1_128 = "gs1_128"
    DATAMATRIX = "datamatrix"
    GS1_DATAMATRIX = "gs1_datamatrix"
    QR = "qr"
    GS1_QR = "gs1_qr"
    CODE39 = "code39"
    GS1_DATABAR = "gs1_databar"
    UNKNOWN = "unknown"


class Command(enum.Enum):
    RECEIVE = "RECEIVE"
    PICK = "PICK"
    COUNT = "COUNT"
    MOVE = "MOVE"
    DONE = "DONE"
    CANCEL = "CANCEL"
    UNDO = "UNDO"
    LOGOUT = "LOGOUT"
    RETURN = "RETURN"
    SCRAP = "SCRAP"


class RejectReason(enum.Enum):
    """Why a frame was refused. The value is the short text shown and logged."""

    EMPTY = "empty scan"
    TOO_LONG = "scan too long"
    GARBAGE = "unreadable scan (noise or wrong baud rate)"
    BAD_CHECK_DIGIT = "bad check digit"
    BAD_GS1 = "malformed GS1 data"
    BAD_DATE = "invalid date in GS1 data"
    BAD_QUANTITY = f"quantity must be 1 to {MAX_QUANTITY}"
    UNKNOWN_COMMAND = "unknown command"
    BAD_LOCATION = "bad location code"
    BAD_ORDER = "bad order number"
    BAD_TRANSFER = "bad transfer number"
    BAD_SKU = "bad SKU"
    BAD_OPERATOR = "bad operator badge"
    BAD_REASON = "bad reason code"
    BAD_SERIAL = "bad serial number"
    UNRECOGNISED = "unrecognised barcode"


@dataclass(frozen=True)
class ProductScan:
    """A product: by GTIN (14 digits), by alias code, or by ``SKU:``.

    Exactly one of ``gtin``, ``alias`` and ``sku`` is set. ``count`` is GS1 AI 30/37
    (units in this scan), ``None`` when absent.
    """

    symbology: Symbology
    gtin: Gtin | None = None
    alias: str | None = None
    sku: Sku | None = None
    lot: str | None = None
    expiry: date | None = None
    serial: str | None = None
    count: int | None = None

    @property
    def code(self) -> str:
        """The code the store resolves: the GTIN, the alias or the SKU."""
        return self.gtin or self.alias or self.sku or ""


@dataclass(frozen=True)
class LocationScan:
    """``LOC:<code>``, or a GS1 AI 414 GLN (``code`` is then ``None``)."""

    code: LocationCode | None = None
    gln: str | None = None


@dataclass(frozen=True)
class QuantityScan:
    """``QTY:<n>``: the next product scan counts ``n``."""

    quantity: int


@dataclass(frozen=True)
class CommandScan:
    """``CMD:<command>``: a mode, DONE, CANCEL, UNDO or LOGOUT."""

    command: Command


@dataclass(frozen=True)
class OrderScan:
    number: OrderNumber


@dataclass(frozen=True)
class PurchaseOrderScan:
    number: PurchaseOrderNumber


@dataclass(frozen=True)
class TransferScan:
    """``TRF:<number>``: ship (pick mode) or receive (receive mode) against a transfer."""

    number: TransferNumber


@dataclass(frozen=True)
class OperatorScan:
    """``USR:<code>``: a worker's badge."""

    code: OperatorCode


@dataclass(frozen=True)
class ReasonScan:
    """``RSN:<code>``: the reason for the returns or scrap that follow (lower case)."""

    code: ReasonCode


@dataclass(frozen=True)
class SerialScan:
    """``SN:<serial>``: the serial of the serial-tracked product just scanned."""

    serial: str


@dataclass(frozen=True)
class ScanRejected:
    reason: RejectReason
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.detail}" if self.detail else self.reason.value


Decoded = (
    ProductScan
    | LocationScan
    | QuantityScan
    | CommandScan
    | OrderScan
    | PurchaseOrderScan
    | TransferScan
    | OperatorScan
    | ReasonScan
    | SerialScan
    | ScanRejected
)
