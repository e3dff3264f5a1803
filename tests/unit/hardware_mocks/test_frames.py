from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware_mocks.frames import DATALOGIC
from hardware_mocks.frames import GENERIC_BEL
from hardware_mocks.frames import GS
from hardware_mocks.frames import HONEYWELL
from hardware_mocks.frames import PRESETS
from hardware_mocks.frames import TERMINATORS
from hardware_mocks.frames import ZEBRA
from hardware_mocks.frames import Aim
from hardware_mocks.frames import corrupt_check_digit
from hardware_mocks.frames import digital_link
from hardware_mocks.frames import ean8
from hardware_mocks.frames import ean13
from hardware_mocks.frames import frame
from hardware_mocks.frames import gs1_date
from hardware_mocks.frames import gs1_element_string
from hardware_mocks.frames import gs1_from_hri
from hardware_mocks.frames import gtin14
from hardware_mocks.frames import guess_aim
from hardware_mocks.frames import terminator_name
from hardware_mocks.frames import upca
from hardware_mocks.frames import with_check_digit
from stock_core.domain.gtin import is_valid_gtin

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


def test_ean13_adds_the_gs1_check_digit() -> None:
    assert ean13("400638133393") == "4006381333931"
    assert ean13("501234567890") == "5012345678900"


def test_ean8_and_upca_add_the_check_digit() -> None:
    assert ean8("9638507") == "96385074"
    assert upca("03600029145") == "036000291452"
    assert with_check_digit("1234567") == "12345670"


@pytest.mark.parametrize("body", ["40063813339", "4006381333931", "40063813339x", ""])
def test_ean13_refuses_a_body_that_is_not_12_digits(body: str) -> None:
    with pytest.raises(ValueError, match="digits"):
        ean13(body)


def test_gtin14_with_indicator_zero_pads_the_item_gtin() -> None:
    assert gtin14("5012345678900") == "05012345678900"
    assert gtin14("96385074") == "00000096385074"


def test_gtin14_with_an_indicator_gets_a_new_check_digit() -> None:
    assert gtin14("5012345678900", indicator=1) == "15012345678907"
    assert gtin14("05012345678900", indicator=1) == "15012345678907"


@pytest.mark.parametrize(
    ("code", "indicator", "message"),
    [("501234567890", 10, "indicator"), ("12345", 0, "8, 12, 13 or 14"), ("abc", 0, "digits")],
)
def test_gtin14_refuses_bad_input(code: str, indicator: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gtin14(code, indicator)


@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.integers(0, 9))
def test_gtin14_is_always_a_valid_gtin(body: str, indicator: int) -> None:
    code = gtin14(ean13(body), indicator)
    assert len(code) == 14
    assert is_valid_gtin(code)


@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.integers(1, 9))
def test_corrupt_check_digit_always_breaks_the_check(body: str, delta: int) -> None:
    assert not is_valid_gtin(corrupt_check_digit(ean13(body), delta))


def test_corrupt_check_digit_refuses_a_delta_outside_one_to_nine() -> None:
    with pytest.raises(ValueError, match="delta"):
        corrupt_check_digit("5012345678900", 10)


def test_gs1_date_is_yymmdd() -> None:
    assert gs1_date(date(2026, 12, 31)) == "261231"


def test_gs1_element_string_separates_only_variable_length_fields() -> None:
    text = gs1_element_string(
        [("01", "15012345678907"), ("10", "LOT42"), ("17", "261231"), ("21", "S1"), ("37", "12")]
    )
    assert text == f"011501234567890710LOT42{GS}1726123121S1{GS}3712"


def test_gs1_element_string_needs_no_separator_after_fixed_length_fields() -> None:
    assert gs1_element_string([("00", "123456789012345675"), ("3103", "001250")]) == (
        "001234567890123456753103001250"
    )
    assert gs1_element_string([("414", "5012345000016"), ("30", "5")]) == "4145012345000016305"


@pytest.mark.parametrize(
    ("ais", "message"),
    [
        ([], "at least one"),
        ([("01", "123")], "takes 14"),
        ([("1", "A")], "2 to 4"),
        ([("1x", "A")], "digits"),
        ([("10", "")], "printable"),
        ([("10", f"A{GS}B")], "printable"),
        ([("10", "A\nB")], "printable"),
    ],
)
def test_gs1_element_string_refuses_malformed_fields(
    ais: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        gs1_element_string(ais)


def test_gs1_from_hri_builds_the_element_string() -> None:
    assert gs1_from_hri("(01)15012345678907(10)LOT42(17)261231") == (
        f"011501234567890710LOT42{GS}17261231"
    )


@pytest.mark.parametrize("hri", ["01)15012345678907", "(0115012345678907"])
def test_gs1_from_hri_refuses_malformed_text(hri: str) -> None:
    with pytest.raises(ValueError, match=r"'\('|unclosed"):
        gs1_from_hri(hri)


def test_digital_link_puts_lot_and_serial_in_the_path_and_expiry_in_the_query() -> None:
    assert digital_link("5012345678900") == "https://id.gs1.org/01/05012345678900"
    assert (
        digital_link("5012345678900", "LOT 1/2", date(2026, 12, 31), serial="S9")
        == "https://id.gs1.org/01/05012345678900/10/LOT%201%2F2/21/S9?17=261231"
    )
    assert (
        digital_link("05012345678900", expiry="261231", host="https://example.com/")
        == "https://example.com/01/05012345678900?17=261231"
    )


@pytest.mark.parametrize(("gtin", "message"), [("12345", "8, 12"), ("1234567x", "digits")])
def test_digital_link_refuses_a_bad_gtin(gtin: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        digital_link(gtin)


@pytest.mark.parametrize(
    ("text", "aim"),
    [
        ("5012345678900", Aim.EAN13),
        ("036000291452", Aim.EAN13),
        ("96385074", Aim.EAN8),
        ("15012345678907", Aim.ITF),
        ("011501234567890717261231", Aim.GS1_128),
        (f"011501234567890710LOT{GS}17261231", Aim.GS1_128),
        ("https://id.gs1.org/01/05012345678900", Aim.QR),
        ("LOC:A-01", Aim.CODE128),
        ("12345", Aim.CODE128),
    ],
)
def test_guess_aim_names_the_likely_symbology(text: str, aim: Aim) -> None:
    assert guess_aim(text) == aim


def test_frame_is_prefix_data_and_terminator() -> None:
    assert frame("5012345678900", aim="]E0", terminator=b"\r\n") == b"]E05012345678900\r\n"
    assert frame("LOC:A", terminator=b"") == b"LOC:A"
    assert frame("LOC:A") == b"LOC:A\r"


def test_frame_refuses_a_malformed_aim_identifier() -> None:
    with pytest.raises(ValueError, match="AIM"):
        frame("x", aim="E0")


def test_terminator_names_match_the_gateway_settings() -> None:
    assert {name: terminator_name(value) for name, value in TERMINATORS.items()} == {
        name: name for name in TERMINATORS
    }
    with pytest.raises(ValueError, match="no terminator"):
        terminator_name(b"\r\r")


def test_honeywell_frames_carry_aim_and_crlf() -> None:
    assert HONEYWELL.frame("5012345678900") == b"]E05012345678900\r\n"
    assert HONEYWELL.frame("LOC:A", aim=False) == b"LOC:A\r\n"
    assert HONEYWELL.frame("LOC:A", aim="]Q1", terminator=b"") == b"]Q1LOC:A"
    assert HONEYWELL.terminator_name == "CRLF"


def test_models_without_aim_send_bare_data_unless_asked() -> None:
    assert ZEBRA.frame("5012345678900") == b"5012345678900\r"
    assert ZEBRA.frame("5012345678900", aim=True) == b"]E05012345678900\r"
    assert GENERIC_BEL.frame("LOC:A") == b"LOC:A\n"


def test_presets_document_their_feedback_bytes() -> None:
    assert PRESETS == {
        "honeywell": HONEYWELL,
        "zebra": ZEBRA,
        "datalogic": DATALOGIC,
        "generic-bel": GENERIC_BEL,
    }
    assert (HONEYWELL.ack, HONEYWELL.nak, HONEYWELL.baudrate) == (b"\x1b7,", b"\x1b8,", 115200)
    assert (DATALOGIC.ack, DATALOGIC.nak, DATALOGIC.baudrate) == (b"\x06", b"\x15", 9600)
    assert (ZEBRA.ack, ZEBRA.nak, ZEBRA.baudrate) == (None, b"\x07", 9600)
    assert (GENERIC_BEL.ack, GENERIC_BEL.nak) == (None, b"\x07")
    assert all((m.bytesize, m.parity, m.stopbits) == (8, "N", 1) for m in PRESETS.values())


def test_a_model_can_be_customised_with_replace() -> None:
    custom = dataclasses.replace(HONEYWELL, terminator=b"\t", aim=False)
    assert custom.frame("X") == b"X\t"
    assert custom.terminator_name == "TAB"
