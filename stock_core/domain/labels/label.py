"""What a printed label says: the kinds, symbols and sizes, the request, and the labels
for locations, products and scanner commands."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from stock_core.domain.gtin import is_valid_gtin
from stock_core.domain.movement import MAX_QUANTITY
from stock_core.domain.operator import operator_code_problem
from stock_core.domain.serial import MAX_SERIAL_LENGTH
from stock_core.domain.serial import check_serial
from stock_core.errors import StockRejection

__all__ = [
    "COMMANDS",
    "DPIS",
    "MAX_2D_MODULE_MM",
    "MAX_LABELS",
    "MAX_MODULE_MM",
    "MIN_2D_MODULE_MM",
    "MIN_MODULE_MM",
    "QUANTITIES",
    "SIZES",
    "SYMBOLS",
    "Label",
    "LabelError",
    "LabelFormat",
    "LabelKind",
    "LabelRequest",
    "LabelSize",
    "LocationEntry",
    "ProductEntry",
    "Symbol",
    "command_labels",
    "location_labels",
    "parse_request",
    "product_labels",
    "unit_gtin",
]


class LabelError(StockRejection):
    """A label request that cannot be printed as asked; ``reason`` says what to change."""

    problem_type = "rejected"
    http_status = 422


class LabelKind(enum.Enum):
    """What a run of labels is for: locations, products or scanner commands."""

    LOCATIONS = "locations"
    PRODUCTS = "products"
    COMMANDS = "commands"


class LabelFormat(enum.Enum):
    """The printed form: PDF sheets, or ZPL for a label printer."""

    PDF = "pdf"
    ZPL = "zpl"


class Symbol(enum.Enum):
    """A printed symbology."""

    CODE128 = "code128"
    DATAMATRIX = "datamatrix"
    QR = "qr"
    EAN8 = "ean8"
    EAN13 = "ean13"
    UPCA = "upca"
    ITF14 = "itf14"
    GS1_128 = "gs1-128"
    GS1_DATAMATRIX = "gs1-datamatrix"

    @property
    def two_dimensional(self) -> bool:
        return self in (Symbol.DATAMATRIX, Symbol.QR, Symbol.GS1_DATAMATRIX)

    @property
    def gs1(self) -> bool:
        return self in (Symbol.GS1_128, Symbol.GS1_DATAMATRIX)


GTIN: Final = "gtin"
"""The product symbol choice "by the GTIN's length": EAN-8, UPC-A, EAN-13 or ITF-14."""


SYMBOLS: Final[dict[LabelKind, tuple[str, ...]]] = {
    LabelKind.LOCATIONS: ("code128", "datamatrix", "qr"),
    LabelKind.COMMANDS: ("code128", "datamatrix", "qr"),
    LabelKind.PRODUCTS: (GTIN, "gs1-128", "gs1-datamatrix"),
}
"""The ``--symbol`` choices per kind, default first."""


COMMANDS: Final[tuple[tuple[str, str], ...]] = (
    ("RECEIVE", "Receive mode: scans add stock here"),
    ("PICK", "Pick mode: scans take stock from here"),
    ("COUNT", "Count mode: scan what is here, then DONE"),
    ("MOVE", "Move mode: from here to the next location"),
    ("DONE", "Finish the count or the move"),
    ("CANCEL", "Drop what is not committed yet"),
    ("UNDO", "Reverse this scanner's last movement"),
    ("LOGOUT", "Sign the worker out of this scanner"),
    ("RETURN", "Return mode: returned units into quarantine"),
    ("SCRAP", "Scrap mode: scans write units off"),
)
"""Every ``CMD:`` the gateway reads (``scanner_gateway.decoded.Command``), with its gist."""


_REASON = re.compile(r"[a-z0-9_]{1,32}")


QUANTITIES: Final = (1, 2, 3, 5, 6, 10, 12, 20, 24, 50, 100)


DPIS: Final = (203, 300, 600)


MIN_MODULE_MM: Final = 0.19
"""Narrowest bar module printed (7.5 mil): what handheld imagers read at arm's length;
a code that would need narrower is refused with a hint (a larger size, a 2D symbol)."""


MAX_MODULE_MM: Final = 0.5
"""Widest bar module: a short code stays a sensible size."""


MIN_2D_MODULE_MM: Final = 0.25


MAX_2D_MODULE_MM: Final = 1.5


MAX_LABELS: Final = 5000
"""Most labels one request prints; more is refused (narrow it with a zone or codes)."""


_LOT = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
"""GS1 AI 10: up to 20 characters of GS1's 82-character set."""


_DPMM = {203: 8, 300: 12, 600: 24}


@dataclass(frozen=True)
class LabelSize:
    """A page of ``columns`` × ``rows`` labels; millimetres, origin at the page's top left."""

    name: str
    page: tuple[float, float]
    label: tuple[float, float]
    columns: int = 1
    rows: int = 1
    margin: tuple[float, float] = (0.0, 0.0)
    """Left and top edge of the first label."""
    pitch: tuple[float, float] = (0.0, 0.0)
    """From one label's left (top) edge to the next one's."""

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    @property
    def sheet(self) -> bool:
        """Several labels on a page (office printer), not one (label printer)."""
        return self.per_page > 1

    def cell(self, index: int) -> tuple[int, float, float]:
        """(page, left, top) of the ``index``-th label: across, then down."""
        page, slot = divmod(index, self.per_page)
        row, column = divmod(slot, self.columns)
        return (
            page,
            self.margin[0] + column * self.pitch[0],
            self.margin[1] + row * self.pitch[1],
        )


SIZES: Final[dict[str, LabelSize]] = {
    "a4": LabelSize(
        "a4", (210.0, 297.0), (63.5, 38.1), 3, 7, margin=(7.2, 15.15), pitch=(66.0, 38.1)
    ),
    "letter": LabelSize(
        "letter", (215.9, 279.4), (66.7, 25.4), 3, 10, margin=(4.8, 12.7), pitch=(69.85, 25.4)
    ),
    "100x50": LabelSize("100x50", (100.0, 50.0), (100.0, 50.0)),
    "57x32": LabelSize("57x32", (57.0, 32.0), (57.0, 32.0)),
}


@dataclass(frozen=True)
class LabelRequest:
    kind: LabelKind
    format: LabelFormat
    size: LabelSize
    symbol: str
    """One of :data:`SYMBOLS` for the kind."""
    zone: str | None = None
    codes: tuple[str, ...] = ()
    """Location codes, SKUs or commands (``PICK``, ``CMD:PICK``, ``QTY:12``); empty: all."""
    lot: str | None = None
    expiry: date | None = None
    dpi: int = 203


@dataclass(frozen=True)
class Label:
    """One label: its symbol and data, and the text printed beside it.

    ``data`` is what the symbol holds: text for Code 128, Data Matrix and QR; the digits
    of the GTIN as the symbology carries them (8, 12, 13 or 14, check digit included);
    for GS1 symbols, unused (``elements`` holds the AIs and values instead).
    """

    symbol: Symbol
    data: str
    text: str
    """The code in words, printed large: what a person would key in; for GS1 symbols the
    human-readable interpretation, ``(01)05012345678900(17)270331(10)L1``."""
    caption: str = ""
    """What it is: the location's or product's name, what the command does."""
    detail: str = ""
    elements: tuple[tuple[str, str], ...] = ()

    @property
    def gs1_segments(self) -> list[tuple[str, str, bool]]:
        """(AI, value, FNC1 after it) for each element: after a variable-length field
        that is not the last one."""
        found = []
        for index, (ai, value) in enumerate(self.elements):
            last = index == len(self.elements) - 1
            found.append((ai, value, ai not in _FIXED_LENGTH and not last))
        return found


_FIXED_LENGTH = frozenset({"01", "17"})


@dataclass(frozen=True)
class LocationEntry:
    """A location to print a label for."""

    code: str
    name: str = ""
    zone: str = ""


@dataclass(frozen=True)
class ProductEntry:
    """A product to print a label for: it carries the unit GTIN (pack size 1)."""

    sku: str
    name: str
    barcodes: tuple[tuple[str, int], ...] = ()
    """(code, pack size): GTINs as 14 digits, aliases as given."""


def _choice(value: str | None, choices: Iterable[str], what: str, default: str) -> str:
    options = tuple(choices)
    chosen = default if value is None else value.strip().lower()
    if chosen not in options:
        raise LabelError(f"unknown {what} {value!r}: use {' or '.join(options)}")
    return chosen


def parse_request(
    kind: str,
    *,
    format: str | None = None,
    size: str | None = None,
    symbol: str | None = None,
    zone: str | None = None,
    codes: Sequence[str] = (),
    lot: str | None = None,
    expiry: date | None = None,
    dpi: int | None = None,
    reference_year: int | None = None,
) -> LabelRequest:
    """Check a request as a user typed it; each refusal names what to change.

    ``reference_year`` (the current year, from the shell) bounds the expiry to the years
    a two-digit GS1 date can mean to a gateway (GS1's sliding window); without it they
    are 2000-2099.
    """
    label_kind = LabelKind(_choice(kind, (k.value for k in LabelKind), "label kind", ""))
    label_format = LabelFormat(
        _choice(format, (f.value for f in LabelFormat), "format", LabelFormat.PDF.value)
    )
    sizes = [name for name, s in SIZES.items() if label_format is LabelFormat.PDF or not s.sheet]
    default_size = "a4" if label_format is LabelFormat.PDF else "100x50"
    if size is not None and size.strip().lower() in SIZES and size.strip().lower() not in sizes:
        raise LabelError(f"ZPL prints on label rolls: use size {' or '.join(sizes)}")
    chosen_size = SIZES[_choice(size, sizes, "size", default_size)]
    gs1_fields = lot is not None or expiry is not None
    default_symbol = SYMBOLS[label_kind][0]
    if label_kind is LabelKind.PRODUCTS and gs1_fields:
        default_symbol = "gs1-128"
    chosen_symbol = _choice(
        symbol, SYMBOLS[label_kind], f"symbol for {label_kind.value}", default_symbol
    )
    if gs1_fields and label_kind is not LabelKind.PRODUCTS:
        raise LabelError("a lot and an expiry are for product labels")
    if gs1_fields and chosen_symbol == GTIN:
        raise LabelError(
            "EAN/UPC cannot carry a lot or an expiry: use symbol gs1-128 or gs1-datamatrix"
        )
    if lot is not None and _LOT.fullmatch(lot) is None:
        raise LabelError(
            f"lot {lot!r}: 1 to 20 letters, digits or GS1 punctuation, no spaces (GS1 AI 10)"
        )
    if expiry is not None:
        low, high = (2000, 2099) if reference_year is None else _window(reference_year)
        if not low <= expiry.year <= high:
            raise LabelError(f"expiry {expiry.isoformat()}: a GS1 date is in {low}-{high}")
    if zone is not None and label_kind is LabelKind.COMMANDS:
        raise LabelError("a zone is for location and product labels")
    if zone is not None and not zone.strip():
        raise LabelError("the zone is empty: give one such as A")
    wanted = tuple(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if codes and not wanted:
        raise LabelError("no codes given: separate them with commas")
    if zone is not None and wanted:
        raise LabelError("give a zone or codes, not both")
    chosen_dpi = 203 if dpi is None else dpi
    if chosen_dpi not in DPIS:
        raise LabelError(f"dpi {dpi}: use {', '.join(map(str, DPIS))}")
    return LabelRequest(
        kind=label_kind,
        format=label_format,
        size=chosen_size,
        symbol=chosen_symbol,
        zone=None if zone is None else zone.strip(),
        codes=wanted,
        lot=lot,
        expiry=expiry,
        dpi=chosen_dpi,
    )


def _window(reference_year: int) -> tuple[int, int]:
    """The years a two-digit GS1 year means around ``reference_year`` (GS1 GenSpecs 7.12)."""
    return reference_year - 49, reference_year + 50


def _plain_symbol(request: LabelRequest) -> Symbol:
    return Symbol(request.symbol)


def location_labels(request: LabelRequest, locations: Sequence[LocationEntry]) -> list[Label]:
    """``LOC:<code>`` for each location, in the order given."""
    symbol = _plain_symbol(request)
    found = []
    for location in locations:
        detail = f"zone {location.zone}" if location.zone else ""
        text = f"LOC:{location.code}"
        found.append(Label(symbol, text, text, caption=location.name, detail=detail))
    return _capped(found)


def unit_gtin(product: ProductEntry) -> str | None:
    """The product's first GTIN with pack size 1, as 14 digits; ``None`` when it has none."""
    for code, pack_size in product.barcodes:
        if pack_size == 1 and is_valid_gtin(code) and len(code) == 14:
            return code
    return None


def _gtin_symbol(gtin: str) -> tuple[Symbol, str]:
    """The retail symbol for a 14-digit GTIN and the digits it carries."""
    if gtin.startswith("000000"):
        return Symbol.EAN8, gtin[6:]
    if gtin.startswith("00"):
        return Symbol.UPCA, gtin[2:]
    if gtin.startswith("0"):
        return Symbol.EAN13, gtin[1:]
    return Symbol.ITF14, gtin


def product_labels(request: LabelRequest, products: Sequence[ProductEntry]) -> list[Label]:
    """The unit GTIN of each product; refused when any has none (naming them)."""
    missing = [p.sku for p in products if unit_gtin(p) is None]
    if missing:
        more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
        raise LabelError(
            f"no GTIN of pack size 1 to print for {', '.join(missing[:3])}{more}: add one "
            "(stockd import products, PATCH /api/v1/products) or pick others by their codes"
        )
    found = []
    for product in products:
        gtin = unit_gtin(product)
        assert gtin is not None
        sku = f"SKU {product.sku}"
        if request.symbol == GTIN:
            symbol, digits = _gtin_symbol(gtin)
            found.append(Label(symbol, digits, digits, caption=product.name, detail=sku))
            continue
        elements = [("01", gtin)]
        notes = [sku]
        if request.expiry is not None:
            elements.append(("17", request.expiry.strftime("%y%m%d")))
            notes.append(f"exp {request.expiry.isoformat()}")
        if request.lot is not None:
            elements.append(("10", request.lot))
            notes.append(f"lot {request.lot}")
        hri = "".join(f"({ai}){value}" for ai, value in elements)
        symbol = Symbol(request.symbol)
        detail = " · ".join(notes)
        found.append(Label(symbol, "", hri, product.name, detail, tuple(elements)))
    return _capped(found)


def command_labels(request: LabelRequest) -> list[Label]:
    """Every command and the common quantities, or those in ``request.codes``.

    A code is a command (``PICK`` or ``CMD:PICK``), a quantity (``QTY:12``, 1 to
    100000), a return or scrap reason (``RSN:damaged``), a worker's badge
    (``USR:W0042``) or a serial number (``SN:IMEI-0001``, kept as given); anything
    else is refused, naming it.
    """
    gists = dict(COMMANDS)
    wanted = request.codes or (
        *(f"CMD:{name}" for name, _ in COMMANDS),
        *(f"QTY:{n}" for n in QUANTITIES),
    )
    symbol = _plain_symbol(request)
    found = []
    for code in wanted:
        prefix, colon, given = code.partition(":")
        prefix, value = prefix.upper(), given.strip().upper()
        if not colon:
            prefix, value = "CMD", prefix
        if prefix == "RSN" and _REASON.fullmatch(value.lower()):
            text = f"RSN:{value.lower()}"
            found.append(Label(symbol, text, text, caption=f"Reason: {value.lower()}"))
        elif prefix == "USR" and operator_code_problem(given.strip()) is None:
            text = f"USR:{given.strip()}"
            found.append(Label(symbol, text, text, caption="Badge: sign in on a scanner"))
        elif prefix == "SN" and _is_serial(given.strip()):
            text = f"SN:{given.strip()}"
            found.append(Label(symbol, text, text, caption="Serial number"))
        elif prefix == "CMD" and value in gists:
            text = f"CMD:{value}"
            found.append(Label(symbol, text, text, caption=gists[value]))
        elif prefix == "QTY" and value.isdigit() and 1 <= int(value) <= MAX_QUANTITY:
            text = f"QTY:{int(value)}"
            units = "unit" if int(value) == 1 else "units"
            found.append(Label(symbol, text, text, caption=f"Next scan counts {value} {units}"))
        else:
            raise LabelError(
                f"unknown command {code!r}: use {', '.join(gists)}, QTY:<1-{MAX_QUANTITY}>, "
                f"RSN:<reason>, USR:<badge> or SN:<serial of 1-{MAX_SERIAL_LENGTH}>"
            )
    return _capped(found)


def _is_serial(text: str) -> bool:
    try:
        check_serial(text)
    except StockRejection:
        return False
    return True


def _capped(labels: list[Label]) -> list[Label]:
    if not labels:
        raise LabelError("nothing to print")
    if len(labels) > MAX_LABELS:
        raise LabelError(
            f"{len(labels)} labels: at most {MAX_LABELS} at once, narrow them with a zone or codes"
        )
    return labels
