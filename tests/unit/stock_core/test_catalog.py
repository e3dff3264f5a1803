"""Parsing products.csv and locations.csv: rows out, or every bad line with its number."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from stock_core.domain.catalog import LOCATION_COLUMNS
from stock_core.domain.catalog import PRODUCT_COLUMNS
from stock_core.domain.catalog import LocationRow
from stock_core.domain.catalog import ProductRow
from stock_core.domain.catalog import parse_barcodes
from stock_core.domain.catalog import parse_locations
from stock_core.domain.catalog import parse_operators
from stock_core.domain.catalog import parse_products
from stock_core.errors import ImportProblem
from stock_core.model import Barcode

PRODUCT_HEADER = ",".join(PRODUCT_COLUMNS)
LOCATION_HEADER = ",".join(LOCATION_COLUMNS)

_GOOD_PRODUCT = {
    "sku": "WIDGET",
    "name": "Widget",
    "barcodes": "05012345678900|15012345678907*12",
    "category": "hardware",
    "unit_cost": "2.50",
    "weight_g": "120",
    "length_mm": "50",
    "width_mm": "40",
    "height_mm": "30.5",
    "reorder_point": "10",
    "reorder_qty": "100",
    "lead_time_days": "7",
    "safety_stock": "5",
}


def products_csv(*rows: dict[str, str], header: str = PRODUCT_HEADER) -> bytes:
    """A products file: each row is the good product with some fields overridden."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([{**_GOOD_PRODUCT, **row}[c] for c in PRODUCT_COLUMNS])
    return (header + "\n" + out.getvalue()).encode()


def locations_csv(*lines: str) -> bytes:
    return "\n".join([LOCATION_HEADER, *lines, ""]).encode()


def problems_of(data: bytes) -> list[tuple[int, str]]:
    _, problems = parse_products(data)
    return [(p.line, p.reason) for p in problems]


# -- barcodes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ()),
        ("   ", ()),
        ("05012345678900", (Barcode("05012345678900"),)),
        ("5012345678900", (Barcode("05012345678900"),)),  # EAN-13 padded
        ("96385074", (Barcode("00000096385074"),)),  # EAN-8 padded
        ("036000291452", (Barcode("00036000291452"),)),  # UPC-A padded
        ("15012345678907*12", (Barcode("15012345678907", 12),)),
        (" 15012345678907 * 12 ", (Barcode("15012345678907", 12),)),
        (
            "05012345678900|15012345678907*12",
            (Barcode("05012345678900"), Barcode("15012345678907", 12)),
        ),
        ("GAD-ALIAS", (Barcode("GAD-ALIAS"),)),  # alias codes verbatim
        ("1234567", (Barcode("1234567"),)),  # 7 digits: an alias, not a GTIN
        ("12345*100000", (Barcode("12345", 100_000),)),
        ("X*1", (Barcode("X", 1),)),
    ],
)
def test_parse_barcodes_reads_codes_and_pack_sizes(
    text: str, expected: tuple[Barcode, ...]
) -> None:
    assert parse_barcodes(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("05012345678900||GAD", "empty barcode between '|' separators"),
        ("|", "empty barcode between '|' separators"),
        ("15012345678907*x", "pack size of 15012345678907 must be a whole number, not 'x'"),
        ("15012345678907*", "pack size of 15012345678907 must be a whole number"),
        ("15012345678907*-2", "must be a whole number"),
        ("15012345678907*²", "must be a whole number"),  # str.isdigit() says yes
        ("15012345678907*0", "pack size of 15012345678907 must be 1 to 100000"),
        ("15012345678907*100001", "must be 1 to 100000"),
        ("*12", "barcode '' is empty, too long or not printable"),
        ("A\tB", "is empty, too long or not printable"),
        ("X" * 129, "is empty, too long or not printable"),
        ("05012345678901", "barcode 05012345678901: bad GTIN check digit: 1 given, 0 expected"),
        ("٠٥٠١٢٣٤٥٦٧٨٩٠٠", "a GTIN has digits only"),
        ("05012345678900|5012345678900", "barcode 05012345678900 appears twice on this line"),
        ("ALIAS|ALIAS*6", "barcode ALIAS appears twice on this line"),
    ],
)
def test_parse_barcodes_refuses_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_barcodes(text)


# -- products: the happy path ------------------------------------------------------


def test_a_good_products_file_gives_typed_rows() -> None:
    rows, problems = parse_products(products_csv({}, {"sku": "BOLT", "barcodes": ""}))
    assert problems == []
    assert rows[0] == ProductRow(
        line=2,
        sku="WIDGET",
        name="Widget",
        barcodes=(Barcode("05012345678900"), Barcode("15012345678907", 12)),
        category="hardware",
        unit_cost=Decimal("2.50"),
        weight_g=Decimal(120),
        length_mm=Decimal(50),
        width_mm=Decimal(40),
        height_mm=Decimal("30.5"),
        reorder_point=10,
        reorder_qty=100,
        lead_time_days=7,
        safety_stock=5,
    )
    assert (rows[1].line, rows[1].sku, rows[1].barcodes) == (3, "BOLT", ())


def test_blank_optional_fields_become_none_or_zero() -> None:
    blank = dict.fromkeys(PRODUCT_COLUMNS[3:], "")
    (row,), problems = parse_products(products_csv({**blank, "barcodes": ""}))
    assert problems == []
    assert row.category == ""
    assert row.unit_cost == 0
    assert (row.weight_g, row.length_mm, row.width_mm, row.height_mm) == (None,) * 4
    assert (row.reorder_point, row.reorder_qty, row.lead_time_days, row.safety_stock) == (0,) * 4


def test_header_is_case_and_space_insensitive_and_columns_may_come_in_any_order() -> None:
    columns = list(reversed(PRODUCT_COLUMNS))
    header = ",".join(f" {c.upper()} " for c in columns)
    body = ",".join(_GOOD_PRODUCT[c] for c in columns)
    (row,), problems = parse_products(f"{header}\n{body}\n".encode())
    assert problems == []
    assert (row.sku, row.safety_stock, row.reorder_point) == ("WIDGET", 5, 10)


def test_bom_crlf_and_blank_lines_are_accepted() -> None:
    data = b"\xef\xbb\xbf" + products_csv({}, {"sku": "B", "barcodes": ""}).replace(b"\n", b"\r\n")
    data = data.replace(b"\r\nB,", b"\r\n\r\n , , \r\nB,")
    rows, problems = parse_products(data)
    assert problems == []
    assert [(r.line, r.sku) for r in rows] == [(2, "WIDGET"), (5, "B")]


def test_a_quoted_field_spanning_lines_is_reported_at_the_line_it_starts() -> None:
    data = products_csv({"name": "two\nlines"}, {"sku": "B", "barcodes": "", "unit_cost": "x"})
    rows, problems = parse_products(data)
    assert rows == []
    assert problems == [
        ImportProblem(2, "name has control characters"),
        ImportProblem(4, "unit_cost is not a number: 'x'"),
    ]


def test_header_only_file_is_empty_and_fine() -> None:
    assert parse_products(PRODUCT_HEADER.encode() + b"\n") == ([], [])


# -- products: every bad line, by number -------------------------------------------


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"sku": ""}, "sku is required"),
        ({"sku": "   "}, "sku is required"),
        ({"sku": "S" * 65}, "sku is longer than 64 characters"),
        ({"name": ""}, "name is required"),
        ({"name": "N" * 201}, "name is longer than 200 characters"),
        ({"name": "bad\x07bell"}, "name has control characters"),
        ({"name": "nul\x00byte"}, "name has control characters"),
        ({"category": "C" * 101}, "category is longer than 100 characters"),
        ({"unit_cost": "abc"}, "unit_cost is not a number: 'abc'"),
        ({"unit_cost": "-1"}, "unit_cost must be a number ≥ 0, not '-1'"),
        ({"unit_cost": "NaN"}, "unit_cost must be a number ≥ 0, not 'NaN'"),
        ({"unit_cost": "Infinity"}, "unit_cost must be a number ≥ 0"),
        ({"unit_cost": "1e9"}, "unit_cost is too large: '1e9'"),
        ({"weight_g": "-0.5"}, "weight_g must be a number ≥ 0"),
        ({"weight_g": "999999999.9996"}, "weight_g is too large"),  # rounds to 1e9
        ({"length_mm": "999999999.95"}, "length_mm is too large"),
        ({"width_mm": "1e400"}, "width_mm is too large"),
        ({"height_mm": "12,5"}, "height_mm is not a number: '12,5'"),
        ({"reorder_point": "-3"}, "reorder_point must be a whole number ≥ 0, not '-3'"),
        ({"reorder_qty": "2.5"}, "reorder_qty must be a whole number ≥ 0, not '2.5'"),
        ({"lead_time_days": "²"}, "lead_time_days must be a whole number ≥ 0, not '²'"),
        ({"lead_time_days": "١٢"}, "lead_time_days must be a whole number"),
        ({"safety_stock": "2147483648"}, "safety_stock is too large: '2147483648'"),
        # a lead time the forecasts could not count forward to (a date past year 9999)
        ({"lead_time_days": "3000000"}, "lead_time_days is too large: '3000000' (at most 3650)"),
        ({"lead_time_days": "3651"}, "lead_time_days is too large: '3651' (at most 3650)"),
        ({"barcodes": "05012345678901"}, "bad GTIN check digit"),
        ({"barcodes": "A||B"}, "empty barcode between '|' separators"),
    ],
)
def test_a_bad_field_is_reported_on_its_line(override: dict[str, str], reason: str) -> None:
    data = products_csv({"sku": "FIRST", "barcodes": ""}, {**override})
    rows, problems = parse_products(data)
    assert [r.sku for r in rows] == ["FIRST"]
    assert len(problems) == 1
    assert problems[0].line == 3
    assert reason in problems[0].reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("999999999.9", Decimal("999999999.9")),
        ("999999999.94", Decimal("999999999.94")),  # rounds down: fits numeric(10, 1)
        (" 0 ", Decimal(0)),
        ("1e3", Decimal(1000)),
    ],
)
def test_largest_numbers_that_fit_their_columns_are_accepted(value: str, expected: Decimal) -> None:
    (row,), problems = parse_products(products_csv({"length_mm": value}))
    assert problems == []
    assert row.length_mm == expected


def test_max_int_is_accepted() -> None:
    (row,), problems = parse_products(products_csv({"reorder_qty": "2147483647"}))
    assert problems == []
    assert row.reorder_qty == 2**31 - 1


def test_every_bad_line_is_reported_in_line_order() -> None:
    data = products_csv(
        {"sku": "A", "barcodes": "", "unit_cost": "x"},
        {"sku": "B", "barcodes": ""},
        {"sku": "C", "barcodes": "", "reorder_point": "-1"},
        {"sku": "B", "barcodes": "", "name": "again"},
        {"sku": "D", "barcodes": "12345678"},
    )
    assert problems_of(data) == [
        (2, "unit_cost is not a number: 'x'"),
        (4, "reorder_point must be a whole number ≥ 0, not '-1'"),
        (5, "duplicate sku B (first on line 3)"),
        (6, "barcode 12345678: bad GTIN check digit: 8 given, 0 expected"),
    ]


def test_duplicate_barcodes_across_lines_name_the_first_line_and_sku() -> None:
    data = products_csv(
        {"sku": "A", "barcodes": "05012345678900"},
        {"sku": "B", "barcodes": "GAD"},
        {"sku": "C", "barcodes": "5012345678900|GAD*6"},  # same GTIN in 13 digits
    )
    assert problems_of(data) == [
        (4, "barcode 05012345678900 is also on line 2 (A)"),
        (4, "barcode GAD is also on line 3 (B)"),
    ]


def test_wrong_field_counts_are_reported_and_other_lines_still_checked() -> None:
    good = products_csv({"sku": "OK", "barcodes": ""}).decode().splitlines()[1]
    data = "\n".join(
        [PRODUCT_HEADER, "A,short", good, good.replace("OK,", "X,") + ",extra", ""]
    ).encode()
    rows, problems = parse_products(data)
    assert [r.sku for r in rows] == ["OK"]
    assert problems == [
        ImportProblem(2, "2 fields, expected 13"),
        ImportProblem(4, "14 fields, expected 13"),
    ]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (
            "sku,name,barcodes",
            "missing column(s): category, unit_cost, weight_g, length_mm, width_mm, "
            "height_mm, reorder_point, reorder_qty, lead_time_days, safety_stock",
        ),
        (PRODUCT_HEADER + ",colour", "unknown column(s): colour"),
        (
            PRODUCT_HEADER.replace("name", "title"),
            "missing column(s): name; unknown column(s): title",
        ),
        (PRODUCT_HEADER + ",sku", "a column appears twice"),
    ],
)
def test_a_bad_header_is_line_one_and_stops_the_file(header: str, reason: str) -> None:
    rows, problems = parse_products(f"{header}\nA,b,c\n".encode())
    assert rows == []
    (problem,) = problems
    assert problem.line == 1
    assert problem.reason.startswith(reason)
    assert problem.reason.endswith(f"(expected {PRODUCT_HEADER})")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", ImportProblem(1, "empty file: expected a header line")),
        (b"\xef\xbb\xbf", ImportProblem(1, "empty file: expected a header line")),
        (b'"sku"x,name\n', ImportProblem(1, "unreadable CSV header: ',' expected after '\"'")),
        (b"sku,name\xff\n", ImportProblem(1, "not UTF-8 (byte 0xff)")),
    ],
)
def test_unreadable_files_are_one_problem(data: bytes, expected: ImportProblem) -> None:
    assert parse_products(data) == ([], [expected])


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_non_utf8_bytes_name_the_line_and_the_byte(bom: bytes) -> None:
    data = bom + products_csv({}, {"sku": "B", "barcodes": ""}, {"sku": "C", "barcodes": ""})
    data = data.replace(b"C,Widget", b"C,Wid\xe9get")
    assert parse_products(data) == ([], [ImportProblem(4, "not UTF-8 (byte 0xe9)")])


def test_a_broken_quote_stops_at_the_record_it_starts_on() -> None:
    data = products_csv({"sku": "A", "barcodes": ""}, {"sku": "B", "barcodes": ""}).decode()
    data = data.replace("B,Widget", 'B,"Widget') + "C,c,,,1,,,,,0,0,0,0\n"
    rows, problems = parse_products(data.encode())
    assert [r.sku for r in rows] == ["A"]
    assert problems == [ImportProblem(3, "unreadable CSV: unexpected end of data")]


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_parse_products_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    rows, problems = parse_products(data)
    assert all(p.line >= 1 and p.reason for p in problems)
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    assert all(r.sku and r.name and r.line >= 2 for r in rows)


_cells = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", "1", "-1", "2.5", "05012345678900", "A|B*2", "15012345678907*12", "NaN", "²"]
)


@settings(max_examples=300)
@given(st.lists(st.lists(_cells, min_size=12, max_size=14), max_size=6))
def test_parse_products_is_total_on_csv_shaped_input(records: list[list[str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(records)
    data = (PRODUCT_HEADER + "\n" + out.getvalue()).encode()
    rows, problems = parse_products(data)
    last_line = 1 + data.count(b"\n") + data.count(b"\r")  # quoted cells may span lines
    assert all(2 <= p.line <= last_line and p.reason for p in problems)
    assert all(2 <= r.line <= last_line for r in rows)
    assert len({r.sku for r in rows}) == len(rows)
    codes = [b.code for r in rows for b in r.barcodes]
    assert problems or len(set(codes)) == len(codes)


# -- locations ---------------------------------------------------------------------


def test_a_good_locations_file_gives_rows() -> None:
    rows, problems = parse_locations(
        locations_csv("A-01,A,Aisle A bay 1,", "B-01, B , Aisle B ,4012345000009", "x_1/2.3,,,")
    )
    assert problems == []
    assert rows == [
        LocationRow(line=2, code="A-01", zone="A", name="Aisle A bay 1", gln=None),
        LocationRow(line=3, code="B-01", zone="B", name="Aisle B", gln="4012345000009"),
        LocationRow(line=4, code="x_1/2.3", zone="", name="", gln=None),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (",A,empty code,", "location code '' must be 1-64 letters, digits"),
        ("-A,A,leading dash,", "location code '-A' must be"),
        ("A 1,A,space,", "location code 'A 1' must be"),
        ("A" * 65 + ",A,long,", "must be 1-64 letters"),
        ("É-1,A,accent,", "location code 'É-1' must be"),
        ("C-1,A,x,401234500000", "gln must be 13 digits, not '401234500000'"),
        ("C-1,A,x,40123450000AB", "gln must be 13 digits"),
        ("C-1,A,x,4012345000008", "gln 4012345000008: bad GTIN check digit: 8 given, 9 expected"),
        ("C-1,A,x,٤٠١٢٣٤٥٠٠٠٠٠٩", "gln ٤٠١٢٣٤٥٠٠٠٠٠٩: a GTIN has digits only"),
        ("C-1," + "Z" * 65 + ",x,", "zone is longer than 64 characters"),
        ("C-1,A," + "N" * 201 + ",", "name is longer than 200 characters"),
        ("C-1,A,tab\there,", "name has control characters"),
    ],
)
def test_a_bad_location_is_reported_on_its_line(line: str, reason: str) -> None:
    rows, problems = parse_locations(locations_csv("OK-1,A,fine,", line))
    assert [r.code for r in rows] == ["OK-1"]
    assert [p.line for p in problems] == [3]
    assert reason in problems[0].reason


def test_duplicate_location_codes_and_glns_are_reported() -> None:
    rows, problems = parse_locations(
        locations_csv(
            "A-01,A,,4012345000009",
            "A-02,A,,",
            "A-01,A,again,",
            "B-01,B,,4012345000009",
            "C-01,A,,extra,field",
        )
    )
    assert [r.code for r in rows] == ["A-01", "A-02", "B-01"]
    assert problems == [
        ImportProblem(4, "duplicate location code A-01 (first on line 2)"),
        ImportProblem(5, "gln 4012345000009 is also on line 2"),
        ImportProblem(6, "5 fields, expected 4"),
    ]


def test_locations_header_must_match() -> None:
    rows, problems = parse_locations(b"code,zone,name\nA-01,A,x\n")
    assert rows == []
    assert problems == [
        ImportProblem(1, "missing column(s): gln (expected code,zone,name,gln)"),
    ]


def test_locations_may_name_their_type() -> None:
    rows, problems = parse_locations(
        b"code,zone,name,gln,type\nA-01,A,,,\nQ-01,Q,,,Quarantine\nS-01,A,,,storage\n"
    )
    assert problems == []
    assert [(r.code, r.type) for r in rows] == [
        ("A-01", None),
        ("Q-01", "quarantine"),
        ("S-01", "storage"),
    ]


def test_a_location_type_other_than_storage_or_quarantine_is_refused() -> None:
    rows, problems = parse_locations(b"code,zone,name,gln,type\nA-01,A,,,bin\n")
    assert rows == []
    assert problems == [ImportProblem(2, "type must be storage or quarantine, not 'bin'")]


def test_operators_csv_is_code_and_name() -> None:
    rows, problems = parse_operators(
        b"code,name\nann,Ann Smith\nW0042, Bob \nbad code,X\nann,Again\nzed,\n"
    )
    assert [(r.line, r.code, r.name) for r in rows] == [
        (2, "ann", "Ann Smith"),
        (3, "W0042", "Bob"),
    ]
    assert [p.line for p in problems] == [4, 5, 6]
    assert "not an operator code" in problems[0].reason
    assert problems[1].reason == "duplicate operator ann (first on line 2)"
    assert "a name is 1 to 200" in problems[2].reason


def test_import_problem_renders_its_line() -> None:
    assert str(ImportProblem(7, "bad")) == "line 7: bad"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("true", True), ("False", False), ("yes", True), ("0", False), ("", None)],
)
def test_backorder_allowed_is_an_optional_column(cell: str, expected: bool | None) -> None:
    header = ",".join(PRODUCT_COLUMNS) + ",backorder_allowed\n"
    rows, problems = parse_products((header + f"S1,Thing,,,1,,,,,0,0,0,0,{cell}\n").encode())
    assert problems == []
    assert rows[0].backorder_allowed is expected
    plain, _ = parse_products((",".join(PRODUCT_COLUMNS) + "\nS1,Thing,,,1,,,,,0,0,0,0\n").encode())
    assert plain[0].backorder_allowed is None


def test_backorder_allowed_must_be_true_or_false() -> None:
    header = ",".join(PRODUCT_COLUMNS) + ",backorder_allowed\n"
    _, problems = parse_products((header + "S1,Thing,,,1,,,,,0,0,0,0,maybe\n").encode())
    assert [(p.line, p.reason) for p in problems] == [
        (2, "backorder_allowed must be true or false, not 'maybe'")
    ]
