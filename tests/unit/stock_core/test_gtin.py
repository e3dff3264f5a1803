"""GTIN check digits, validation, normalisation and UPC-E expansion (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stock_core.domain.gtin import GTIN_LENGTHS
from stock_core.domain.gtin import check_digit
from stock_core.domain.gtin import expand_upce
from stock_core.domain.gtin import is_valid_gtin
from stock_core.domain.gtin import normalize_gtin

_digits = st.text(alphabet="0123456789", min_size=1, max_size=20)


@st.composite
def _valid_gtins(draw: st.DrawFn) -> str:
    length = draw(st.sampled_from(sorted(GTIN_LENGTHS)))
    body = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    return body + str(check_digit(body))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("501234567890", 0),  # EAN-13 05012345678900 (well known sample)
        ("400638133393", 1),  # EAN-13 4006381333931
        ("9638507", 4),  # EAN-8 96385074
        ("03600029145", 2),  # UPC-A 036000291452
        ("1501234567890", 7),  # GTIN-14 15012345678907
        ("0", 0),
        ("1", 7),
    ],
)
def test_check_digit_matches_published_examples(body: str, expected: int) -> None:
    assert check_digit(body) == expected


@pytest.mark.parametrize("body", ["", "12a4", "١٢٣", "12 3", "-12"])
def test_check_digit_refuses_anything_but_ascii_digits(body: str) -> None:
    with pytest.raises(ValueError, match="not digits"):
        check_digit(body)


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("05012345678900", True),
        ("4006381333931", True),
        ("036000291452", True),
        ("96385074", True),
        ("05012345678901", False),  # wrong check digit
        ("4006381333930", False),
        ("9638507", False),  # 7 digits
        ("123456789012345", False),  # 15 digits
        ("", False),
        ("4006381333a31", False),
        ("٤٠٠٦٣٨١٣٣٣٩٣١", False),  # Arabic-Indic digits are not GTIN digits
    ],
)
def test_is_valid_gtin(code: str, valid: bool) -> None:
    assert is_valid_gtin(code) is valid


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("96385074", "00000096385074"),
        ("036000291452", "00036000291452"),
        ("4006381333931", "04006381333931"),
        ("15012345678907", "15012345678907"),
    ],
)
def test_normalize_gtin_pads_every_length_to_fourteen(code: str, expected: str) -> None:
    assert normalize_gtin(code) == expected


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("4006381333A31", "digits only"),
        ("", "digits only"),
        ("٤٠٠٦٣٨١٣٣٣٩٣١", "digits only"),
        ("1234567", "8, 12, 13 or 14 digits, not 7"),
        ("123456789012345", "8, 12, 13 or 14 digits, not 15"),
        ("4006381333930", "bad GTIN check digit: 0 given, 1 expected"),
    ],
)
def test_normalize_gtin_names_the_problem(code: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalize_gtin(code)


@pytest.mark.parametrize(
    ("upce", "upca"),
    [
        ("01234565", "012345000065"),  # last digit 5-9: manufacturer 5 digits
        ("04252614", "042100005264"),  # last digit 0-2
        ("01234531", "012300000451"),  # last digit 3
        ("01234541", "012340000051"),  # last digit 4  (wrong check carried over)
        ("11234560", "112345000060"),  # number system 1
    ],
)
def test_expand_upce_follows_each_last_digit_rule(upce: str, upca: str) -> None:
    assert expand_upce(upce) == upca


def test_expand_upce_carries_the_check_digit_so_real_codes_validate() -> None:
    assert is_valid_gtin(expand_upce("04252614"))
    assert is_valid_gtin(expand_upce("01234565"))


@pytest.mark.parametrize("code", ["21234565", "0123456", "012345678", "0123456a", "٠١٢٣٤٥٦٥"])
def test_expand_upce_refuses_what_is_not_upce(code: str) -> None:
    with pytest.raises(ValueError, match="UPC-E"):
        expand_upce(code)


@given(_digits)
def test_appending_the_check_digit_always_validates(body: str) -> None:
    code = body + str(check_digit(body))
    if len(code) in GTIN_LENGTHS:
        assert is_valid_gtin(code)
    assert 0 <= check_digit(body) <= 9


@given(_digits, st.integers(min_value=1, max_value=9))
def test_changing_the_check_digit_breaks_it(body: str, shift: int) -> None:
    wrong = (check_digit(body) + shift) % 10
    assert not is_valid_gtin(body + str(wrong))


@given(_valid_gtins())
def test_normalize_gtin_of_any_valid_gtin_is_it_zero_padded(code: str) -> None:
    normal = normalize_gtin(code)
    assert normal == code.rjust(14, "0")
    assert is_valid_gtin(normal)
    assert normalize_gtin(normal) == normal
