"""Constrained field types shared by the API's pydantic models.

Strings that reach PostgreSQL never carry control characters (NUL cannot be stored at
all), and every length matches the column's CHECK, so a request that passes these
types is never refused by the database for its shape.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_DOWN
from decimal import ROUND_HALF_EVEN
from decimal import Decimal
from decimal import InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator
from pydantic import Field
from pydantic import WithJsonSchema

__all__ = [
    "DECIMAL_TEXT",
    "MAX_ID",
    "MAX_INT",
    "PRINTABLE",
    "EmailText",
    "ExpiryDate",
    "Grams",
    "Id",
    "LocationCodeText",
    "LotText",
    "Millimetres",
    "Money",
    "NoteText",
    "OperatorCodeText",
    "ReasonText",
    "SerialText",
    "ShortText",
    "SkuText",
    "Text",
    "WarehouseCodeText",
]

MAX_ID = 2**63 - 1
MAX_INT = 2**31 - 1
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
"""No ASCII control characters (the others are printable enough for a label)."""


Text = Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE)]
EmailText = Annotated[
    str,
    Field(
        min_length=3,
        max_length=254,
        pattern=r"^[^\s@\x00-\x1f\x7f]+@[^\s@\x00-\x1f\x7f]+$",
        description="An e-mail address (one @, no spaces).",
    ),
]
ShortText = Annotated[str, Field(min_length=1, max_length=64, pattern=PRINTABLE)]
"""Up to 64 printable characters: a SKU, a zone, a search."""
SkuText = ShortText
LocationCodeText = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
]
LotText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=20,
        pattern=r"^[\x20-\x7e]+$",
        description="A lot: printable ASCII, as GS1 AI 10 carries it.",
    ),
]
SerialText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[\x21-\x7e]+$",
        description="A serial number: 1 to 64 printable ASCII characters, no spaces (GS1 AI "
        "21 carries up to 20).",
    ),
]
ExpiryDate = Annotated[
    date,
    Field(
        ge=date(1970, 1, 1),
        le=date(2999, 12, 31),
        description="The lot's expiry date (GS1 AI 17); picks take the lot expiring first.",
    ),
]
NoteText = Annotated[str, Field(min_length=1, max_length=1000, pattern=PRINTABLE)]
OperatorCodeText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="An operator's badge code (scanned as USR:<code>).",
    ),
]
ReasonText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9_]{1,32}$",
        description="A reason code from the configured list ([stock] reasons; default "
        "damaged, defective, expired, wrong_item, unwanted, lost), any case.",
    ),
]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
WarehouseCodeText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Z0-9][A-Z0-9_-]{0,31}$",
        description="A warehouse code: 1-32 upper-case letters, digits, '_' or '-' (MAIN).",
    ),
]


DECIMAL_TEXT = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,20})?$"
"""A decimal as a string: digits, a point and more digits; no sign, exponent or spaces."""


def _largest(places: int) -> Decimal:
    return Decimal(10**9) - Decimal(1).scaleb(-places)


def _rounded(places: int) -> BeforeValidator:
    """Round a JSON number or a :data:`DECIMAL_TEXT` string to ``places`` (half to even;
    down where that would reach a billion); anything else is left for pydantic to refuse."""
    step = Decimal(1).scaleb(-places)
    largest = _largest(places)

    def rounded(value: object) -> object:
        if isinstance(value, bool):
            return value
        try:
            if isinstance(value, int | float):
                number = Decimal(str(value))
            elif isinstance(value, str) and re.fullmatch(DECIMAL_TEXT, value):
                number = Decimal(value)
            else:
                return value
        except InvalidOperation:
            return value
        if not number.is_finite() or not 0 <= number < 10**9:
            return number
        kept = number.quantize(step, ROUND_HALF_EVEN)
        return kept if kept <= largest else number.quantize(step, ROUND_DOWN)

    return BeforeValidator(rounded)


def _decimal_schema(places: int, description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": float(_largest(places))},
                {"type": "string", "pattern": DECIMAL_TEXT},
            ],
            "description": f"{description} A number, or a string of digits; at least 0 and "
            f"below 1,000,000,000; kept to {places} decimal places (more are rounded).",
        },
        mode="validation",
    )


# A non-negative decimal below a billion, kept to so many decimal places: sent as a JSON
# number or a string of DECIMAL_TEXT; more places are rounded, so a float such as
# 0.30000000000000004 is taken, as the document states.
Money = Annotated[
    Decimal, _rounded(4), Field(ge=0, le=_largest(4)), _decimal_schema(4, "Cost of one unit.")
]
Grams = Annotated[Decimal, _rounded(3), Field(ge=0, le=_largest(3)), _decimal_schema(3, "Grams.")]
Millimetres = Annotated[
    Decimal, _rounded(1), Field(ge=0, le=_largest(1)), _decimal_schema(1, "Millimetres.")
]
