"""CSV cells a spreadsheet will not run as formulas (OWASP "CSV injection").

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is written with a leading single quote: a spreadsheet shows it as the text it is
instead of evaluating it (``=HYPERLINK(...)``, ``@SUM(...)``, DDE payloads). Numbers
are not text: each export says which of its columns are numeric, and a number in
such a column (a movement's delta ``-3``) is written as it is. Anything else in a
numeric column is defused like text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Sequence
from decimal import Decimal

__all__ = ["defuse", "defuse_csv", "safe_cell", "safe_row"]

_FORMULA_START = frozenset("=+-@\t\r")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def defuse(text: str) -> str:
    """``text``, with a leading ``'`` when a spreadsheet would read it as a formula."""
    return "'" + text if text and text[0] in _FORMULA_START else text


def safe_cell(value: object, *, numeric: bool) -> object:
    """One cell: ``None`` is empty, numbers stay numbers, text is defused."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    if numeric and _NUMBER.match(text):
        return text
    return defuse(text)


def safe_row(
    columns: Sequence[str], values: Iterable[object], numeric: Collection[str]
) -> list[object]:
    """A row of cells, each defused as its column says."""
    return [
        safe_cell(value, numeric=column in numeric)
        for column, value in zip(columns, values, strict=True)
    ]


def defuse_csv(text: str, numeric: Collection[str], *, lineterminator: str = "\n") -> str:
    """A whole CSV document (header first) with every text cell defused."""
    rows = csv.reader(io.StringIO(text, newline=""))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=lineterminator)
    header = next(rows, None)
    if header is None:
        return text
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            [
                safe_cell(cell, numeric=i < len(header) and header[i] in numeric)
                for i, cell in enumerate(row)
            ]
        )
    return out.getvalue()
