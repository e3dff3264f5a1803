"""What each printed label says, and the ZPL that prints it (SPEC, ``stockd labels``).

Pure: a request and catalog rows in; :class:`Label` values and ZPL text out. Every
label scans back as a code the gateway reads:

=============  ==========================================================================
kind           what the symbol holds
=============  ==========================================================================
locations      ``LOC:<code>`` as Code 128 (default), Data Matrix or QR
products       the unit GTIN (pack size 1) as EAN-8, UPC-A, EAN-13 or ITF-14 by its
               length; or GS1-128 / GS1 Data Matrix with AI 01 (GTIN), 17 (expiry) and
               10 (lot), FNC1 first and after a variable-length field that is not last
commands       every ``CMD:`` the gateway knows and ``QTY:`` 1, 2, 3, 5, 6, 10, 12, 20,
               24, 50, 100 (or those named), as Code 128 (default), Data Matrix or QR
=============  ==========================================================================

GS1 fields go in the order 01, 17, 10: fixed-length fields first, so a label with a
lot and an expiry needs no FNC1 separator inside (fewer ways for a scanner to get it
wrong); the separator rule is applied all the same.

Sizes are sheets of labels (``a4``: 3 × 7 of 63.5 × 38.1 mm, as Avery L7160; ``letter``:
3 × 10 of 66.7 × 25.4 mm, as Avery 5160) or one label per page for label printers
(``100x50``, ``57x32``). ZPL is for label printers only: one ``^XA…^XZ`` per label, at
203, 300 or 600 dpi. The PDF is drawn by :mod:`stock_core.label_pdf`.

Every refusal is a :class:`LabelError` with one line saying what to change.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from stock_core.domain.gtin import is_valid_gtin
from stock_core.domain.operator import operator_code_problem
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
    "too_small",
    "unit_gtin",
    "zpl",
]


class LabelError(StockRejection):
    """A label request that cannot be printed as asked; ``reason`` says what to change."""

    problem_type = "rejected"
    http_status = 422


class LabelKind(enum.Enum):
    LOCATIONS = "locations"
    PRODUCTS = "products"
    COMMANDS = "commands"


class LabelFormat(enum.Enum):
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
MAX_QUANTITY: Final = 100_000
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
    code: str
    name: str = ""
    zone: str = ""


@dataclass(frozen=True)
class ProductEntry:
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
    100000), a return or scrap reason (``RSN:damaged``) or a worker's badge
    (``USR:W0042``); anything else is refused, naming it.
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
                "RSN:<reason> or USR:<badge>"
            )
    return _capped(found)


def _capped(labels: list[Label]) -> list[Label]:
    if not labels:
        raise LabelError("nothing to print")
    if len(labels) > MAX_LABELS:
        raise LabelError(
            f"{len(labels)} labels: at most {MAX_LABELS} at once, narrow them with a zone or codes"
        )
    return labels


# -- ZPL -----------------------------------------------------------------------------

# Retail symbols: the ZPL command, digits dropped (the printer adds the check digit),
# modules with quiet zones, modules of the left quiet zone.
_ZPL_RETAIL = {
    Symbol.EAN13: ("^BE", 1, 113, 11),
    Symbol.UPCA: ("^BU", 1, 113, 9),
    Symbol.EAN8: ("^B8", 1, 81, 7),
    Symbol.ITF14: ("^B2", 0, 156, 10),  # Interleaved 2 of 5 (ratio 3): all 14 digits
}
# Data Matrix ECC 200 square sizes and their data codewords; QR versions (ECC M) and
# their byte capacity: for the module size that makes the symbol fit.
_DATAMATRIX = (
    (10, 3), (12, 5), (14, 8), (16, 12), (18, 18), (20, 22), (22, 30), (24, 36),
    (26, 44), (32, 62), (36, 86), (40, 114), (44, 144), (48, 174), (52, 204),
)  # fmt: skip
_QR_BYTES = (14, 26, 42, 62, 84, 106, 122, 152, 180, 213)
_DIGIT_RUN = re.compile(r"[0-9]{4,}")


def _code128_modules(data: str, fnc1: int = 0) -> int:
    """An upper bound of a Code 128 symbol's width, quiet zones included: digit runs of
    four or more packed two to a character (code set C), the rest one each."""
    characters = 2 + fnc1  # start, check
    rest = data
    for run in _DIGIT_RUN.findall(data):
        characters += (len(run) + 1) // 2 + 2  # the run, a switch in and out
        rest = rest.replace(run, "", 1)
    characters += len(rest)
    return 11 * characters + 13 + 20


def _datamatrix_modules(data: str, fnc1: int) -> int | None:
    codewords = fnc1 + sum((len(r) + 1) // 2 for r in re.findall(r"[0-9]+", data))
    codewords += len(re.sub(r"[0-9]+", "", data))
    for size, capacity in _DATAMATRIX:
        if codewords <= capacity:
            return size + 2  # a one-module quiet zone each side
    return None


def _qr_modules(data: str) -> int | None:
    for version, capacity in enumerate(_QR_BYTES, start=1):
        if len(data.encode()) <= capacity:
            return 17 + 4 * version + 8
    return None


def _field(text: str) -> str:
    """Field data for ``^FH\\``: the ZPL command characters and the indicator in hex."""
    return text.replace("\\", "\\5C").replace("^", "\\5E").replace("~", "\\7E")


def _gs1_zpl_128(label: Label) -> str:
    """``>;>8`` (start C, FNC1) then the element string, ``>8`` (FNC1) as separator."""
    parts = [">;>8"]
    for ai, value, separator in label.gs1_segments:
        parts.append(ai + value.replace(">", "><"))
        if separator:
            parts.append(">8")
    return "".join(parts)


def _gs1_zpl_datamatrix(label: Label) -> str:
    """``_1`` (FNC1) first and as separator; a literal ``_`` is ``__``."""
    parts = ["_1"]
    for ai, value, separator in label.gs1_segments:
        parts.append(ai + value.replace("_", "__"))
        if separator:
            parts.append("_1")
    return "".join(parts)


def _fit(modules: int | None, room: int, label: Label, size: LabelSize, dpmm: int) -> int:
    """Dots per module: as many as fit ``room`` dots, within the module limits."""
    smallest, largest = (MIN_MODULE_MM, MAX_MODULE_MM)
    if label.symbol.two_dimensional:
        smallest, largest = (MIN_2D_MODULE_MM, MAX_2D_MODULE_MM)
    dots = 0 if modules is None else min(room // modules, max(round(largest * dpmm), 1))
    if dots < smallest * dpmm:
        raise too_small(label, size)
    return dots


def too_small(label: Label, size: LabelSize) -> LabelError:
    """The refusal of a code too long for the label at the narrowest module."""
    return LabelError(
        f"{label.text} does not fit a {size.name} label as {label.symbol.value}: "
        "use a larger size or a 2D symbol"
    )


def _zpl_symbol(label: Label, size: LabelSize, dpmm: int) -> list[str]:
    """The symbol's ZPL fields, placed in the label's upper part."""
    pad = 2 * dpmm
    width = round(size.label[0] * dpmm)
    height = round(size.label[1] * dpmm)
    if label.symbol.two_dimensional:
        room = min(round(height * 0.62), width // 2)
        if label.symbol is Symbol.QR:
            dots = min(_fit(_qr_modules(label.data), room, label, size, dpmm), 10)
            return [f"^FO{pad},{pad}^BQN,2,{dots}^FH\\^FDMA,{_field(label.data)}^FS"]
        if label.symbol is Symbol.GS1_DATAMATRIX:
            data = _gs1_zpl_datamatrix(label)
            fnc1 = 1 + sum(separator for _, _, separator in label.gs1_segments)
            modules = _datamatrix_modules("".join(a + v for a, v in label.elements), fnc1)
        else:
            data = label.data.replace("_", "__")
            modules = _datamatrix_modules(label.data, 0)
        dots = _fit(modules, room, label, size, dpmm)
        return [f"^FO{pad + dots},{pad + dots}^BXN,{dots},200,,,,_^FH\\^FD{_field(data)}^FS"]
    room = width - 2 * pad
    bars = round(height * 0.45)
    if label.symbol in _ZPL_RETAIL:
        command, drop, modules, quiet = _ZPL_RETAIL[label.symbol]
        dots = _fit(modules, room, label, size, dpmm)
        digits = label.data[: len(label.data) - drop]
        ratio = ",3" if label.symbol is Symbol.ITF14 else ""
        left = pad + (room - dots * modules) // 2 + quiet * dots
        return [f"^BY{dots}{ratio}", f"^FO{left},{pad}{command}N,{bars},N,N^FD{digits}^FS"]
    if label.symbol is Symbol.GS1_128:
        data = _gs1_zpl_128(label)
        fnc1 = 1 + sum(separator for _, _, separator in label.gs1_segments)
        modules = _code128_modules("".join(a + v for a, v in label.elements), fnc1)
    else:
        data = label.data.replace(">", "><")
        modules = _code128_modules(label.data)
    dots = _fit(modules, room, label, size, dpmm)
    left = pad + (room - dots * modules) // 2 + 10 * dots
    return [f"^BY{dots}", f"^FO{left},{pad}^BCN,{bars},N,N,N,A^FH\\^FD{_field(data)}^FS"]


def _zpl_text(label: Label, size: LabelSize, dpmm: int) -> list[str]:
    """The code in words, then the caption and detail, below or beside the symbol."""
    pad = 2 * dpmm
    width = round(size.label[0] * dpmm)
    height = round(size.label[1] * dpmm)
    if label.symbol.two_dimensional:
        left = pad + min(round(height * 0.62), width // 2) + pad
        top = pad
    else:
        left = pad
        top = pad + round(height * 0.45) + dpmm
    room = width - left - pad
    # Font 0 characters are about 0.6 of their height wide.
    big = max(min(round(height * 0.16), room * 5 // (3 * len(label.text))), 2 * dpmm)
    small = max(round(big * 0.6), 2 * dpmm)
    lines = [(label.text, big), (label.caption, small), (label.detail, small)]
    fields = []
    for text, font in lines:
        if not text or top + font > height - dpmm // 2:
            continue
        characters = max(room * 5 // (3 * font), 1)
        shown = text if len(text) <= characters else text[: characters - 1] + "…"
        fields.append(
            f"^FO{left},{top}^A0N,{font},{font}^FB{room},1,0,L,0^FH\\^FD{_field(shown)}^FS"
        )
        top += font + dpmm
    return fields


def zpl(labels: Sequence[Label], size: LabelSize, dpi: int = 203) -> str:
    """One ``^XA…^XZ`` format per label, UTF-8 text (``^CI28``), for a ``dpi`` printer."""
    if size.sheet:
        raise LabelError(f"ZPL prints on label rolls, not {size.name} sheets")
    dpmm = _DPMM[dpi]
    width = round(size.label[0] * dpmm)
    length = round(size.label[1] * dpmm)
    formats = []
    for label in labels:
        fields = ["^XA", "^CI28", f"^PW{width}", f"^LL{length}", "^LH0,0"]
        fields += _zpl_symbol(label, size, dpmm)
        fields += _zpl_text(label, size, dpmm)
        fields.append("^XZ")
        formats.append("\n".join(fields) + "\n")
    return "".join(formats)
