"""Labels: every printed code scans back as what the gateway reads (pure, plus pdftoppm).

The PDF tests draw the labels, rasterise the pages with Debian's ``pdftoppm``, cut each
label out of its page, decode it with an independent decoder (zxing-cpp), and feed what
a scanner would send (the AIM identifier the decoder reports, then the data, GS for
FNC1) through ``scanner_gateway.symbology.decode``. ZPL is checked for its structure.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from scanner_gateway.decoded import Command
from scanner_gateway.decoded import CommandScan
from scanner_gateway.decoded import Decoded
from scanner_gateway.decoded import LocationScan
from scanner_gateway.decoded import OperatorScan
from scanner_gateway.decoded import ProductScan
from scanner_gateway.decoded import QuantityScan
from scanner_gateway.decoded import ReasonScan
from scanner_gateway.decoded import SerialScan
from scanner_gateway.decoded import Symbology
from scanner_gateway.symbology import decode
from stock_core.domain.labels import COMMANDS
from stock_core.domain.labels import MAX_LABELS
from stock_core.domain.labels import QUANTITIES
from stock_core.domain.labels import SIZES
from stock_core.domain.labels import Label
from stock_core.domain.labels import LabelError
from stock_core.domain.labels import LabelFormat
from stock_core.domain.labels import LabelKind
from stock_core.domain.labels import LabelRequest
from stock_core.domain.labels import LabelSize
from stock_core.domain.labels import LocationEntry
from stock_core.domain.labels import ProductEntry
from stock_core.domain.labels import Symbol
from stock_core.domain.labels import command_labels
from stock_core.domain.labels import location_labels
from stock_core.domain.labels import parse_request
from stock_core.domain.labels import product_labels
from stock_core.domain.labels import unit_gtin
from stock_core.domain.labels import zpl
from stock_core.label_pdf import render_pdf
from stock_core.types import Gtin
from stock_core.types import LocationCode
from stock_core.types import OperatorCode
from stock_core.types import ReasonCode
from tests.ci import in_ci

PDFTOPPM = shutil.which("pdftoppm")
needs_pdftoppm = pytest.mark.skipif(
    PDFTOPPM is None and not in_ci(),
    reason="pdftoppm is missing: run scripts/ensure-test-tools (Debian's poppler-utils);"
    " in CI (CI=true) the test runs and fails instead",
)
RASTER_DPI = 300
YEAR = 2026
EXPIRY = date(2027, 3, 31)

LOCATIONS = (
    LocationEntry("A-01", "Aisle A bay 1", "A"),
    LocationEntry("B-01"),
    LocationEntry("COLD_2/r.3", "Cold room, rack 3, a name far too long to fit on the label", "C"),
)
PRODUCTS = (
    ProductEntry("WIDGET", "Widget", (("05012345678900", 1), ("15012345678907", 12))),
    ProductEntry("NUT", "Nut M6 — stainless, A2 (DIN 934)", (("00012345678905", 1),)),
    ProductEntry("SPROCKET", "Sprocket", (("SPR-1", 1), ("00000096385074", 1))),
    ProductEntry("CASE", "Shipper case", (("15012345678907", 1),)),
)
GTIN_SCANS = (
    ProductScan(Symbology.EAN13, gtin=Gtin("05012345678900")),
    ProductScan(Symbology.UPCA, gtin=Gtin("00012345678905")),
    ProductScan(Symbology.EAN8, gtin=Gtin("00000096385074")),
    ProductScan(Symbology.ITF14, gtin=Gtin("15012345678907")),
)
COMMAND_SCANS: tuple[Decoded, ...] = (
    *(CommandScan(Command(name)) for name, _ in COMMANDS),
    *(QuantityScan(n) for n in QUANTITIES),
)


def request(kind: str, **options: object) -> LabelRequest:
    return parse_request(kind, reference_year=YEAR, **options)  # type: ignore[arg-type]


def labels_for(req: LabelRequest) -> list[Label]:
    if req.kind is LabelKind.LOCATIONS:
        return location_labels(req, LOCATIONS)
    if req.kind is LabelKind.PRODUCTS:
        return product_labels(req, PRODUCTS)
    return command_labels(req)


def rasterise(pdf: bytes, folder: Path) -> list[Image.Image]:
    assert PDFTOPPM is not None
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "labels.pdf"
    source.write_bytes(pdf)
    command = [PDFTOPPM, "-r", str(RASTER_DPI), "-gray", str(source), str(folder / "p")]
    subprocess.run(command, check=True, timeout=120)
    return [Image.open(page) for page in sorted(folder.glob("p*.pgm"))]


def scanned(pdf: bytes, size: LabelSize, count: int, folder: Path) -> list[Decoded]:
    """Each label cut from its page, read as a scanner would, decoded by the gateway."""
    pages = rasterise(pdf, folder)
    assert len(pages) == -(-count // size.per_page)
    px = RASTER_DPI / 25.4
    found = []
    for index in range(count):
        page, left, top = size.cell(index)
        right, bottom = left + size.label[0], top + size.label[1]
        cut = pages[page].crop(
            (round(left * px), round(top * px), round(right * px), round(bottom * px))
        )
        codes = zxingcpp.read_barcodes(
            cut, text_mode=zxingcpp.TextMode.Plain, try_rotate=False, try_downscale=False
        )
        assert len(codes) == 1, f"label {index}: {[c.text for c in codes]}"
        frame = (codes[0].symbology_identifier + codes[0].text).encode()
        found.append(decode(frame, reference_year=YEAR))
    return found


def test_the_command_sheet_has_every_command_the_gateway_reads() -> None:
    assert [name for name, _ in COMMANDS] == [c.value for c in Command]


# -- PDF, scanned back ------------------------------------------------------------------

KINDS = [
    ("locations", "code128"),
    ("locations", "datamatrix"),
    ("locations", "qr"),
    ("products", "gtin"),
    ("products", "gs1-128"),
    ("products", "gs1-datamatrix"),
    ("commands", "code128"),
    ("commands", "datamatrix"),
    ("commands", "qr"),
]


def expected(req: LabelRequest) -> list[Decoded]:
    if req.kind is LabelKind.LOCATIONS:
        return [LocationScan(code=LocationCode(place.code)) for place in LOCATIONS]
    if req.kind is LabelKind.COMMANDS:
        return list(COMMAND_SCANS)
    if req.symbol == "gtin":
        return list(GTIN_SCANS)
    symbology = Symbology.GS1_128 if req.symbol == "gs1-128" else Symbology.GS1_DATAMATRIX
    return [
        ProductScan(symbology, gtin=scan.gtin, lot="L-7/B", expiry=EXPIRY) for scan in GTIN_SCANS
    ]


@needs_pdftoppm
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize(("kind", "symbol"), KINDS)
def test_every_pdf_label_scans_back_as_what_the_gateway_reads(
    kind: str, symbol: str, size: str, tmp_path: Path
) -> None:
    gs1 = {"lot": "L-7/B", "expiry": EXPIRY} if symbol.startswith("gs1") else {}
    req = request(kind, symbol=symbol, size=size, **gs1)
    labels = labels_for(req)
    pdf = render_pdf(labels, req.size)
    assert pdf.startswith(b"%PDF-")
    assert scanned(pdf, req.size, len(labels), tmp_path) == expected(req)


@needs_pdftoppm
@pytest.mark.parametrize("symbol", [Symbol.GS1_128, Symbol.GS1_DATAMATRIX])
def test_gs1_fields_after_a_lot_are_separated_by_a_real_fnc1(
    symbol: Symbol, tmp_path: Path
) -> None:
    elements = (("01", "05012345678900"), ("10", "ABC123"), ("17", "270331"), ("21", "S1"))
    label = Label(symbol, "", "(01)05012345678900(10)ABC123(17)270331(21)S1", elements=elements)
    assert [sep for _, _, sep in label.gs1_segments] == [False, True, False, False]
    size = SIZES["100x50"]
    pages = rasterise(render_pdf([label], size), tmp_path)
    (code,) = zxingcpp.read_barcodes(pages[0], text_mode=zxingcpp.TextMode.Plain)
    assert code.text == "0105012345678900" + "10ABC123\x1d" + "17270331" + "21S1"
    assert decode((code.symbology_identifier + code.text).encode()) == ProductScan(
        Symbology.GS1_128 if symbol is Symbol.GS1_128 else Symbology.GS1_DATAMATRIX,
        gtin=Gtin("05012345678900"),
        lot="ABC123",
        expiry=EXPIRY,
        serial="S1",
    )


@needs_pdftoppm
def test_a_sheet_fills_page_after_page(tmp_path: Path) -> None:
    places = [LocationEntry(f"R-{n:02d}") for n in range(25)]
    req = request("locations")
    labels = location_labels(req, places)
    found = scanned(render_pdf(labels, req.size), req.size, len(labels), tmp_path)
    assert found == [LocationScan(code=LocationCode(p.code)) for p in places]


def test_a_code_too_long_for_the_label_is_refused_with_a_hint() -> None:
    long_place = [LocationEntry("L" * 40)]
    req = request("locations", size="57x32")
    with pytest.raises(
        LabelError, match=r"LOC:L+ does not fit a 57x32 label as code128: use a larger size"
    ):
        render_pdf(location_labels(req, long_place), req.size)
    with pytest.raises(LabelError, match="does not fit a 57x32 label as code128"):
        zpl(location_labels(request("locations", format="zpl", size="57x32"), long_place), req.size)
    square = request("locations", size="57x32", symbol="datamatrix")
    assert render_pdf(location_labels(square, long_place), square.size).startswith(b"%PDF-")


def test_a_2d_symbol_that_cannot_hold_the_data_is_refused() -> None:
    huge = Label(Symbol.QR, "X" * 4000, "X")
    with pytest.raises(LabelError, match="X: cannot be a qr symbol"):
        render_pdf([huge], SIZES["a4"])
    with pytest.raises(LabelError, match="does not fit a 100x50 label as qr"):
        zpl([huge], SIZES["100x50"])
    crowded = Label(Symbol.DATAMATRIX, "X" * 1000, "X")
    with pytest.raises(LabelError, match="does not fit a 100x50 label as datamatrix"):
        zpl([crowded], SIZES["100x50"])
    with pytest.raises(LabelError, match="does not fit a 57x32 label as datamatrix"):
        render_pdf([Label(Symbol.DATAMATRIX, "X" * 2000, "X")], SIZES["57x32"])


def test_text_outside_helvetica_prints_as_question_marks() -> None:
    label = Label(Symbol.CODE128, "LOC:A", "LOC:A", caption="倉庫 Ω")
    assert render_pdf([label], SIZES["100x50"]).startswith(b"%PDF-")


# -- what each label says ------------------------------------------------------------


def test_product_labels_use_the_unit_gtin_and_its_retail_symbol() -> None:
    labels = product_labels(request("products"), PRODUCTS)
    assert [(label.symbol, label.data) for label in labels] == [
        (Symbol.EAN13, "5012345678900"),
        (Symbol.UPCA, "012345678905"),
        (Symbol.EAN8, "96385074"),
        (Symbol.ITF14, "15012345678907"),
    ]
    assert labels[0].caption == "Widget"
    assert labels[0].detail == "SKU WIDGET"
    assert unit_gtin(ProductEntry("X", "x", (("15012345678907", 12), ("ALIAS", 1)))) is None


def test_gs1_labels_carry_gtin_expiry_and_lot_in_that_order() -> None:
    (label,) = product_labels(request("products", lot="L1", expiry=EXPIRY), PRODUCTS[:1])
    assert label.symbol is Symbol.GS1_128
    assert label.elements == (("01", "05012345678900"), ("17", "270331"), ("10", "L1"))
    assert label.text == "(01)05012345678900(17)270331(10)L1"
    assert label.detail == "SKU WIDGET · exp 2027-03-31 · lot L1"
    (plain,) = product_labels(request("products", symbol="gs1-datamatrix"), PRODUCTS[:1])
    assert plain.elements == (("01", "05012345678900"),)
    assert plain.text == "(01)05012345678900"


def test_products_without_a_unit_gtin_are_refused_by_name() -> None:
    bare = [ProductEntry(f"B{n}", "bare", (("ALIAS", 1),)) for n in range(5)]
    with pytest.raises(LabelError, match=r"no GTIN of pack size 1 to print for B0\b"):
        product_labels(request("products"), [*PRODUCTS, bare[0]])
    with pytest.raises(LabelError, match=r"for B0, B1, B2 \(and 2 more\): add one"):
        product_labels(request("products"), bare)


def test_location_labels_say_loc_and_the_code() -> None:
    labels = location_labels(request("locations", symbol="qr"), LOCATIONS[:2])
    assert [(label.symbol, label.data, label.text) for label in labels] == [
        (Symbol.QR, "LOC:A-01", "LOC:A-01"),
        (Symbol.QR, "LOC:B-01", "LOC:B-01"),
    ]
    assert (labels[0].caption, labels[0].detail) == ("Aisle A bay 1", "zone A")
    assert (labels[1].caption, labels[1].detail) == ("", "")


def test_command_labels_can_be_chosen_and_quantities_named() -> None:
    labels = command_labels(request("commands", codes=["pick", "CMD:done", "qty:48", "QTY:1"]))
    assert [label.data for label in labels] == ["CMD:PICK", "CMD:DONE", "QTY:48", "QTY:1"]
    assert labels[2].caption == "Next scan counts 48 units"
    assert labels[3].caption == "Next scan counts 1 unit"
    for bad in ("JUMP", "QTY:0", "QTY:100001", "QTY:x", "ORD:1", "RSN:no good", "USR:a b"):
        with pytest.raises(LabelError, match="unknown command"):
            command_labels(request("commands", codes=[bad]))


def test_reason_and_badge_labels_scan_back_as_the_gateway_reads_them() -> None:
    labels = command_labels(request("commands", codes=["rsn:Damaged", "USR:W0042", "usr:ann.b"]))
    assert [label.data for label in labels] == ["RSN:damaged", "USR:W0042", "USR:ann.b"]
    assert labels[0].caption == "Reason: damaged"
    assert [decode(label.data.encode()) for label in labels] == [
        ReasonScan(ReasonCode("damaged")),
        OperatorScan(OperatorCode("W0042")),
        OperatorScan(OperatorCode("ann.b")),
    ]


def test_serial_labels_scan_back_as_the_gateway_reads_them() -> None:
    labels = command_labels(request("commands", codes=["SN:IMEI-0001", "sn:ab/7"]))
    assert [label.data for label in labels] == ["SN:IMEI-0001", "SN:ab/7"]
    assert [decode(label.data.encode()) for label in labels] == [
        SerialScan("IMEI-0001"),
        SerialScan("ab/7"),
    ]
    with pytest.raises(LabelError, match="SN:<serial of 1-64>"):
        command_labels(request("commands", codes=["SN:has space"]))


def test_too_many_labels_are_refused() -> None:
    places = [LocationEntry(f"R{n}") for n in range(MAX_LABELS + 1)]
    with pytest.raises(LabelError, match=f"{MAX_LABELS + 1} labels: at most {MAX_LABELS}"):
        location_labels(request("locations"), places)
    with pytest.raises(LabelError, match="nothing to print"):
        location_labels(request("locations"), [])


# -- the request ---------------------------------------------------------------------


def test_defaults_follow_the_kind_and_the_format() -> None:
    req = request("locations")
    assert (req.kind, req.format, req.size.name, req.symbol, req.dpi) == (
        LabelKind.LOCATIONS,
        LabelFormat.PDF,
        "a4",
        "code128",
        203,
    )
    assert request("products").symbol == "gtin"
    assert request("products", expiry=EXPIRY).symbol == "gs1-128"
    assert request("commands", format="ZPL").size.name == "100x50"
    assert request("locations", zone=" A ").zone == "A"
    assert request("locations", codes=[" A-01", "A-01", "", "B-01"]).codes == ("A-01", "B-01")
    assert parse_request("products", expiry=date(2099, 1, 1)).expiry == date(2099, 1, 1)


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("bins", {}, "unknown label kind 'bins': use locations or products or commands"),
        ("locations", {"format": "png"}, "unknown format 'png': use pdf or zpl"),
        ("locations", {"size": "a5"}, "unknown size 'a5': use a4 or letter or 100x50 or 57x32"),
        ("locations", {"format": "zpl", "size": "a4"}, "ZPL prints on label rolls: use size"),
        ("locations", {"symbol": "ean13"}, "unknown symbol for locations 'ean13': use code128"),
        ("products", {"symbol": "qr"}, "unknown symbol for products 'qr': use gtin or gs1-128"),
        ("locations", {"lot": "L1"}, "a lot and an expiry are for product labels"),
        ("products", {"symbol": "gtin", "lot": "L1"}, "EAN/UPC cannot carry a lot"),
        ("products", {"lot": "L 1"}, "lot 'L 1': 1 to 20 letters"),
        ("products", {"lot": "L" * 21}, "1 to 20 letters"),
        ("products", {"expiry": date(1970, 1, 1)}, "expiry 1970-01-01: a GS1 date is in 1977-2076"),
        ("products", {"expiry": date(2077, 1, 1)}, "a GS1 date is in 1977-2076"),
        ("commands", {"zone": "A"}, "a zone is for location and product labels"),
        ("locations", {"zone": " "}, "the zone is empty"),
        ("locations", {"codes": [" ", ""]}, "no codes given"),
        ("locations", {"zone": "A", "codes": ["A-01"]}, "give a zone or codes, not both"),
        ("locations", {"format": "zpl", "dpi": 150}, "dpi 150: use 203, 300, 600"),
    ],
)
def test_a_bad_request_is_refused_with_what_to_change(
    kind: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(LabelError, match=re.escape(message)) as raised:
        request(kind, **options)
    assert raised.value.http_status == 422
    assert "\n" not in raised.value.reason


def test_an_expiry_outside_2000_2099_is_refused_without_a_reference_year() -> None:
    with pytest.raises(LabelError, match="a GS1 date is in 2000-2099"):
        parse_request("products", expiry=date(1999, 12, 31))


def test_sheet_cells_go_across_then_down_then_to_the_next_page() -> None:
    a4 = SIZES["a4"]
    assert (a4.per_page, a4.sheet) == (21, True)
    assert a4.cell(0) == (0, 7.2, 15.15)
    assert a4.cell(1) == (0, 7.2 + 66.0, 15.15)
    assert a4.cell(3) == (0, 7.2, 15.15 + 38.1)
    assert a4.cell(21) == (1, 7.2, 15.15)
    roll = SIZES["57x32"]
    assert (roll.per_page, roll.sheet, roll.cell(5)) == (1, False, (5, 0.0, 0.0))


# -- ZPL -------------------------------------------------------------------------------


def formats(text: str) -> list[str]:
    """The label formats of a ZPL document; nothing outside ``^XA…^XZ``."""
    assert re.fullmatch(r"(\^XA\n.*?\^XZ\n)+", text, re.DOTALL), text
    found = re.findall(r"\^XA\n(.*?)\^XZ\n", text, re.DOTALL)
    assert all("^XA" not in f and "^XZ" not in f for f in found)
    return found


def field_data(zpl_format: str, command: str) -> list[str]:
    return re.findall(re.escape(command) + r"[^\^]*(?:\^FH\\)?\^FD(.*?)\^FS", zpl_format)


@pytest.mark.parametrize(
    ("kind", "symbol", "command"),
    [
        ("locations", "code128", "^BC"),
        ("locations", "datamatrix", "^BX"),
        ("locations", "qr", "^BQ"),
        ("commands", "code128", "^BC"),
        ("commands", "datamatrix", "^BX"),
        ("commands", "qr", "^BQ"),
    ],
)
@pytest.mark.parametrize("dpi", [203, 300, 600])
def test_zpl_has_one_format_per_label_with_its_symbol_and_data(
    kind: str, symbol: str, command: str, dpi: int
) -> None:
    req = request(kind, format="zpl", symbol=symbol, size="57x32", dpi=dpi)
    labels = labels_for(req)
    found = formats(zpl(labels, req.size, dpi))
    assert len(found) == len(labels)
    dpmm = {203: 8, 300: 12, 600: 24}[dpi]
    for label, zpl_format in zip(labels, found, strict=True):
        assert f"^PW{57 * dpmm}\n^LL{32 * dpmm}\n" in zpl_format
        assert "^CI28" in zpl_format
        data = label.data.replace("_", "__") if symbol == "datamatrix" else label.data
        expected_data = f"MA,{data}" if symbol == "qr" else data
        assert field_data(zpl_format, command) == [expected_data]
        assert f"^FD{label.text}^FS" in zpl_format


def test_zpl_products_use_the_retail_commands_without_the_check_digit() -> None:
    req = request("products", format="zpl")
    found = formats(zpl(product_labels(req, PRODUCTS), req.size))
    assert [field_data(f, c) for f, c in zip(found, ("^BE", "^BU", "^B8", "^B2"), strict=True)] == [
        ["501234567890"],
        ["01234567890"],
        ["9638507"],
        ["15012345678907"],
    ]
    assert "^BY4,3" in found[3]  # ITF-14: wide bars three times the narrow ones


def test_zpl_gs1_has_fnc1_first_and_after_a_variable_field() -> None:
    elements = (("01", "05012345678900"), ("10", "A>B_C"), ("17", "270331"))
    (bars,) = formats(zpl([Label(Symbol.GS1_128, "", "x", elements=elements)], SIZES["100x50"]))
    assert field_data(bars, "^BC") == [">;>80105012345678900" + "10A><B_C>8" + "17270331"]
    assert "N,N,N,A^FH" in bars  # automatic code sets, no printed interpretation line
    (matrix,) = formats(
        zpl([Label(Symbol.GS1_DATAMATRIX, "", "x", elements=elements)], SIZES["100x50"])
    )
    assert field_data(matrix, "^BX") == ["_10105012345678900" + "10A>B__C_1" + "17270331"]
    # ECC 200, underscore escapes (as Zebra advises for GS1), modules of at most 1.5 mm
    assert re.search(r"\^BXN,(?:[1-9]|1[0-2]),200,,,,_\^", matrix)
    req = request("products", format="zpl", lot="L1", expiry=EXPIRY)
    (label,) = formats(zpl(product_labels(req, PRODUCTS[:1]), req.size))
    assert field_data(label, "^BC") == [">;>8010501234567890017270331" + "10L1"]


def test_zpl_text_is_escaped_and_cut_to_the_label() -> None:
    label = Label(Symbol.CODE128, "LOC:A", "LOC:A", caption="a^b~c\\d " + "x" * 200, detail="é")
    (found,) = formats(zpl([label], SIZES["57x32"]))
    caption = re.search(r"\^FDa(.*?)\^FS", found)
    assert caption is not None
    assert caption.group(0).startswith("^FDa\\5Eb\\7Ec\\5Cd x")
    assert caption.group(0).endswith("…^FS")
    assert "^FDé^FS" in found  # UTF-8, as ^CI28 says


def test_zpl_refuses_sheets() -> None:
    with pytest.raises(LabelError, match="ZPL prints on label rolls, not a4 sheets"):
        zpl(command_labels(request("commands")), SIZES["a4"])
