"""GS1 data to a ``Decoded`` variant: element strings, HRI and Digital Link URIs.

Three spellings of the same data come in:

* element strings, as GS1-128, GS1 DataMatrix, GS1 QR and GS1 DataBar send them:
  ``01095060001343521017251231`` with GS (ASCII 29, FNC1) after variable-length
  fields and optionally a leading GS for the first FNC1;
* human-readable interpretation (HRI), as printed under the barcode:
  ``(01)09506000134352(17)251231``;
* GS1 Digital Link URIs, on any host: ``https://id.gs1.org/01/09506000134352/10/AB?17=251231``.

All three become a list of ``(ai, value)`` pairs, each checked against the AI's
format by biip, and then one interpretation:

1. AI 01 → a product with that GTIN (count from AI 30, else 37).
2. Else AI 02 (the content of a logistic unit, usually with an SSCC) → a product
   with that GTIN (count from AI 37, else 30).
3. Else AI 00 alone → rejected: SSCC pallet labels are not supported yet.
4. Else AI 414 → a location by GLN.
5. Else rejected as unrecognised.

Lot is AI 10, serial AI 21, expiry AI 17. Check digits of 00, 01, 02 and 414 and
YYMMDD dates (AIs 11, 12, 13, 15, 16, 17; DD = 00 means the month's last day) are
validated here. Years follow GS1's sliding window around ``reference_year`` when it
is given (GS1 General Specifications §7.12), else they are 2000-2099: this module
reads no clock.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from urllib.parse import parse_qsl
from urllib.parse import unquote
from urllib.parse import urlsplit

from biip import ParseConfig
from biip import ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_element_strings import GS1ElementString

from scanner_gateway.decoded import Decoded
from scanner_gateway.decoded import LocationScan
from scanner_gateway.decoded import ProductScan
from scanner_gateway.decoded import RejectReason
from scanner_gateway.decoded import ScanRejected
from scanner_gateway.decoded import Symbology
from stock_core.domain.gtin import check_digit
from stock_core.domain.gtin import normalize_gtin
from stock_core.domain.movement import MAX_QUANTITY

__all__ = [
    "GS",
    "decode_digital_link",
    "decode_element_string",
    "decode_hri",
    "is_digital_link",
    "parse_date",
]

GS = "\x1d"
"""ASCII group separator: how scanners send GS1 FNC1."""

_CONFIG = ParseConfig(gs1_element_strings_verify_date=False)
_DATE_AIS = frozenset({"11", "12", "13", "15", "16", "17"})
_DIGITS = re.compile(r"[0-9]+")
_HRI = re.compile(r"(?:\([0-9]{2,4}\)[^()]+)+")
_HRI_PAIR = re.compile(r"\(([0-9]{2,4})\)([^()]+)")
_DIGITAL_LINK = re.compile(r"https?://", re.IGNORECASE)
# Primary keys of GS1 Digital Link (URI syntax 1.x, §4): the path starts at one.
_PRIMARY_KEYS = frozenset(
    {"00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006"}
    | {"8010", "8013", "8017", "8018"}
)

_Pairs = list[tuple[str, str]]


def _reject(reason: RejectReason, detail: str) -> ScanRejected:
    return ScanRejected(reason, detail)


def _is_digits(value: str) -> bool:
    return _DIGITS.fullmatch(value) is not None


def parse_date(yymmdd: str, reference_year: int | None = None) -> date | None:
    """A GS1 YYMMDD date, or ``None`` when it is not one (DD = 00: last day of month)."""
    if len(yymmdd) != 6 or not _is_digits(yymmdd):
        return None
    yy, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    if reference_year is None:
        year = 2000 + yy
    else:
        century = reference_year - reference_year % 100
        offset = yy - reference_year % 100
        if offset >= 51:
            century -= 100
        elif offset <= -50:
            century += 100
        year = century + yy
    if not 1 <= month <= 12:
        return None
    last = calendar.monthrange(year, month)[1]
    if day == 0:
        day = last
    if day > last:
        return None
    return date(year, month, day)


def _bad_date(ai: str, value: str, reference_year: int | None) -> ScanRejected | None:
    """Reject a six-digit value of a date AI that is no date; leave the rest to biip."""
    six_digits = len(value) == 6 and _is_digits(value)
    if ai in _DATE_AIS and six_digits and parse_date(value, reference_year) is None:
        return _reject(RejectReason.BAD_DATE, f"AI {ai}: {value} is not a YYMMDD date")
    return None


def _element(ai: str, value: str, reference_year: int | None) -> ScanRejected | None:
    """Check one ``(ai, value)`` pair; ``None`` when it is well formed."""
    if not _known_ai(ai):
        return _reject(RejectReason.BAD_GS1, f"unknown AI {ai}")
    if (bad := _bad_date(ai, value, reference_year)) is not None:
        return bad
    try:
        GS1ElementString.parse(ai + value, config=_CONFIG)
    except ParseError:
        return _reject(RejectReason.BAD_GS1, f"AI {ai}: bad value {value!r}")
    return None


def _known_ai(key: str) -> bool:
    try:
        return GS1ApplicationIdentifier.extract(key).ai == key
    except ParseError:
        return False


def _split(
    text: str, reference_year: int | None, *, check_runs: bool = True
) -> _Pairs | ScanRejected:
    """Element strings → pairs; FNC1 (GS) may lead, trail and separate.

    With ``check_runs``, data sent without any FNC1 whose last, variable-length field
    could end early and leave well-formed fields behind (``10ABC12321SN0001``: lot
    ``ABC123`` and serial ``SN0001``, or one lot?) is refused as ambiguous: a scanner
    that drops FNC1 merges fields, and a guessed lot is corrupt data.
    """
    if not text.isascii():
        return _reject(RejectReason.BAD_GS1, "GS1 data is ASCII only")
    pairs: _Pairs = []
    rest = text.strip(GS)
    while rest:
        try:
            identifier = GS1ApplicationIdentifier.extract(rest)
        except ParseError:
            return _reject(RejectReason.BAD_GS1, f"no known AI at {rest[:4]!r}")
        ai = identifier.ai
        if (bad := _bad_date(ai, rest[len(ai) : len(ai) + 6], reference_year)) is not None:
            return bad
        try:
            element = GS1ElementString.extract(rest, config=_CONFIG)
        except ParseError:
            return _reject(RejectReason.BAD_GS1, f"AI {ai}: bad or truncated value")
        pairs.append((ai, element.value))
        rest = rest[len(element) :].lstrip(GS)
        unseparated = check_runs and not rest and GS not in text
        if unseparated and identifier.separator_required:
            seen = {a for a, _ in pairs}  # a field given already cannot hide again
            swallowed = _swallowed(element.value, reference_year, seen)
            if swallowed is not None:
                return _reject(
                    RejectReason.BAD_GS1,
                    f"AI {ai} {element.value!r} may hold AI {swallowed} (no FNC1 separator): "
                    "set the scanner to send FNC1 as GS",
                )
    if not pairs:
        return _reject(RejectReason.BAD_GS1, "no data after FNC1")
    return pairs


# Fields that follow a lot or serial on real labels; a variable-length value that
# ends with well-formed ones of these (not given already) most likely swallowed them.
_FOLLOWERS = frozenset({"10", "11", "13", "15", "16", "17", "21", "30", "37"})


def _plausible(ai: str, value: str, seen: set[str]) -> bool:
    """A field that could follow: a date or count, or a lot or serial of 4+ characters,
    and none the data holds already (a lot cannot hide a second lot)."""
    if ai in seen or ai not in _FOLLOWERS:
        return False
    return ai not in ("10", "21") or len(value) >= 4


def _swallowed(value: str, reference_year: int | None, seen: set[str]) -> str | None:
    """The first AI hidden at the end of ``value``, or ``None`` when none parses."""
    for start in range(1, len(value) - 2):
        pairs = _split(value[start:], reference_year, check_runs=False)
        if isinstance(pairs, list) and all(_plausible(ai, v, seen) for ai, v in pairs):
            return pairs[0][0]
    return None


def _check_key(ai: str, value: str) -> ScanRejected | None:
    """Check digit of a GS1 key (value already matched the AI's digit pattern)."""
    expected = check_digit(value[:-1])
    if expected == int(value[-1]):
        return None
    name = {"00": "SSCC", "414": "GLN"}.get(ai, "GTIN")
    return _reject(RejectReason.BAD_CHECK_DIGIT, f"{name} {value}: last digit should be {expected}")


def _count(ai: str, value: str) -> int | ScanRejected:
    number = int(value) if _is_digits(value) else 0
    if not 1 <= number <= MAX_QUANTITY:
        return _reject(RejectReason.BAD_QUANTITY, f"AI {ai} count {value!r}")
    return number


def _interpret(pairs: _Pairs, symbology: Symbology, reference_year: int | None) -> Decoded:
    data: dict[str, str] = {}
    for ai, value in pairs:
        if data.setdefault(ai, value) != value:
            return _reject(RejectReason.BAD_GS1, f"AI {ai} given twice with different values")
    for ai in ("00", "01", "02", "414"):
        if ai in data and (bad := _check_key(ai, data[ai])) is not None:
            return bad
    gtin = data.get("01", data.get("02"))
    if gtin is None:
        if "00" in data:
            return _reject(RejectReason.UNRECOGNISED, "SSCC pallet labels are not supported yet")
        if "414" in data:
            return LocationScan(gln=data["414"])
        return _reject(RejectReason.UNRECOGNISED, "GS1 data without a GTIN")
    count_ais = ("30", "37") if "01" in data else ("37", "30")
    count: int | None = None
    for ai in count_ais:
        if ai in data and count is None:
            parsed = _count(ai, data[ai])
            if isinstance(parsed, ScanRejected):
                return parsed
            count = parsed
    expiry = data.get("17")
    return ProductScan(
        symbology=symbology,
        gtin=normalize_gtin(gtin),
        lot=data.get("10"),
        serial=data.get("21"),
        expiry=None if expiry is None else parse_date(expiry, reference_year),
        count=count,
    )


def decode_element_string(
    text: str, symbology: Symbology, *, reference_year: int | None = None
) -> Decoded:
    """Decode concatenated element strings (AIM prefix already removed)."""
    pairs = _split(text, reference_year)
    if isinstance(pairs, ScanRejected):
        return pairs
    return _interpret(pairs, symbology, reference_year)


def decode_hri(text: str, symbology: Symbology, *, reference_year: int | None = None) -> Decoded:
    """Decode human-readable ``(AI)value(AI)value`` text."""
    hri = "".join(text.split())
    if _HRI.fullmatch(hri) is None:
        return _reject(RejectReason.BAD_GS1, "expected (AI)value pairs")
    return _decode_pairs(_HRI_PAIR.findall(hri), symbology, reference_year)


def is_digital_link(text: str) -> bool:
    """True for an http(s) URI whose path holds a GS1 primary key such as ``/01/``."""
    if _DIGITAL_LINK.match(text) is None:
        return False
    try:
        path = urlsplit(text).path
    except ValueError:
        return False
    return any(segment in _PRIMARY_KEYS for segment in path.split("/"))


def decode_digital_link(
    uri: str, symbology: Symbology, *, reference_year: int | None = None
) -> Decoded:
    """Decode a GS1 Digital Link URI: path pairs from the primary key on, then the query.

    Query parameters that are not AIs are ignored; a GTIN shorter than 14 digits in
    the path is zero-padded, as the Digital Link standard allows.
    """
    try:
        parts = urlsplit(uri)
    except ValueError:
        return _reject(RejectReason.BAD_GS1, "malformed Digital Link URI")
    segments = [unquote(segment) for segment in parts.path.split("/")]
    starts = [i for i, segment in enumerate(segments) if segment in _PRIMARY_KEYS]
    if not starts:
        return _reject(RejectReason.BAD_GS1, "no GS1 key in the Digital Link path")
    path = segments[starts[0] :]
    if len(path) % 2:
        return _reject(RejectReason.BAD_GS1, "odd number of Digital Link path segments")
    pairs = list(zip(path[::2], path[1::2], strict=True))
    if pairs[0][0] == "01" and len(pairs[0][1]) in (8, 12, 13):
        pairs[0] = ("01", pairs[0][1].zfill(14))
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if _is_digits(key) and _known_ai(key):
            pairs.append((key, value))
    return _decode_pairs(pairs, symbology, reference_year)


def _decode_pairs(pairs: _Pairs, symbology: Symbology, reference_year: int | None) -> Decoded:
    for ai, value in pairs:
        if not value.isascii():
            return _reject(RejectReason.BAD_GS1, "GS1 data is ASCII only")
        if (bad := _element(ai, value, reference_year)) is not None:
            return bad
    return _interpret(pairs, symbology, reference_year)
