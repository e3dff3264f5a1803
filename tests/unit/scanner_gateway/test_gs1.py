"""GS1 element strings, HRI and Digital Link URIs to ``Decoded``. Pure."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner_gateway.decoded import Decoded
from scanner_gateway.decoded import LocationScan
from scanner_gateway.decoded import ProductScan
from scanner_gateway.decoded import RejectReason
from scanner_gateway.decoded import ScanRejected
from scanner_gateway.decoded import Symbology
from scanner_gateway.gs1 import GS
from scanner_gateway.gs1 import decode_digital_link
from scanner_gateway.gs1 import decode_element_string
from scanner_gateway.gs1 import decode_hri
from scanner_gateway.gs1 import is_digital_link
from scanner_gateway.gs1 import parse_date
from stock_core.types import Gtin

GTIN = Gtin("09506000134352")
SSCC = "106141411234567897"
GLN = "5901234123457"
SYM = Symbology.GS1_128


def product(**fields: object) -> ProductScan:
    return ProductScan(symbology=SYM, gtin=GTIN, **fields)  # type: ignore[arg-type]


def reason(decoded: Decoded) -> RejectReason | None:
    return decoded.reason if isinstance(decoded, ScanRejected) else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"01{GTIN}", product()),
        (f"{GS}01{GTIN}", product()),
        (f"01{GTIN}10ABC123{GS}17251231", product(lot="ABC123", expiry=date(2025, 12, 31))),
        (f"01{GTIN}17251231{GS}10LOT7", product(lot="LOT7", expiry=date(2025, 12, 31))),
        (f"01{GTIN}17250200", product(expiry=date(2025, 2, 28))),
        (f"01{GTIN}17240200", product(expiry=date(2024, 2, 29))),
        (f"01{GTIN}21SER1{GS}3012{GS}", product(serial="SER1", count=12)),
        (f"01{GTIN}3012{GS}3799", product(count=12)),
        (f"01{GTIN}3103001250", product()),
        (f"01{GTIN}91INTERNAL{GS}99X", product()),
        (f"01{GTIN}15260101", product()),
        (f"00{SSCC}02{GTIN}3724{GS}", product(count=24)),
        (f"02{GTIN}3724{GS}3012", product(count=24)),
        (f"02{GTIN}", product()),
        (f"01{GTIN}01{GTIN}", product()),
        (f"414{GLN}", LocationScan(gln=GLN)),
        (f"414{GLN}254A1", LocationScan(gln=GLN)),
    ],
)
def test_element_strings_are_decoded(text: str, expected: Decoded) -> None:
    assert decode_element_string(text, SYM) == expected


@pytest.mark.parametrize(
    ("text", "expected", "detail"),
    [
        (f"01{GTIN[:-1]}1", RejectReason.BAD_CHECK_DIGIT, "GTIN 09506000134351"),
        (f"02{GTIN[:-1]}3", RejectReason.BAD_CHECK_DIGIT, "should be 2"),
        (f"00{SSCC[:-1]}0", RejectReason.BAD_CHECK_DIGIT, "SSCC"),
        (f"414{GLN[:-1]}9", RejectReason.BAD_CHECK_DIGIT, "GLN"),
        (f"01{GTIN}17251331", RejectReason.BAD_DATE, "AI 17"),
        (f"01{GTIN}17250230", RejectReason.BAD_DATE, "250230"),
        (f"01{GTIN}11250001", RejectReason.BAD_DATE, "AI 11"),
        (f"01{GTIN}172512", RejectReason.BAD_GS1, "AI 17"),
        (f"01{GTIN[:10]}", RejectReason.BAD_GS1, "truncated"),
        (f"01{GTIN}23X", RejectReason.BAD_GS1, "no known AI"),
        (f"01{GTIN}10{GS}", RejectReason.BAD_GS1, "AI 10"),
        (f"01{GTIN}10ABC#", RejectReason.BAD_GS1, "no known AI"),
        (f"01{GTIN}10Ä", RejectReason.BAD_GS1, "ASCII"),
        (GS, RejectReason.BAD_GS1, "no data"),
        (f"01{GTIN}300{GS}", RejectReason.BAD_QUANTITY, "AI 30"),
        (f"01{GTIN}30{GS}", RejectReason.BAD_QUANTITY, "AI 30"),
        (f"02{GTIN}37100001", RejectReason.BAD_QUANTITY, "AI 37"),
        (f"01{GTIN}01{GTIN[:-1]}1", RejectReason.BAD_GS1, "twice"),
        (f"00{SSCC}", RejectReason.UNRECOGNISED, "SSCC pallet labels"),
        (f"00{SSCC}414{GLN}", RejectReason.UNRECOGNISED, "SSCC pallet labels"),
        ("10LOT", RejectReason.UNRECOGNISED, "without a GTIN"),
    ],
)
def test_bad_element_strings_are_rejected_with_a_reason(
    text: str, expected: RejectReason, detail: str
) -> None:
    decoded = decode_element_string(text, SYM)
    assert isinstance(decoded, ScanRejected)
    assert decoded.reason is expected
    assert detail in decoded.detail


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"(01){GTIN}(17)251231(10)AB 12", product(lot="AB12", expiry=date(2025, 12, 31))),
        (f" (01) {GTIN} ", product()),
        ("(414)" + GLN, LocationScan(gln=GLN)),
    ],
)
def test_hri_is_decoded(text: str, expected: Decoded) -> None:
    assert decode_hri(text, SYM) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"(01){GTIN}(", RejectReason.BAD_GS1),
        (f"(01){GTIN}()x", RejectReason.BAD_GS1),
        ("(01)", RejectReason.BAD_GS1),
        (f"(0109){GTIN}", RejectReason.BAD_GS1),
        (f"(23){GTIN}", RejectReason.BAD_GS1),
        (f"(01){GTIN}(17)250231", RejectReason.BAD_DATE),
        (f"(01){GTIN}(17)2502", RejectReason.BAD_GS1),
        (f"(01){GTIN[:-1]}0", RejectReason.BAD_CHECK_DIGIT),
    ],
)
def test_bad_hri_is_rejected(text: str, expected: RejectReason) -> None:
    assert reason(decode_hri(text, SYM)) is expected


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            f"https://id.gs1.org/01/{GTIN}/10/ABC?17=251231",
            product(lot="ABC", expiry=date(2025, 12, 31)),
        ),
        (f"HTTPS://EXAMPLE.COM/SHOP/01/{GTIN}/21/S%2F1", product(serial="S/1")),
        (f"http://brand.example/01/{GTIN[1:]}?utm=x&30=5", product(count=5)),
        (
            "https://id.gs1.org/01/95060001343",
            ScanRejected(RejectReason.BAD_GS1, "AI 01: bad value '95060001343'"),
        ),
        (f"https://id.gs1.org/414/{GLN}", LocationScan(gln=GLN)),
        (
            f"https://id.gs1.org/00/{SSCC}",
            ScanRejected(RejectReason.UNRECOGNISED, "SSCC pallet labels are not supported yet"),
        ),
    ],
)
def test_digital_links_are_decoded(uri: str, expected: Decoded) -> None:
    assert is_digital_link(uri)
    assert decode_digital_link(uri, SYM) == expected


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (f"https://id.gs1.org/01/{GTIN[:-1]}9", RejectReason.BAD_CHECK_DIGIT),
        (f"https://id.gs1.org/01/{GTIN}?17=251331", RejectReason.BAD_DATE),
        (f"https://id.gs1.org/01/{GTIN}/10", RejectReason.BAD_GS1),
        (f"https://id.gs1.org/01/{GTIN}/xx/1", RejectReason.BAD_GS1),
        (f"https://id.gs1.org/01/{GTIN}/10/%C3%84", RejectReason.BAD_GS1),
        ("https://example.com/no/key/here", RejectReason.BAD_GS1),
        ("http://[::1/01/1", RejectReason.BAD_GS1),
    ],
)
def test_bad_digital_links_are_rejected(uri: str, expected: RejectReason) -> None:
    assert reason(decode_digital_link(uri, SYM)) is expected


@pytest.mark.parametrize(
    "text",
    ["https://example.com/page", "ftp://id.gs1.org/01/1", "01/x", "http://[::1/01/1"],
)
def test_other_text_is_not_a_digital_link(text: str) -> None:
    assert not is_digital_link(text)


@pytest.mark.parametrize(
    ("yymmdd", "reference_year", "expected"),
    [
        ("251231", None, date(2025, 12, 31)),
        ("991231", None, date(2099, 12, 31)),
        ("991231", 2025, date(1999, 12, 31)),
        ("751231", 2025, date(2075, 12, 31)),
        ("760101", 2025, date(1976, 1, 1)),
        ("010101", 2090, date(2101, 1, 1)),
        ("400101", 2090, date(2140, 1, 1)),
        ("410101", 2090, date(2041, 1, 1)),
        ("250200", 2025, date(2025, 2, 28)),
        ("250001", None, None),
        ("251301", None, None),
        ("250431", None, None),
        ("25123", None, None),
        ("25123x", None, None),
    ],
)
def test_dates_follow_gs1_rules(
    yymmdd: str, reference_year: int | None, expected: date | None
) -> None:
    assert parse_date(yymmdd, reference_year) == expected


def test_reference_year_reaches_the_expiry() -> None:
    decoded = decode_element_string(f"01{GTIN}17991231", SYM, reference_year=2025)
    assert decoded == product(expiry=date(1999, 12, 31))


_AI_PIECES = st.sampled_from(
    [
        f"01{GTIN}",
        f"02{GTIN}",
        f"00{SSCC}",
        f"414{GLN}",
        "17251231",
        "17251340",
        "10AB",
        "21",
        "30",
        "37",
        "3103",
        "91",
        "99",
        "0",
        "1",
        "Ä",
        GS,
        "00",
        "01",
    ]
)


@given(st.lists(_AI_PIECES | st.text(alphabet="0123456789", max_size=20), max_size=8))
def test_near_valid_element_strings_never_raise(pieces: list[str]) -> None:
    decoded = decode_element_string("".join(pieces), SYM)
    if isinstance(decoded, ProductScan):
        assert decoded.gtin is not None
        assert len(decoded.gtin) == 14


@given(st.text(max_size=80))
def test_any_text_never_raises(text: str) -> None:
    decode_element_string(text, SYM)
    decode_hri(text, SYM)
    decode_digital_link(text, SYM)
    if is_digital_link(text):
        decode_digital_link(text, SYM)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["01", "10", "17", "21", "414", "00", "99", "x"]),
            st.text(alphabet="0123456789AB%/?&=", max_size=16),
        ),
        max_size=4,
    )
)
def test_near_valid_digital_links_never_raise(pairs: list[tuple[str, str]]) -> None:
    path = "/".join(f"{ai}/{value}" for ai, value in pairs)
    decode_digital_link(f"https://id.gs1.org/{path}", SYM)


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("010950600013435210ABC12321SN0001", "21"),
        ("01095060001343521024A717251231", "17"),
        ("010950600013435221SER12310ABCD", "10"),
    ],
)
def test_a_variable_field_that_swallows_another_without_fnc1_is_refused(
    text: str, hidden: str
) -> None:
    decoded = decode_element_string(text, Symbology.GS1_128)
    assert isinstance(decoded, ScanRejected)
    assert decoded.reason is RejectReason.BAD_GS1
    assert f"may hold AI {hidden}" in decoded.detail
    assert "FNC1" in decoded.detail


@pytest.mark.parametrize(
    ("text", "lot"),
    [
        ("010950600013435210LOT42", "LOT42"),  # nothing well formed hides in it
        ("010950600013435210L2110", "L2110"),  # a two-character serial is not plausible
        ("0109506000134352\x1d10ABC12321SN0001", "ABC12321SN0001"),  # FNC1 is sent: trusted
        ("0109506000134352172512311024A7", "24A7"),
        ("010950600013435210R100-0", "R100-0"),  # a lot cannot hide a second lot
        ("010950600013435210A21XYZ", "A21XYZ"),  # a three-character serial: too short
    ],
)
def test_a_last_variable_field_stands_when_nothing_plausible_hides_in_it(
    text: str, lot: str
) -> None:
    decoded = decode_element_string(text, Symbology.GS1_128)
    assert isinstance(decoded, ProductScan)
    assert decoded.lot == lot
