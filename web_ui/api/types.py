"""Constrained field types shared by the API's pydantic models.

Strings that reach PostgreSQL never carry control characters (NUL cannot be stored at
all), and every length matches the column's CHECK, so a request that passes these
types is never refused by the database for its shape.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

__all__ = [
    "MAX_ID",
    "MAX_INT",
    "PRINTABLE",
    "Id",
    "LocationCodeText",
    "LotText",
    "NoteText",
    "SkuText",
    "Text",
]

MAX_ID = 2**63 - 1
MAX_INT = 2**31 - 1
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
"""No ASCII control characters (the others are printable enough for a label)."""


Text = Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE)]
SkuText = Annotated[str, Field(min_length=1, max_length=64, pattern=PRINTABLE)]
LocationCodeText = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
]
LotText = Annotated[str, Field(min_length=1, max_length=20, pattern=PRINTABLE)]
NoteText = Annotated[str, Field(min_length=1, max_length=1000, pattern=PRINTABLE)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
