"""Demand series: weekly (ISO weeks) and, when history was recorded monthly, monthly;
the grids and methods forecasts run on, and the constants that tune them."""

from __future__ import annotations

import calendar
import enum
import threading
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import timedelta

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_HORIZON_WEEKS",
    "DEFAULT_INTERVAL",
    "INTERMITTENT_ADI",
    "MAX_HISTORY_WEEKS",
    "MAX_ORIGINS",
    "MIN_BACKTEST_WEEKS",
    "SBA_ALPHA",
    "SEASONAL_ACF",
    "SEASONAL_METHODS",
    "SEASON_MONTHS",
    "SEASON_WEEKS",
    "STRUCTURE_DW",
    "ForecastMethod",
    "Grid",
    "MonthlySeries",
    "WeeklySeries",
    "month_start",
    "week_start",
    "weekly_series",
]


SEASON_WEEKS = 52


SEASON_MONTHS = 12


DEFAULT_HORIZON_WEEKS = 104


MAX_HISTORY_WEEKS = 260
"""Older weeks are left out of the fit (five years is plenty, and fits stay fast)."""


MAX_HISTORY_MONTHS = 600
"""Monthly histories are short in periods: fits use all of it, up to fifty years."""


SEASONAL_ACF = 0.3
"""Autocorrelation at the seasonal lag above which the default model is seasonal."""


CHALLENGE_P = 0.1


MIN_TESTED_ORIGINS = 3
"""With fewer origins no test can tell: a challenger must win at every one (and one
origin is no evidence at all)."""


STRUCTURE_DW = 1.0
"""A Durbin-Watson ratio of the demeaned history below this (neighbouring periods
alike, as a season makes them; white noise scores about 2) makes one season of history
seasonal."""
"""How sure the backtest must be before another model replaces the default one."""


MIN_BACKTEST_WEEKS = 13
"""The shortest backtest horizon: a quarter, what the reorder logic looks ahead at least."""


MAX_BACKTEST_WEEKS = 26


MAX_ORIGINS = 8
"""Rolling origins per backtest (fewer when the history is short)."""


INTERMITTENT_ADI = 1.32


SBA_ALPHA = 0.1


DEFAULT_INTERVAL = 0.9
"""The central interval the API shows per week: its upper end is the 95 % quantile."""


_SIMULATIONS = 300


_MODEL_VERSION = "2"


_Array = npt.NDArray[np.float64]


# warnings.catch_warnings() swaps process-wide state: one fit at a time may hold it.
_WARNINGS_LOCK = threading.RLock()


class ForecastMethod(enum.StrEnum):
    NO_DEMAND = "no_demand"
    NAIVE = "naive"
    SEASONAL_NAIVE = "seasonal_naive"
    SES = "ses"
    SEASONAL_NAIVE_LEVEL = "seasonal_naive_level"
    SEASONAL_DECOMPOSITION = "seasonal_decomposition"
    HOLT_WINTERS_ADDITIVE = "holt_winters_additive"
    HOLT_WINTERS_MULTIPLICATIVE = "holt_winters_multiplicative"
    THETA = "theta"
    CROSTON_SBA = "croston_sba"
    TSB = "tsb"


SEASONAL_METHODS: frozenset[ForecastMethod] = frozenset(
    {
        ForecastMethod.SEASONAL_NAIVE,
        ForecastMethod.SEASONAL_NAIVE_LEVEL,
        ForecastMethod.SEASONAL_DECOMPOSITION,
        ForecastMethod.HOLT_WINTERS_ADDITIVE,
        ForecastMethod.HOLT_WINTERS_MULTIPLICATIVE,
    }
)


class Grid(enum.StrEnum):
    WEEK = "week"
    MONTH = "month"

    @property
    def season(self) -> int:
        return SEASON_WEEKS if self is Grid.WEEK else SEASON_MONTHS


def week_start(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _days_in_month(first: date) -> int:
    return calendar.monthrange(first.year, first.month)[1]


@dataclass(frozen=True)
class MonthlySeries:
    """Demand per calendar month from ``start`` (a first of the month)."""

    start: date
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.start.day != 1:
            raise ValueError(f"a monthly series starts on the first of a month, not {self.start}")

    @property
    def end(self) -> date:
        """The first day of the month after the last."""
        return _add_months(self.start, len(self.values))

    def head(self, months: int) -> MonthlySeries:
        return MonthlySeries(self.start, self.values[:months])


@dataclass(frozen=True)
class WeeklySeries:
    """Demand per week from ``start`` (a Monday), one value per consecutive week.

    ``monthly``: the monthly totals, when the history was recorded once a month (the
    models then run on months).
    """

    start: date
    values: tuple[float, ...]
    monthly: MonthlySeries | None = None

    def __post_init__(self) -> None:
        if self.start.weekday() != 0:
            raise ValueError(f"a weekly series starts on a Monday, not {self.start}")

    @property
    def end(self) -> date:
        """The Monday after the last week (where a forecast starts)."""
        return self.start + timedelta(weeks=len(self.values))

    @property
    def grid(self) -> Grid:
        return Grid.MONTH if self.monthly is not None else Grid.WEEK

    def head(self, weeks: int) -> WeeklySeries:
        """The first ``weeks`` weeks (and the months complete by then)."""
        monthly = self.monthly
        if monthly is not None:
            end = self.start + timedelta(weeks=weeks)
            keep = sum(1 for i in range(len(monthly.values)) if _add_months(monthly.start, i) < end)
            monthly = monthly.head(keep)
        return WeeklySeries(self.start, self.values[:weeks], monthly)


def weekly_series(points: Iterable[tuple[date, float]], *, today: date) -> WeeklySeries:
    """Sum ``(day, quantity)`` points per ISO week, up to the last week complete by ``today``.

    The series starts at the first week with a point (zero quantities count: they are
    recorded weeks without sales) and ends just before ``today``'s week; later points are
    ignored. Missing weeks are zero. Without points the series is empty and ends at
    ``today``'s week.

    When at most one piece (the days of a week inside one month) of each month with
    demand holds it all, the history was recorded once a month: the series then also
    carries monthly totals, for every month that ended before the series did, and for
    the month in progress too when its record is already in (on its first days).
    """
    end = week_start(today)
    totals: dict[date, float] = defaultdict(float)
    pieces: dict[date, float] = defaultdict(float)
    for day, quantity in points:
        week = week_start(day)
        if week < end:
            totals[week] += quantity
            pieces[max(week, month_start(day))] += quantity
    if not totals:
        return WeeklySeries(end, ())
    start = min(totals)
    count = (end - start).days // 7
    values = tuple(totals.get(start + timedelta(weeks=i), 0.0) for i in range(count))
    return WeeklySeries(start, values, _monthly(pieces, end))


def _monthly(pieces: Mapping[date, float], end: date) -> MonthlySeries | None:
    """Monthly totals when the history was recorded once a month (see weekly_series)."""
    by_month: dict[date, list[date]] = defaultdict(list)
    months: dict[date, float] = defaultdict(float)
    for piece, quantity in pieces.items():
        months[month_start(piece)] += quantity
        if quantity != 0:
            by_month[month_start(piece)].append(piece)
    recorded = [m for m, p in by_month.items() if p]
    if len(recorded) < 3 or any(len(p) > 1 for p in by_month.values()):
        return None
    first = min(months)
    current = month_start(end)  # in progress, unless its record came in on its first day
    recorded_early = current in by_month and min(by_month[current]) == current
    last = current if recorded_early else _add_months(current, -1)
    # three recorded months, at most the current one left out: first <= last
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    return MonthlySeries(first, tuple(months.get(_add_months(first, i), 0.0) for i in range(count)))
