"""GTIN check digits and normalisation (GS1 General Specifications §7.9).

EAN-8, UPC-A (12), EAN-13 and GTIN-14 are one family: left-padded with zeros to
14 digits they compare equal, which is how "GTINs match in any length" holds.
UPC-E (8 digits starting with 0 or 1) expands to UPC-A first.
"""

from __future__ import annotations

from stock_core.types import Gtin

__all__ = [
    "GTIN_LENGTHS",
    "check_digit",
    "expand_upce",
    "is_valid_gtin",
    "normalize_gtin",
]

GTIN_LENGTHS = frozenset({8, 12, 13, 14})


def check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for ``body`` (all digits but the last)."""
    if not body.isascii() or not body.isdigit():
        raise ValueError(f"not digits: {body!r}")
    total = 0
    for position, char in enumerate(reversed(body)):
        total += int(char) * (3 if position % 2 == 0 else 1)
    return (10 - total % 10) % 10


def is_valid_gtin(code: str) -> bool:
    """True for an 8, 12, 13 or 14 digit string whose check digit holds."""
    if len(code) not in GTIN_LENGTHS or not code.isascii() or not code.isdigit():
        return False
    return check_digit(code[:-1]) == int(code[-1])


def normalize_gtin(code: str) -> Gtin:
    """Pad a valid GTIN to 14 digits. Raises ``ValueError`` naming the problem."""
    if not code.isascii() or not code.isdigit():
        raise ValueError("a GTIN has digits only")
    if len(code) not in GTIN_LENGTHS:
        raise ValueError(f"a GTIN has 8, 12, 13 or 14 digits, not {len(code)}")
    expected = check_digit(code[:-1])
    if expected != int(code[-1]):
        raise ValueError(f"bad GTIN check digit: {code[-1]} given, {expected} expected")
    return Gtin(code.zfill(14))


def expand_upce(code: str) -> str:
    """Expand an 8-digit UPC-E (number system 0 or 1) to its 12-digit UPC-A.

    The check digit is carried over unchanged; validate the result with
    :func:`is_valid_gtin`. Raises ``ValueError`` for anything that is not UPC-E.
    """
    if len(code) != 8 or not code.isascii() or not code.isdigit() or code[0] not in "01":
        raise ValueError("UPC-E has 8 digits and number system 0 or 1")
    ns, d, check = code[0], code[1:7], code[7]
    last = d[5]
    if last in "012":
        body = f"{d[0:2]}{last}0000{d[2:5]}"
    elif last == "3":
        body = f"{d[0:3]}00000{d[3:5]}"
    elif last == "4":
        body = f"{d[0:4]}00000{d[4]}"
    else:
        body = f"{d[0:5]}0000{last}"
    return f"{ns}{body}{check}"
