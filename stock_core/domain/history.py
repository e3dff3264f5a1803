"""Parsing ``history.csv`` (``sku,date,quantity``): past demand, per day or per week."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from stock_core.errors import ImportProblem

__all__ = ["HISTORY_COLUMNS", "HistoryRow", "parse_history"]

HISTORY_COLUMNS = ("sku", "date", "quantity")
_MAX_QUANTITY = 10_000_000


@dataclass(frozen=True)
class HistoryRow:
    line: int
    sku: str
    day: date
    quantity: int


def parse_history(
    data: bytes, *, today: date | None = None
) -> tuple[list[HistoryRow], list[ImportProblem]]:
    """Every row, or every problem with its line number. Dates may not lie ahead of ``today``."""
    problems: list[ImportProblem] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return [], [ImportProblem(line, f"not UTF-8 (byte 0x{data[exc.start]:02x})")]
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    if header != list(HISTORY_COLUMNS):
        return [], [ImportProblem(1, f"header must be {','.join(HISTORY_COLUMNS)}")]
    rows: list[HistoryRow] = []
    seen: dict[tuple[str, date], int] = {}
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != 3:
                problems.append(ImportProblem(line, f"{len(values)} fields, expected 3"))
                continue
            sku, day_text, qty_text = (v.strip() for v in values)
            if not sku or len(sku) > 64:
                problems.append(ImportProblem(line, "sku is required (at most 64 characters)"))
                continue
            try:
                day = date.fromisoformat(day_text)
            except ValueError:
                problems.append(ImportProblem(line, f"date must be YYYY-MM-DD, not {day_text!r}"))
                continue
            if today is not None and day > today:
                problems.append(ImportProblem(line, f"date {day} is in the future"))
                continue
            if not qty_text.isdigit() or int(qty_text) > _MAX_QUANTITY:
                problems.append(
                    ImportProblem(line, f"quantity must be a whole number ≥ 0, not {qty_text!r}")
                )
                continue
            first = seen.setdefault((sku, day), line)
            if first != line:
                problems.append(ImportProblem(line, f"{sku} on {day} is also on line {first}"))
                continue
            rows.append(HistoryRow(line, sku, day, int(qty_text)))
    except csv.Error as exc:
        problems.append(ImportProblem(reader.line_num, f"unreadable CSV: {exc}"))
    return rows, problems
