"""What every report shares: periods and instants in UTC, money and ratios, CSV text."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

__all__ = ["DEFAULT_SLOW_COVER_DAYS", "ReportLine", "instant", "json_fields", "period_bounds"]


DEFAULT_SLOW_COVER_DAYS = 180


_CENT = Decimal("0.01")


def instant(at: date | datetime, *, end_of_day: bool = False) -> datetime:
    """A date as UTC midnight (the next one with ``end_of_day``); datetimes as they are.

    A naive datetime is taken as UTC.
    """
    if isinstance(at, datetime):
        return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    day = at + timedelta(days=1) if end_of_day else at
    return datetime.combine(day, time(), tzinfo=UTC)


def period_bounds(start: date | datetime, end: date | datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` as instants; a date ``end`` includes that whole day."""
    first, last = instant(start), instant(end, end_of_day=True)
    if last <= first:
        raise ValueError(f"the period is empty: it ends ({last}) by the time it starts ({first})")
    return first, last


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT)


def _ratio(numerator: Decimal, denominator: Decimal) -> float | None:
    return round(float(numerator / denominator), 4) if denominator else None


def _days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400


def _write_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue()


def _report_csv(line_type: type[ReportLine], rows: Iterable[Mapping[str, object]]) -> str:
    """CSV text with a column per field of ``line_type``, in their order, and a row per
    mapping (a line's :meth:`~ReportLine.to_dict`): a name it lacks is an empty cell."""
    columns = [f.name for f in dataclasses.fields(line_type)]  # type: ignore[arg-type]
    return _write_csv(columns, ([row.get(name) for name in columns] for row in rows))


def json_fields(line: Any) -> dict[str, Any]:
    """A report line (a dataclass) as JSON values, field by field in their order: money
    as a string (``"12.50"``), dates and instants in ISO 8601, the rest as they are."""
    return {f.name: _json_value(getattr(line, f.name)) for f in dataclasses.fields(line)}


class ReportLine:
    """A report line's dataclass base: :meth:`to_dict` is :func:`json_fields` of it."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        return json_fields(self)


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):  # a datetime is a date too
        return value.isoformat()
    return value
