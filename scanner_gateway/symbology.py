"""One frame to exactly one ``Decoded`` variant. Total: never raises.

Order of decisions:

1. Length over ``max_length`` → ``TOO_LONG``; surrounding ASCII whitespace is
   trimmed; nothing left → ``EMPTY``; not UTF-8, or control characters other than
   GS (FNC1) → ``GARBAGE``.
2. An AIM symbology identifier (``]`` + letter + modifier) picks the decoder:

   ========================  ==================================================
   ``]E0``                   EAN-13 / UPC-A (13 or 12 digits); 8 digits are UPC-E
   ``]E3``                   EAN/UPC with add-on: the add-on is ignored
   ``]E0…]E1…`` ``]E0…]E2…``  the same as two AIM packets in one message (the
                             main code, then a 2- or 5-digit add-on packet)
   ``]E4``                   EAN-8
   ``]I*``                   ITF: 14 digits are an ITF-14 GTIN, else plain text
   ``]C1`` ``]d2`` ``]d5``   GS1 element strings
   ``]Q3`` ``]Q4`` ``]e*``
   ``]C*`` ``]d*`` ``]Q*``   plain text (below); digits are an alias, not a GTIN
   ``]A*``, any other        plain text
   ========================  ==================================================

3. Without one, the shape decides: a leading GS, or ``01``/``02`` + 14 digits,
   or ``00`` + 18 digits → GS1 element strings; ``(NN)…`` (2-4 digits) → GS1 HRI;
   8, 12, 13 or 14 digits → a GTIN (see :func:`decode` for the 8-digit rule);
   otherwise plain text.
4. Plain text: ``LOC:`` ``QTY:`` ``CMD:`` ``ORD:`` ``PO:`` ``TRF:`` ``SKU:`` ``USR:`` ``RSN:``
   ``SN:`` (prefix in any case, value trimmed) → that scan (``USR:`` a badge code:
   letters, digits, ``.``, ``_``, ``-``; ``RSN:`` a reason code, taken in lower case:
   letters, digits, ``_``, at most 32; ``SN:`` a serial, 1 to 64 printable ASCII
   characters without spaces, kept as scanned); an ``http(s)`` URI with a GS1 key in its path →
   GS1 Digital Link; anything else printable → ``ProductScan(alias=text)``, which the
   store rejects if no product has that alias.
"""

from __future__ import annotations

import re

from scanner_gateway import gs1
from scanner_gateway.decoded import Command
from scanner_gateway.decoded import CommandScan
from scanner_gateway.decoded import Decoded
from scanner_gateway.decoded import LocationScan
from scanner_gateway.decoded import OperatorScan
from scanner_gateway.decoded import OrderScan
from scanner_gateway.decoded import ProductScan
from scanner_gateway.decoded import PurchaseOrderScan
from scanner_gateway.decoded import QuantityScan
from scanner_gateway.decoded import ReasonScan
from scanner_gateway.decoded import RejectReason
from scanner_gateway.decoded import ScanRejected
from scanner_gateway.decoded import SerialScan
from scanner_gateway.decoded import Symbology
from scanner_gateway.decoded import TransferScan
from scanner_gateway.framing import DEFAULT_MAX_LENGTH
from stock_core.domain.gtin import check_digit
from stock_core.domain.gtin import expand_upce
from stock_core.domain.gtin import normalize_gtin
from stock_core.domain.movement import MAX_QUANTITY
from stock_core.domain.operator import operator_code_problem
from stock_core.domain.serial import check_serial
from stock_core.errors import InvalidMovementError
from stock_core.types import LocationCode
from stock_core.types import OperatorCode
from stock_core.types import OrderNumber
from stock_core.types import PurchaseOrderNumber
from stock_core.types import ReasonCode
from stock_core.types import Sku
from stock_core.types import TransferNumber

__all__ = ["DEFAULT_MAX_LENGTH", "MAX_CODE_LENGTH", "MAX_QUANTITY", "decode"]

MAX_CODE_LENGTH = 64
"""Longest location code, order number, purchase order number or SKU."""

_AIM = re.compile(r"\]([A-Za-z])([0-9A-Za-z])")
_DIGITS = re.compile(r"[0-9]+")
_GS1_SHAPE = re.compile(r"0[12][0-9]{14}|00[0-9]{18}")
_HRI_SHAPE = re.compile(r"\([0-9]{2,4}\)")
_REASON = re.compile(r"[a-z0-9_]{1,32}")
_GS1_AIM = frozenset({"C1", "d2", "d5", "Q3", "Q4"})
_PLAIN_SYMBOLOGY = {
    "C": Symbology.CODE128,
    "d": Symbology.DATAMATRIX,
    "Q": Symbology.QR,
    "A": Symbology.CODE39,
    "I": Symbology.ITF,
}
_GS1_SYMBOLOGY = {
    "C": Symbology.GS1_128,
    "d": Symbology.GS1_DATAMATRIX,
    "Q": Symbology.GS1_QR,
    "e": Symbology.GS1_DATABAR,
}
_GTIN_SYMBOLOGY = {
    8: Symbology.EAN8,
    12: Symbology.UPCA,
    13: Symbology.EAN13,
    14: Symbology.ITF14,
}


def decode(
    frame: bytes,
    *,
    max_length: int = DEFAULT_MAX_LENGTH,
    reference_year: int | None = None,
    gs1_separator: str = gs1.GS,
) -> Decoded:
    """Decode one frame. Every input gives a variant; bad ones a ``ScanRejected``.

    ``reference_year`` (the current year, passed in by the shell) lets two-digit
    GS1 years follow GS1's sliding window; without it they are 2000-2099.
    ``gs1_separator`` is the character the scanner sends for FNC1 in GS1 data (GS,
    ASCII 29, unless the scanner is set to another, e.g. ``|``).

    Eight digits without an AIM identifier: a valid EAN-8 is taken as EAN-8;
    otherwise, if it starts with 0 or 1 and is a valid UPC-E, as UPC-E; otherwise
    it is rejected for its check digit. Configure scanners to send AIM identifiers
    to remove the ambiguity (``]E0`` 8 digits is always UPC-E, ``]E4`` EAN-8).
    """
    if len(frame) > max_length:
        return ScanRejected(RejectReason.TOO_LONG, f"{len(frame)} bytes, at most {max_length}")
    stripped = frame.strip()
    if not stripped:
        return ScanRejected(RejectReason.EMPTY)
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError:
        return ScanRejected(RejectReason.GARBAGE, "not text: check the scanner's baud rate")
    if not text.replace(gs1.GS, "").replace(gs1_separator, "").isprintable():
        return ScanRejected(RejectReason.GARBAGE, "control characters in the scan")
    aim = _AIM.match(text)
    if aim is None:
        return _decode_by_shape(text, reference_year, gs1_separator)
    code, modifier = aim.groups()
    payload = text[aim.end() :].strip()
    if not payload:
        return ScanRejected(RejectReason.EMPTY, f"nothing after {aim.group()}")
    if code + modifier in _GS1_AIM or code == "e":
        return gs1.decode_element_string(
            payload.replace(gs1_separator, gs1.GS),
            _GS1_SYMBOLOGY[code],
            reference_year=reference_year,
        )
    if code == "E":
        return _decode_ean_upc(modifier, payload)
    if code == "I" and len(payload) == 14 and _is_digits(payload):
        return _decode_gtin(payload, Symbology.ITF14)
    return _decode_plain(payload, _PLAIN_SYMBOLOGY.get(code, Symbology.UNKNOWN), reference_year)


def _is_digits(text: str) -> bool:
    return _DIGITS.fullmatch(text) is not None


def _decode_gtin(digits: str, symbology: Symbology) -> Decoded:
    """A GTIN of 8, 12, 13 or 14 ASCII digits."""
    expected = check_digit(digits[:-1])
    if expected != int(digits[-1]):
        return ScanRejected(
            RejectReason.BAD_CHECK_DIGIT, f"{digits}: last digit should be {expected}"
        )
    return ProductScan(symbology=symbology, gtin=normalize_gtin(digits))


def _decode_upce(digits: str) -> Decoded:
    """An 8-digit UPC-E starting with 0 or 1, expanded to UPC-A."""
    upca = expand_upce(digits)
    expected = check_digit(upca[:-1])
    if expected != int(upca[-1]):
        return ScanRejected(
            RejectReason.BAD_CHECK_DIGIT, f"UPC-E {digits}: last digit should be {expected}"
        )
    return ProductScan(symbology=Symbology.UPCE, gtin=normalize_gtin(upca))


def _decode_ean_upc(modifier: str, payload: str) -> Decoded:
    main, packet, addon = payload.partition("]E")
    if packet:
        # Two AIM packets in one message: the code, then its add-on (]E1: 2 digits,
        # ]E2: 5 digits). The add-on is ignored, as with the combined ]E3 form.
        kind, digits = addon[:1], addon[1:]
        if modifier not in "04" or {"1": 2, "2": 5}.get(kind) != len(digits):
            return ScanRejected(RejectReason.UNRECOGNISED, f"EAN/UPC add-on packet ]E{addon}")
        if not _is_digits(digits):
            return ScanRejected(RejectReason.UNRECOGNISED, "EAN/UPC add-on with non-digits")
        payload = main
    if not _is_digits(payload):
        return ScanRejected(RejectReason.UNRECOGNISED, "EAN/UPC with non-digits")
    if modifier == "3" and len(payload) in (15, 18):
        payload = payload[:13]  # EAN-13 or UPC-A with a 2- or 5-digit add-on
    if modifier == "4" and len(payload) == 8:
        return _decode_gtin(payload, Symbology.EAN8)
    if modifier in "03":
        if len(payload) == 8 and payload[0] in "01":
            return _decode_upce(payload)
        if len(payload) in (12, 13):
            upc = len(payload) == 12 or payload[0] == "0"
            return _decode_gtin(payload, Symbology.UPCA if upc else Symbology.EAN13)
    return ScanRejected(
        RejectReason.UNRECOGNISED, f"EAN/UPC ]E{modifier} with {len(payload)} digits"
    )


def _decode_by_shape(text: str, reference_year: int | None, gs1_separator: str) -> Decoded:
    if text.startswith((gs1.GS, gs1_separator)) or _GS1_SHAPE.match(text) is not None:
        return gs1.decode_element_string(
            text.replace(gs1_separator, gs1.GS), Symbology.UNKNOWN, reference_year=reference_year
        )
    if _HRI_SHAPE.match(text) is not None:
        return gs1.decode_hri(text, Symbology.UNKNOWN, reference_year=reference_year)
    if _is_digits(text) and len(text) in _GTIN_SYMBOLOGY:
        if len(text) == 8 and text[0] in "01" and check_digit(text[:-1]) != int(text[-1]):
            upce = _decode_upce(text)
            if isinstance(upce, ProductScan):
                return upce
        return _decode_gtin(text, _GTIN_SYMBOLOGY[len(text)])
    return _decode_plain(text, Symbology.UNKNOWN, reference_year)


def _decode_plain(text: str, symbology: Symbology, reference_year: int | None) -> Decoded:
    """Text from a non-GS1 symbology: a command, a Digital Link or an alias."""
    prefix, colon, value = text.partition(":")
    if colon:
        command = _decode_command(prefix.upper(), value.strip(), symbology)
        if command is not None:
            return command
    if gs1.is_digital_link(text):
        return gs1.decode_digital_link(text, symbology, reference_year=reference_year)
    if gs1.GS in text:
        return ScanRejected(RejectReason.GARBAGE, "group separator outside GS1 data")
    return ProductScan(symbology=symbology, alias=text)


def _code_problem(value: str) -> str | None:
    if not value:
        return "empty"
    if len(value) > MAX_CODE_LENGTH:
        return f"longer than {MAX_CODE_LENGTH} characters"
    if not value.isprintable():
        return "control characters"
    return None


def _decode_command(prefix: str, value: str, symbology: Symbology) -> Decoded | None:
    """The scan for ``PREFIX:value``, or ``None`` when the prefix is not one of ours."""
    if prefix == "QTY":
        return _decode_quantity(value)
    if prefix == "CMD":
        try:
            return CommandScan(Command(value.upper()))
        except ValueError:
            return ScanRejected(RejectReason.UNKNOWN_COMMAND, repr(value[:MAX_CODE_LENGTH]))
    if prefix == "USR":
        problem = operator_code_problem(value)
        if problem is not None:
            return ScanRejected(RejectReason.BAD_OPERATOR, problem)
        return OperatorScan(OperatorCode(value))
    if prefix == "SN":
        try:
            return SerialScan(check_serial(value))
        except InvalidMovementError as exc:
            return ScanRejected(RejectReason.BAD_SERIAL, exc.reason)
    if prefix == "RSN":
        if _REASON.fullmatch(value.lower()) is None:
            return ScanRejected(RejectReason.BAD_REASON, repr(value[:MAX_CODE_LENGTH]))
        return ReasonScan(ReasonCode(value.lower()))
    reasons = {
        "LOC": RejectReason.BAD_LOCATION,
        "ORD": RejectReason.BAD_ORDER,
        "PO": RejectReason.BAD_ORDER,
        "TRF": RejectReason.BAD_TRANSFER,
        "SKU": RejectReason.BAD_SKU,
    }
    if prefix not in reasons:
        return None
    problem = _code_problem(value)
    if problem is not None:
        return ScanRejected(reasons[prefix], f"{prefix}: {problem}")
    if prefix == "LOC":
        return LocationScan(code=LocationCode(value))
    if prefix == "ORD":
        return OrderScan(OrderNumber(value))
    if prefix == "PO":
        return PurchaseOrderScan(PurchaseOrderNumber(value))
    if prefix == "TRF":
        return TransferScan(TransferNumber(value))
    return ProductScan(symbology=symbology, sku=Sku(value))


def _decode_quantity(value: str) -> Decoded:
    if not _is_digits(value):
        return ScanRejected(RejectReason.BAD_QUANTITY, f"{value[:20]!r} is not a whole number")
    digits = value.lstrip("0")
    if len(digits) > len(str(MAX_QUANTITY)) or not 1 <= int(digits or "0") <= MAX_QUANTITY:
        return ScanRejected(RejectReason.BAD_QUANTITY, f"{value[:20]} is out of range")
    return QuantityScan(int(digits))
