"""Parsing and validating ``products.csv``, ``locations.csv`` (SPEC, Pinned shapes) and
``operators.csv`` (``code,name``).

Pure: bytes in, validated rows or every problem out. A file with any bad line loads
nothing, so the parser reports all of them, each with its line number (the header is
line 1).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP
from decimal import Decimal
from decimal import InvalidOperation
from typing import Final
from typing import TypeVar

from stock_core.domain.gtin import normalize_gtin
from stock_core.domain.movement import MAX_QUANTITY
from stock_core.domain.operator import check_operator
from stock_core.domain.warehouse import check_warehouse_code
from stock_core.errors import ImportProblem
from stock_core.model.catalog import Barcode
from stock_core.model.catalog import ProductFigures

__all__ = [
    "LOCATION_COLUMNS",
    "MAX_LEAD_TIME_DAYS",
    "OPERATOR_COLUMNS",
    "OPTIONAL_LOCATION_COLUMNS",
    "OPTIONAL_PRODUCT_COLUMNS",
    "PRODUCT_COLUMNS",
    "LocationRow",
    "OperatorRow",
    "ProductRow",
    "parse_barcodes",
    "parse_locations",
    "parse_operators",
    "parse_products",
]

PRODUCT_COLUMNS = (
    "sku",
    "name",
    "barcodes",
    "category",
    "unit_cost",
    "weight_g",
    "length_mm",
    "width_mm",
    "height_mm",
    "reorder_point",
    "reorder_qty",
    "lead_time_days",
    "safety_stock",
)
OPTIONAL_PRODUCT_COLUMNS = ("backorder_allowed", "tracking")
"""Columns ``products.csv`` may add; absent, or an empty cell, keeps what is stored
(``true`` and ``none`` for a new product)."""
_TRACKINGS = ("none", "lot", "serial")
LOCATION_COLUMNS = ("code", "zone", "name", "gln")
OPTIONAL_LOCATION_COLUMNS = ("warehouse", "max_weight_g", "max_volume_cm3", "type")
"""Columns ``locations.csv`` may add: the warehouse (a code; absent or empty keeps what
is stored, ``MAIN`` for a new location; a code that names no warehouse yet creates it),
capacity limits (an empty cell is no limit; an absent column keeps what is stored, no
limit for a new location) and the type (``storage`` or ``quarantine``; absent or empty
keeps what is stored, ``storage`` for a new location)."""
_LOCATION_TYPES = ("storage", "quarantine")
OPERATOR_COLUMNS = ("code", "name")

_LOCATION_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
_MAX_INT = 2**31 - 1
MAX_LEAD_TIME_DAYS: Final = 3650
"""Longest lead time a product may have (ten years): forecasts and reorder dates count
that many days ahead."""
_MAX_DECIMAL = Decimal(10) ** 9
_UTF8_BOM = b"\xef\xbb\xbf"


def _is_whole(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts '²' and other scripts' digits."""
    return text.isascii() and text.isdigit()


@dataclass(frozen=True)
class ProductRow(ProductFigures):
    """A product from line ``line`` of a CSV import. Not a :class:`ProductSpec`: a file
    may leave ``backorder_allowed`` unsaid, which keeps what is stored."""

    line: int
    sku: str
    name: str
    barcodes: tuple[Barcode, ...]
    backorder_allowed: bool | None = None
    """``None``: the file does not say (keep what is stored; true for a new product)."""
    tracking: str | None = None
    """``none``, ``lot`` or ``serial``; ``None``: keep what is stored (none for a new one)."""


@dataclass(frozen=True)
class LocationRow:
    """A location from line ``line`` of a CSV import. Not a :class:`LocationSpec`: a
    file may leave ``type`` unsaid, which keeps what is stored."""

    line: int
    code: str
    zone: str
    name: str
    gln: str | None
    max_weight_g: Decimal | None = None
    max_volume_cm3: Decimal | None = None
    sets_limits: tuple[bool, bool] = (False, False)
    """Whether the file has the max_weight_g and max_volume_cm3 columns (else kept)."""
    type: str | None = None
    """``storage`` or ``quarantine`` (stock there is on hand, never available); ``None``
    when not given: a new location is storage, an existing one keeps its type."""
    warehouse: str | None = None
    """The warehouse's code; ``None`` when not given: a new location is in ``MAIN``, an
    existing one stays where it is."""


@dataclass(frozen=True)
class OperatorRow:
    line: int
    code: str
    name: str


class _LineError(ValueError):
    pass


def parse_barcodes(text: str) -> tuple[Barcode, ...]:
    """``05012345678900|15012345678907*12`` → specs. Raises ``ValueError`` with a reason."""
    specs: list[Barcode] = []
    for part in text.split("|"):
        item = part.strip()
        if not item:
            if text.strip():
                raise ValueError("empty barcode between '|' separators")
            continue
        code, star, pack = item.partition("*")
        code = code.strip()
        pack_size = 1
        if star:
            if not _is_whole(pack.strip()):
                raise ValueError(f"pack size of {code} must be a whole number, not {pack!r}")
            pack_size = int(pack)
            if not 1 <= pack_size <= MAX_QUANTITY:
                raise ValueError(f"pack size of {code} must be 1 to {MAX_QUANTITY}")
        if not code or not code.isprintable() or len(code) > 128:
            raise ValueError(f"barcode {code!r} is empty, too long or not printable")
        if code.isdigit() and len(code) in (8, 12, 13, 14):
            try:
                code = normalize_gtin(code)
            except ValueError as exc:
                raise ValueError(f"barcode {code}: {exc}") from None
        if any(spec.code == code for spec in specs):
            raise ValueError(f"barcode {code} appears twice on this line")
        specs.append(Barcode(code, pack_size))
    return tuple(specs)


def _text(value: str, what: str, *, required: bool, max_length: int) -> str:
    value = value.strip()
    if required and not value:
        raise _LineError(f"{what} is required")
    if len(value) > max_length:
        raise _LineError(f"{what} is longer than {max_length} characters")
    if not value.isprintable():
        raise _LineError(f"{what} has control characters")
    return value


def _decimal(value: str, what: str, *, optional: bool, places: int) -> Decimal | None:
    value = value.strip()
    if not value:
        if optional:
            return None
        return Decimal(0)
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise _LineError(f"{what} is not a number: {value!r}") from None
    if not number.is_finite() or number < 0:
        raise _LineError(f"{what} must be a number ≥ 0, not {value!r}")
    # PostgreSQL rounds to the column's scale (half away from zero) before checking
    # its precision, so 999999999.99 in a numeric(10, 1) column would overflow.
    if (
        number >= _MAX_DECIMAL
        or number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP) >= _MAX_DECIMAL
    ):
        raise _LineError(f"{what} is too large: {value!r}")
    return number


def _int(value: str, what: str, maximum: int = _MAX_INT) -> int:
    value = value.strip()
    if not value:
        return 0
    if not _is_whole(value):
        raise _LineError(f"{what} must be a whole number ≥ 0, not {value!r}")
    number = int(value)
    if number > maximum:
        raise _LineError(f"{what} is too large: {value!r} (at most {maximum})")
    return number


def _rows(
    data: bytes,
    columns: tuple[str, ...],
    problems: list[ImportProblem],
    optional: tuple[str, ...] = (),
) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # utf-8-sig reports positions after the BOM it skipped.
        start = exc.start + (len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0)
        line = data[:start].count(b"\n") + 1
        problems.append(ImportProblem(line, f"not UTF-8 (byte 0x{data[start]:02x})"))
        return
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        problems.append(ImportProblem(1, f"unreadable CSV header: {exc}"))
        return
    if header is None:
        problems.append(ImportProblem(1, "empty file: expected a header line"))
        return
    names = [h.strip().lower() for h in header]
    missing = [c for c in columns if c not in names]
    unknown = [n for n in names if n not in columns and n not in optional]
    if missing or unknown or len(set(names)) != len(names):
        parts = []
        if missing:
            parts.append("missing column(s): " + ", ".join(missing))
        if unknown:
            parts.append("unknown column(s): " + ", ".join(unknown))
        if len(set(names)) != len(names):
            parts.append("a column appears twice")
        problems.append(ImportProblem(1, "; ".join(parts) + f" (expected {','.join(columns)})"))
        return
    while True:
        # A quoted field may span lines: a record is reported at the line it starts on.
        line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(ImportProblem(line, f"unreadable CSV: {exc}"))
            return
        if not any(v.strip() for v in values):
            continue  # blank lines are allowed
        if len(values) != len(names):
            problems.append(ImportProblem(line, f"{len(values)} fields, expected {len(names)}"))
            continue
        yield line, dict(zip(names, values, strict=True))


_Row = TypeVar("_Row")


def _parse(
    data: bytes,
    columns: tuple[str, ...],
    build: Callable[[int, dict[str, str]], _Row],
    key: Callable[[_Row], str],
    what: str,
    optional: tuple[str, ...] = (),
) -> tuple[list[_Row], list[ImportProblem]]:
    """Every line built into a row (``build`` raises for a bad one) and every problem,
    ``key`` naming what two lines may not share (a second one is a problem too)."""
    problems: list[ImportProblem] = []
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for line, record in _rows(data, columns, problems, optional):
        try:
            row = build(line, record)
        except (_LineError, ValueError) as exc:
            problems.append(ImportProblem(line, str(exc)))
            continue
        first = seen.setdefault(key(row), line)
        if first != line:
            problems.append(
                ImportProblem(line, f"duplicate {what} {key(row)} (first on line {first})")
            )
            continue
        rows.append(row)
    return rows, problems


def _product(line: int, r: dict[str, str]) -> ProductRow:
    try:
        barcodes = parse_barcodes(r["barcodes"])
    except ValueError as exc:
        raise _LineError(str(exc)) from None
    return ProductRow(
        line=line,
        sku=_text(r["sku"], "sku", required=True, max_length=64),
        name=_text(r["name"], "name", required=True, max_length=200),
        barcodes=barcodes,
        category=_text(r["category"], "category", required=False, max_length=100),
        unit_cost=_decimal(r["unit_cost"], "unit_cost", optional=False, places=4) or Decimal(0),
        weight_g=_decimal(r["weight_g"], "weight_g", optional=True, places=3),
        length_mm=_decimal(r["length_mm"], "length_mm", optional=True, places=1),
        width_mm=_decimal(r["width_mm"], "width_mm", optional=True, places=1),
        height_mm=_decimal(r["height_mm"], "height_mm", optional=True, places=1),
        reorder_point=_int(r["reorder_point"], "reorder_point"),
        reorder_qty=_int(r["reorder_qty"], "reorder_qty"),
        lead_time_days=_int(r["lead_time_days"], "lead_time_days", MAX_LEAD_TIME_DAYS),
        safety_stock=_int(r["safety_stock"], "safety_stock"),
        backorder_allowed=_flag(r.get("backorder_allowed", ""), "backorder_allowed"),
        tracking=_tracking(r.get("tracking", "")),
    )


def _tracking(value: str) -> str | None:
    text = value.strip().lower()
    if not text:
        return None
    if text not in _TRACKINGS:
        raise _LineError(f"tracking must be none, lot or serial, not {value!r}")
    return text


_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def _flag(value: str, what: str) -> bool | None:
    """``true``/``false`` (also yes/no, 1/0, any case); empty: ``None``."""
    text = value.strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _LineError(f"{what} must be true or false, not {value!r}")


def parse_products(data: bytes) -> tuple[list[ProductRow], list[ImportProblem]]:
    """Validate a products CSV: every row, or every problem (also duplicate barcodes)."""
    products, problems = _parse(
        data, PRODUCT_COLUMNS, _product, lambda r: r.sku, "sku", OPTIONAL_PRODUCT_COLUMNS
    )
    owner: dict[str, tuple[str, int]] = {}
    for row in products:
        for spec in row.barcodes:
            first = owner.setdefault(spec.code, (row.sku, row.line))
            if first[1] != row.line:
                problems.append(
                    ImportProblem(
                        row.line, f"barcode {spec.code} is also on line {first[1]} ({first[0]})"
                    )
                )
    problems.sort(key=lambda p: p.line)
    return products, problems


def _location(line: int, r: dict[str, str]) -> LocationRow:
    code = r["code"].strip()
    if not _LOCATION_CODE.match(code):
        raise _LineError(
            f"location code {code!r} must be 1-64 letters, digits, '.', '_', '/' or '-'"
        )
    gln = r["gln"].strip() or None
    if gln is not None:
        if len(gln) != 13 or not gln.isdigit():
            raise _LineError(f"gln must be 13 digits, not {gln!r}")
        try:
            normalize_gtin(gln)  # a GLN uses the same mod-10 check digit
        except ValueError as exc:
            raise _LineError(f"gln {gln}: {exc}") from None
    kind = r.get("type", "").strip().lower() or None
    if kind is not None and kind not in _LOCATION_TYPES:
        raise _LineError(f"type must be storage or quarantine, not {r['type'].strip()!r}")
    warehouse = r.get("warehouse", "").strip() or None
    if warehouse is not None:
        try:
            check_warehouse_code(warehouse)
        except ValueError as exc:
            raise _LineError(str(exc)) from None
    return LocationRow(
        line=line,
        code=code,
        zone=_text(r["zone"], "zone", required=False, max_length=64),
        name=_text(r["name"], "name", required=False, max_length=200),
        gln=gln,
        max_weight_g=_decimal(r.get("max_weight_g", ""), "max_weight_g", optional=True, places=3),
        max_volume_cm3=_decimal(
            r.get("max_volume_cm3", ""), "max_volume_cm3", optional=True, places=3
        ),
        sets_limits=("max_weight_g" in r, "max_volume_cm3" in r),
        type=kind,
        warehouse=warehouse,
    )


def parse_locations(data: bytes) -> tuple[list[LocationRow], list[ImportProblem]]:
    """Validate a locations CSV: every row, or every problem (also duplicate GLNs)."""
    locations, problems = _parse(
        data,
        LOCATION_COLUMNS,
        _location,
        lambda r: r.code,
        "location code",
        OPTIONAL_LOCATION_COLUMNS,
    )
    glns: dict[str, int] = {}
    for row in locations:
        if row.gln is not None:
            first = glns.setdefault(row.gln, row.line)
            if first != row.line:
                problems.append(ImportProblem(row.line, f"gln {row.gln} is also on line {first}"))
    problems.sort(key=lambda p: p.line)
    return locations, problems


def parse_operators(data: bytes) -> tuple[list[OperatorRow], list[ImportProblem]]:
    """Validate an operators CSV (``code,name``): every row, or every problem."""
    return _parse(data, OPERATOR_COLUMNS, _operator, lambda r: r.code, "operator")


def _operator(line: int, r: dict[str, str]) -> OperatorRow:
    return OperatorRow(line, *check_operator(r["code"].strip(), r["name"]))
