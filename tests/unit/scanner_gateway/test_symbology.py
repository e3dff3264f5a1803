"""decode(): one frame to exactly one ``Decoded`` variant, never an exception."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
from scanner_gateway.symbology import decode
from stock_core.types import Gtin
from stock_core.types import LocationCode
from stock_core.types import OperatorCode
from stock_core.types import OrderNumber
from stock_core.types import PurchaseOrderNumber
from stock_core.types import ReasonCode
from stock_core.types import Sku
from stock_core.types import TransferNumber

GTIN = Gtin("09506000134352")
DECODED_TYPES = (
    ProductScan,
    LocationScan,
    QuantityScan,
    CommandScan,
    OrderScan,
    PurchaseOrderScan,
    OperatorScan,
    ReasonScan,
    SerialScan,
    TransferScan,
    ScanRejected,
)


def by_gtin(symbology: Symbology, gtin: str = GTIN, **fields: object) -> ProductScan:
    return ProductScan(symbology=symbology, gtin=Gtin(gtin), **fields)  # type: ignore[arg-type]


def alias(symbology: Symbology, text: str) -> ProductScan:
    return ProductScan(symbology=symbology, alias=text)


def reason(decoded: Decoded) -> RejectReason | None:
    return decoded.reason if isinstance(decoded, ScanRejected) else None


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        # AIM identifiers
        (b"]E05901234123457", by_gtin(Symbology.EAN13, "05901234123457")),
        (b"]E00012345678905", by_gtin(Symbology.UPCA, "00012345678905")),
        (b"]E0012345678905", by_gtin(Symbology.UPCA, "00012345678905")),
        (b"]E004252614", by_gtin(Symbology.UPCE, "00042100005264")),
        (b"]E0123456", ScanRejected(RejectReason.UNRECOGNISED, "EAN/UPC ]E0 with 6 digits")),
        (b"]E3590123412345712", by_gtin(Symbology.EAN13, "05901234123457")),
        (b"]E3590123412345712345", by_gtin(Symbology.EAN13, "05901234123457")),
        (b"]E412345670", by_gtin(Symbology.EAN8, "00000012345670")),
        (b"]E41234567", ScanRejected(RejectReason.UNRECOGNISED, "EAN/UPC ]E4 with 7 digits")),
        (b"]I109506000134352", by_gtin(Symbology.ITF14)),
        (b"]I0123456", alias(Symbology.ITF, "123456")),
        (b"]C01234567890128", alias(Symbology.CODE128, "1234567890128")),
        (b"]C0PALLET-7", alias(Symbology.CODE128, "PALLET-7")),
        (b"]A0ABC-123", alias(Symbology.CODE39, "ABC-123")),
        (b"]L2XYZ", alias(Symbology.UNKNOWN, "XYZ")),
        (b"]d1HELLO", alias(Symbology.DATAMATRIX, "HELLO")),
        (
            b"]C1010950600013435210ABC123\x1d17251231",
            by_gtin(Symbology.GS1_128, lot="ABC123", expiry=date(2025, 12, 31)),
        ),
        (
            b"]C1\x1d010950600013435210ABC123\x1d",
            by_gtin(Symbology.GS1_128, lot="ABC123"),
        ),
        (
            b"]d2010950600013435217251231\x1d10LOT7",
            by_gtin(Symbology.GS1_DATAMATRIX, lot="LOT7", expiry=date(2025, 12, 31)),
        ),
        (b"]Q3010950600013435221S1", by_gtin(Symbology.GS1_QR, serial="S1")),
        (b"]e00109506000134352", by_gtin(Symbology.GS1_DATABAR)),
        (
            b"]Q1https://id.gs1.org/01/09506000134352/10/ABC?17=251231",
            by_gtin(Symbology.QR, lot="ABC", expiry=date(2025, 12, 31)),
        ),
        (b"]Q1https://example.com/menu", alias(Symbology.QR, "https://example.com/menu")),
        # Commands inside plain symbologies
        (b"]C0LOC:A-01-02", LocationScan(code=LocationCode("A-01-02"))),
        (b"]Q1CMD:RECEIVE", CommandScan(Command.RECEIVE)),
        (b"]C1010950600013435210ABC123", by_gtin(Symbology.GS1_128, lot="ABC123")),
        # No AIM: shape
        (b"5901234123457", by_gtin(Symbology.EAN13, "05901234123457")),
        (b"012345678905", by_gtin(Symbology.UPCA, "00012345678905")),
        (b"09506000134352", by_gtin(Symbology.ITF14)),
        (b"12345670", by_gtin(Symbology.EAN8, "00000012345670")),
        (b"04252614", by_gtin(Symbology.UPCE, "00042100005264")),
        (b"0109506000134352", by_gtin(Symbology.UNKNOWN)),
        (b"\x1d0109506000134352\x1d3712", by_gtin(Symbology.UNKNOWN, count=12)),
        (b"(01)09506000134352(10)L1", by_gtin(Symbology.UNKNOWN, lot="L1")),
        (b"https://id.gs1.org/01/09506000134352", by_gtin(Symbology.UNKNOWN)),
        (b"123456", alias(Symbology.UNKNOWN, "123456")),
        (b"  WIDGET 9 \r\n", alias(Symbology.UNKNOWN, "WIDGET 9")),
        (b"Gr\xc3\xb6\xc3\x9fe-M", alias(Symbology.UNKNOWN, "Größe-M")),
        (b"NOTE:hello", alias(Symbology.UNKNOWN, "NOTE:hello")),
        (b"(SPARE) 7", alias(Symbology.UNKNOWN, "(SPARE) 7")),
        # The scan language
        (b"LOC:A-01", LocationScan(code=LocationCode("A-01"))),
        (b"loc:  Dock 1  ", LocationScan(code=LocationCode("Dock 1"))),
        (b"QTY:12", QuantityScan(12)),
        (b"Qty:000100000", QuantityScan(100000)),
        (b"QTY:1", QuantityScan(1)),
        (b"CMD:PICK", CommandScan(Command.PICK)),
        (b"cmd:undo", CommandScan(Command.UNDO)),
        (b"CMD:LOGOUT", CommandScan(Command.LOGOUT)),
        (b"CMD:RETURN", CommandScan(Command.RETURN)),
        (b"cmd:scrap", CommandScan(Command.SCRAP)),
        (b"USR:ann.b-7", OperatorScan(OperatorCode("ann.b-7"))),
        (b"usr: W0042 ", OperatorScan(OperatorCode("W0042"))),
        (b"RSN:damaged", ReasonScan(ReasonCode("damaged"))),
        (b"rsn:Wrong_Item", ReasonScan(ReasonCode("wrong_item"))),
        (b"SN:Ab-0001/x", SerialScan("Ab-0001/x")),
        (b"sn: 356938035643809 ", SerialScan("356938035643809")),
        (b"ORD:SO-1001", OrderScan(OrderNumber("SO-1001"))),
        (b"PO:PO-77", PurchaseOrderScan(PurchaseOrderNumber("PO-77"))),
        (b"TRF:T-2026/7", TransferScan(TransferNumber("T-2026/7"))),
        (b"trf: T-1 ", TransferScan(TransferNumber("T-1"))),
        (b"SKU:BOLT-M6", ProductScan(symbology=Symbology.UNKNOWN, sku=Sku("BOLT-M6"))),
        (b"]C0SKU:BOLT-M6", ProductScan(symbology=Symbology.CODE128, sku=Sku("BOLT-M6"))),
    ],
)
def test_frames_are_decoded(frame: bytes, expected: Decoded) -> None:
    assert decode(frame) == expected


@pytest.mark.parametrize(
    ("frame", "expected", "detail"),
    [
        (b"", RejectReason.EMPTY, ""),
        (b" \r\n\t", RejectReason.EMPTY, ""),
        (b"]C0", RejectReason.EMPTY, "]C0"),
        (b"]C0   ", RejectReason.EMPTY, "]C0"),
        (b"A" * 513, RejectReason.TOO_LONG, "513 bytes"),
        (b"\xc3\x28ABC", RejectReason.GARBAGE, "baud"),
        (b"\x80\x81", RejectReason.GARBAGE, "baud"),
        (b"AB\x07C", RejectReason.GARBAGE, "control"),
        (b"AB\xe2\x80\x8bC", RejectReason.GARBAGE, "control"),
        (b"]C0AB\x1dC", RejectReason.GARBAGE, "group separator"),
        (b"]E05901234123458", RejectReason.BAD_CHECK_DIGIT, "should be 7"),
        (b"]E004252615", RejectReason.BAD_CHECK_DIGIT, "UPC-E 04252615"),
        (b"]E0ABC", RejectReason.UNRECOGNISED, "non-digits"),
        (b"]E0A", RejectReason.UNRECOGNISED, "non-digits"),
        (b"]I109506000134353", RejectReason.BAD_CHECK_DIGIT, "should be 2"),
        (b"5901234123458", RejectReason.BAD_CHECK_DIGIT, "should be 7"),
        (b"12345678", RejectReason.BAD_CHECK_DIGIT, "should be 0"),
        (b"04252615", RejectReason.BAD_CHECK_DIGIT, "should be"),
        (b"]C1010950600013435117251231", RejectReason.BAD_CHECK_DIGIT, "GTIN"),
        (b"]d2010950600013435217251332", RejectReason.BAD_DATE, "AI 17"),
        (b"]C1LOC:A-1", RejectReason.BAD_GS1, "no known AI"),
        (b"]C100106141411234567897", RejectReason.UNRECOGNISED, "SSCC"),
        (b"QTY:0", RejectReason.BAD_QUANTITY, "out of range"),
        (b"TRF:", RejectReason.BAD_TRANSFER, "TRF: empty"),
        (b"QTY:100001", RejectReason.BAD_QUANTITY, "out of range"),
        (b"QTY:" + b"9" * 400, RejectReason.BAD_QUANTITY, "out of range"),
        (b"QTY:-3", RejectReason.BAD_QUANTITY, "not a whole number"),
        (b"QTY:", RejectReason.BAD_QUANTITY, "not a whole number"),
        (b"QTY:\xd9\xa3", RejectReason.BAD_QUANTITY, "not a whole number"),
        (b"CMD:LAUNCH", RejectReason.UNKNOWN_COMMAND, "LAUNCH"),
        (b"CMD:", RejectReason.UNKNOWN_COMMAND, "''"),
        (b"LOC:", RejectReason.BAD_LOCATION, "empty"),
        (b"LOC:" + b"X" * 65, RejectReason.BAD_LOCATION, "longer than 64"),
        (b"LOC:A\x1dB", RejectReason.BAD_LOCATION, "control"),
        (b"ORD: ", RejectReason.BAD_ORDER, "empty"),
        (b"PO:", RejectReason.BAD_ORDER, "PO: empty"),
        (b"SKU:", RejectReason.BAD_SKU, "empty"),
        (b"USR:", RejectReason.BAD_OPERATOR, "not empty"),
        (b"USR:ann smith", RejectReason.BAD_OPERATOR, "not an operator code"),
        (b"USR:" + b"a" * 65, RejectReason.BAD_OPERATOR, "not an operator code"),
        (b"RSN:", RejectReason.BAD_REASON, "''"),
        (b"RSN:not-a-code", RejectReason.BAD_REASON, "not-a-code"),
        (b"RSN:" + b"x" * 33, RejectReason.BAD_REASON, "xxx"),
        (b"SN:", RejectReason.BAD_SERIAL, "1 to 64 printable characters"),
        (b"SN:a b", RejectReason.BAD_SERIAL, "without spaces"),
        (b"SN:" + b"9" * 65, RejectReason.BAD_SERIAL, "1 to 64"),
        (b"https://id.gs1.org/01/09506000134353", RejectReason.BAD_CHECK_DIGIT, "GTIN"),
        (b"(01)0950600013435", RejectReason.BAD_GS1, "AI 01"),
    ],
)
def test_bad_frames_are_rejected_with_an_actionable_reason(
    frame: bytes, expected: RejectReason, detail: str
) -> None:
    decoded = decode(frame)
    assert isinstance(decoded, ScanRejected)
    assert decoded.reason is expected
    assert detail in decoded.detail
    assert len(str(decoded)) < 120


def test_max_length_is_configurable() -> None:
    assert reason(decode(b"ABCDE", max_length=4)) is RejectReason.TOO_LONG
    assert decode(b"ABCD", max_length=4) == alias(Symbology.UNKNOWN, "ABCD")


def test_reference_year_drives_the_gs1_century() -> None:
    frame = b"]C1010950600013435217991231"
    assert decode(frame) == by_gtin(Symbology.GS1_128, expiry=date(2099, 12, 31))
    assert decode(frame, reference_year=2025) == by_gtin(
        Symbology.GS1_128, expiry=date(1999, 12, 31)
    )
    hri = b"(01)09506000134352(17)991231"
    assert decode(hri, reference_year=2025) == by_gtin(Symbology.UNKNOWN, expiry=date(1999, 12, 31))
    link = b"https://id.gs1.org/01/09506000134352?17=991231"
    assert decode(link, reference_year=2025) == by_gtin(
        Symbology.UNKNOWN, expiry=date(1999, 12, 31)
    )


def test_eight_digits_valid_as_both_ean8_and_upce_are_ean8() -> None:
    # 01234565 is a valid EAN-8; as UPC-E it would expand to 012345000065 (also valid).
    assert decode(b"01234565") == by_gtin(Symbology.EAN8, "00000001234565")
    assert decode(b"]E001234565") == by_gtin(Symbology.UPCE, "00012345000065")


@given(st.binary(max_size=600))
def test_decode_is_total_over_arbitrary_bytes(frame: bytes) -> None:
    assert isinstance(decode(frame), DECODED_TYPES)


_PIECES = st.sampled_from(
    [
        "]C1", "]C0", "]E0", "]E3", "]E4", "]d2", "]Q1", "]Q3", "]I1", "]e0", "]A0", "]",
        "01", "02", "00", "09506000134352", "106141411234567897", "414", "5901234123457",
        "10", "17", "251231", "991300", "21", "30", "37", "3103", "91", "\x1d", "(", ")",
        "LOC:", "QTY:", "CMD:", "ORD:", "PO:", "SKU:", "USR:", "RSN:", "SN:", "DONE", "https://id.gs1.org/",
        "/", "?", "=", "%", "0", "1", "8", "A", " ", "Ä", "\x00", "\x7f",
    ]
)  # fmt: skip


@given(st.lists(_PIECES | st.text(alphabet="0123456789", max_size=14), max_size=10))
def test_decode_is_total_over_near_valid_frames(pieces: list[str]) -> None:
    decoded = decode("".join(pieces).encode())
    assert isinstance(decoded, DECODED_TYPES)
    if isinstance(decoded, ProductScan):
        assert [decoded.gtin, decoded.alias, decoded.sku].count(None) == 2
        if decoded.gtin is not None:
            assert len(decoded.gtin) == 14
            assert decoded.gtin.isdigit()


@given(st.integers(-10, 200_000))
def test_quantities_are_accepted_exactly_in_range(n: int) -> None:
    decoded = decode(f"QTY:{n}".encode())
    if 1 <= n <= 100_000:
        assert decoded == QuantityScan(n)
    else:
        assert reason(decoded) is RejectReason.BAD_QUANTITY


@pytest.mark.parametrize(
    "frame",
    [b"]E04006381333931]E112", b"]E04006381333931]E212345", b"]E3400638133393112"],
)
def test_an_ean_with_its_add_on_as_two_aim_packets_reads_as_the_ean(frame: bytes) -> None:
    decoded = decode(frame)
    assert isinstance(decoded, ProductScan)
    assert decoded.gtin == Gtin("04006381333931")


@pytest.mark.parametrize(
    "frame", [b"]E04006381333931]E11", b"]E04006381333931]E21234", b"]E04006381333931]E1AB"]
)
def test_an_add_on_packet_of_the_wrong_length_is_refused(frame: bytes) -> None:
    decoded = decode(frame)
    assert isinstance(decoded, ScanRejected)
    assert decoded.reason is RejectReason.UNRECOGNISED


@pytest.mark.parametrize(
    "frame", [b"]C10109506000134352|10ABC|21SN0001", b"0109506000134352|10ABC|21SN0001"]
)
def test_a_scanner_may_send_another_character_for_fnc1(frame: bytes) -> None:
    decoded = decode(frame, gs1_separator="|")
    assert isinstance(decoded, ProductScan)
    assert (decoded.gtin, decoded.lot, decoded.serial) == ("09506000134352", "ABC", "SN0001")
    plain = decode(frame)  # without the setting, '|' is part of the lot
    assert not (isinstance(plain, ProductScan) and plain.serial == "SN0001")


def test_a_control_character_may_stand_for_fnc1_too() -> None:
    decoded = decode(b"]C10109506000134352\x1e10ABC\x1e21SN0001", gs1_separator="\x1e")
    assert isinstance(decoded, ProductScan)
    assert decoded.serial == "SN0001"
