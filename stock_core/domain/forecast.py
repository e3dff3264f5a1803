"""Demand forecasts: the series, the candidate models, the choice by backtest, intervals.

Pure: series in, forecasts out; no clock, no database. The models come from statsmodels
(Holt-Winters, simple exponential smoothing, Theta, classical decomposition); this
module chooses among them and wires them up. ``docs/topics/forecasting.md`` explains
the whole path for operators.

The series. Demand per ISO week (weeks start on Monday) from imported history and
ordered demand, from the product's first recorded week up to the last *complete* week
before ``today`` (a week in progress would read as a dip); missing weeks are zero.
When the history was recorded once a month (at most one non-zero piece of a month,
where a piece is the part of an ISO week inside one calendar month), the series also
carries its monthly totals, and the models run on months instead (a month's figure on
its first day would otherwise look like one busy week in four).

The grid. Weeks with a yearly season of 52, or months with a season of 12.

The candidates, by how much history there is (``n`` periods, season ``m``):

* ``n ≥ 2m + H`` (two seasons to fit, plus a backtest window): seasonal naive, SES,
  Holt-Winters with a damped additive trend and additive or (every period positive)
  multiplicative season (statsmodels ``ExponentialSmoothing``, initial states
  estimated on months, heuristic on weeks, where 52 seasonal states make estimation
  slow and noisy), Theta (statsmodels ``ThetaModel``, deseasonalised when its test
  finds a season) and, on weeks, ``seasonal_decomposition`` (statsmodels
  ``seasonal_decompose``: each week's mean deviation over every year of history,
  smoothed ¼ ½ ¼ over neighbouring weeks, plus the SES level of the rest);
* ``m ≤ n < 2m + H``: seasonal naive, SES, Theta without a season and
  ``seasonal_naive_level`` (last year's period, smoothed, plus the SES level of the
  year-over-year change);
* shorter: naive (last period) and SES;
* intermittent demand (average interval between non-zero periods above
  ``INTERMITTENT_ADI``, the Syntetos-Boylan cut-off) adds Croston with the
  Syntetos-Boylan correction (SBA) and Teunter-Syntetos-Babai (TSB), both over
  statsmodels SES with α = ``SBA_ALPHA``.

The choice. A rolling-origin backtest on the product's own history: up to
``MAX_ORIGINS`` origins ``H`` periods apart, ending ``H`` periods before the last, each
forecasting the next ``H`` periods (``H`` = the horizon the reorder logic needs: lead
time plus review period, at least ``MIN_BACKTEST_WEEKS``), every candidate scored by
its mean absolute error at each origin. The default model (Croston/SBA for intermittent
demand; damped Holt-Winters, the better of its two seasons, for a seasonal history,
autocorrelation at the seasonal lag above ``SEASONAL_ACF``; SES otherwise) is replaced
only by a challenger that beats it significantly at the origins (one-sided paired
t-test, ``p < CHALLENGE_P``: with a handful of origins a lower mean alone is mostly
luck), and by the baseline (seasonal naive, or naive without a full season) when the
choice does not beat it. Holt-Winters, SES and the decomposition's level are fitted
once at the first origin and re-run with those parameters at the later ones (a fit per
origin would cost a sweep of the catalog hours); Theta is refitted at each. The winner
is then refitted on the whole series. The forecast records the method and its backtest
error relative to the baseline's (below 1 beats it), and every candidate's.

Intervals. Each forecast carries the standard deviation of every week's demand and of
the cumulative demand from its start to the end of each week, from the chosen model:
Holt-Winters by simulating sample paths from its fitted state (statsmodels
``simulate``), the others from their one-step residuals propagated as an
ETS(A,N,N) process with the model's smoothing weight (seasonal naive: 0, naive: 1).
``stock_core.domain.replenishment`` turns them into safety stock at a service level.
"""

from __future__ import annotations

import calendar
import enum
import functools
import hashlib
import math
import threading
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import NormalDist, fmean
from typing import Any

import numpy as np
import numpy.typing as npt

# statsmodels (about 110 MB with scipy and pandas) is imported inside the functions
# that fit models, so processes that never fit one (the gateway, ``stockd serve``
# whose background sweeps run in a child process) never load it.
from stock_core.types import Sku

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
    "BacktestReport",
    "Forecast",
    "ForecastMethod",
    "Grid",
    "MethodScore",
    "MonthlySeries",
    "ProductBacktest",
    "Selection",
    "WeekDemand",
    "WeeklySeries",
    "backtest",
    "backtest_product",
    "backtest_weeks",
    "diagnose",
    "fingerprint",
    "forecast_series",
    "month_start",
    "predict",
    "select",
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


@dataclass(frozen=True)
class WeekDemand:
    week_start: date
    demand: float


_Z = NormalDist()


def _z(level: float) -> float:
    """The standard normal quantile at ``level``."""
    return _Z.inv_cdf(min(max(level, 0.5), 0.9999))


@dataclass(frozen=True)
class Selection:
    """How the method was chosen: the rolling-origin backtest on the product's history."""

    grid: Grid
    origins: int
    horizon: int
    """Periods ahead scored at each origin (weeks or months, as ``grid``)."""
    baseline: str
    """``seasonal_naive`` or ``naive``: what ``error`` is relative to."""
    mae: float
    baseline_mae: float
    scores: Mapping[str, float] = field(default_factory=dict)
    """Each candidate's MAE relative to the baseline's."""

    @property
    def error(self) -> float:
        """The chosen method's MAE relative to the baseline's (below 1 beats it)."""
        return _relative(self.mae, self.baseline_mae)

    def to_dict(self, *, digits: int | None = 4) -> dict[str, Any]:
        """The API's view (rounded to ``digits``; ``None`` keeps every digit, for storage)."""

        def number(value: float) -> float | None:
            if not math.isfinite(value):
                return None
            return value if digits is None else round(value, digits)

        return {
            "grid": self.grid.value,
            "origins": self.origins,
            "horizon": self.horizon,
            "baseline": self.baseline,
            "mae": number(self.mae),
            "baseline_mae": number(self.baseline_mae),
            "relative_mae": number(self.error),
            "candidates": {k: number(v) for k, v in sorted(self.scores.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Selection:
        return cls(
            grid=Grid(str(data["grid"])),
            origins=int(data["origins"]),
            horizon=int(data["horizon"]),
            baseline=str(data["baseline"]),
            mae=_number(data["mae"]),
            baseline_mae=_number(data["baseline_mae"]),
            scores={str(k): _number(v) for k, v in dict(data.get("candidates", {})).items()},
        )


def _number(value: Any) -> float:
    """A stored number; ``None`` stands for infinity (JSON has none)."""
    return math.inf if value is None else float(value)


def _finite(value: float) -> float | None:
    return round(value, 4) if math.isfinite(value) else None


@dataclass(frozen=True)
class Forecast:
    """Forecast weekly demand of one product from the week ``start`` (a Monday) on.

    ``spread[i]``: the standard deviation of the cumulative demand from ``start`` to the
    end of week ``i``; ``week_sd[i]``: of week ``i``'s demand. ``monthly``: on the month
    grid, the monthly totals from the month ``monthly_start`` on, which set the daily
    rate exactly (weekly figures are their days summed).
    """

    sku: Sku
    method: ForecastMethod
    start: date
    demand: tuple[float, ...]
    history_weeks: int = 0
    diagnostics: Mapping[str, float] = field(default_factory=dict)
    fingerprint: str = ""
    """Identifies the series and model version it was computed from (see :func:`fingerprint`)."""
    spread: tuple[float, ...] = ()
    week_sd: tuple[float, ...] = ()
    selection: Selection | None = None
    monthly: tuple[float, ...] = ()
    monthly_start: date | None = None

    @property
    def grid(self) -> Grid:
        return Grid.MONTH if self.monthly_start is not None else Grid.WEEK

    @property
    def backtest_error(self) -> float | None:
        """The backtest MAE relative to the baseline's, when there was a backtest."""
        return self.selection.error if self.selection is not None else None

    @property
    def weeks(self) -> tuple[WeekDemand, ...]:
        return tuple(
            WeekDemand(self.start + timedelta(weeks=i), d) for i, d in enumerate(self.demand)
        )

    def from_week(self, first: date, weeks: int | None = None) -> tuple[WeekDemand, ...]:
        """The weeks from ``first``'s week on (at most ``weeks`` of them)."""
        skip = max(0, (week_start(first) - self.start).days // 7)
        chosen = self.weeks[skip:]
        return chosen if weeks is None else chosen[:weeks]

    def daily(self, day: date) -> float:
        """Forecast demand on ``day``: its month's (month grid) or week's demand spread
        evenly over its days. Days before the first period read the first, days past
        the last read the last."""
        if self.monthly_start is not None and self.monthly:
            first = month_start(day)
            index = (first.year - self.monthly_start.year) * 12 + first.month
            index -= self.monthly_start.month
            index = min(max(index, 0), len(self.monthly) - 1)
            month = _add_months(self.monthly_start, index)
            return self.monthly[index] / _days_in_month(month)
        if not self.demand:
            return 0.0
        index = min(max((day - self.start).days // 7, 0), len(self.demand) - 1)
        return self.demand[index] / 7

    def between(self, first: date, end: date) -> float:
        """Forecast demand from ``first`` up to, not including, ``end``."""
        return math.fsum(self.daily(first + timedelta(days=i)) for i in range((end - first).days))

    def variance_to(self, day: date) -> float:
        """Variance of the cumulative demand from ``start`` up to ``day`` (excluded),
        interpolated linearly in days between week ends; beyond the horizon it grows
        at the last week's rate."""
        if not self.spread:
            return 0.0
        days = (day - self.start).days
        if days <= 0:
            return 0.0
        week, rest = divmod(days, 7)
        variances = [s * s for s in self.spread]
        if week >= len(variances):
            last = variances[-1]
            step = last - (variances[-2] if len(variances) > 1 else 0.0)
            return last + step * (days / 7 - len(variances))
        before = variances[week - 1] if week > 0 else 0.0
        return before + (variances[week] - before) * rest / 7

    def sd_between(self, first: date, end: date) -> float:
        """Standard deviation of the demand from ``first`` up to ``end`` (excluded).

        From the cumulative variances: exact when ``first`` is the start, otherwise
        the increment (errors of different weeks taken as independent)."""
        if end <= first:
            return 0.0
        return math.sqrt(max(self.variance_to(end) - self.variance_to(first), 0.0))

    def months(self) -> list[tuple[date, float]]:
        """Whole calendar months inside the forecast, with their demand."""
        if not self.demand:
            return []
        end = self.start + timedelta(weeks=len(self.demand))
        first = month_start(self.start)
        if first < self.start:
            first = _add_months(first, 1)
        out: list[tuple[date, float]] = []
        while _add_months(first, 1) <= end:
            out.append((first, self.between(first, _add_months(first, 1))))
            first = _add_months(first, 1)
        return out

    def to_dict(
        self,
        weeks: int | None = None,
        *,
        today: date | None = None,
        interval: float = DEFAULT_INTERVAL,
    ) -> dict[str, Any]:
        """SPEC's shape ``{"sku", "weeks": [{"week_start", "demand"}], "method"}``, with
        each week's ``low``/``high`` (the central ``interval``), the months the weeks
        cover whole, the backtest error and how the method was chosen."""
        skip = max(0, (week_start(today) - self.start).days // 7) if today is not None else 0
        count = len(self.demand) - skip if weeks is None else weeks
        z = _z(0.5 + interval / 2)
        chosen = []
        for i in range(skip, min(skip + max(count, 0), len(self.demand))):
            demand = self.demand[i]
            sd = self.week_sd[i] if i < len(self.week_sd) else 0.0
            chosen.append(
                {
                    "week_start": (self.start + timedelta(weeks=i)).isoformat(),
                    "demand": round(demand, 2),
                    "low": round(max(0.0, demand - z * sd), 2),
                    "high": round(demand + z * sd, 2),
                }
            )
        shown_end = self.start + timedelta(weeks=skip + len(chosen))
        shown_start = self.start + timedelta(weeks=skip)
        selection = self.selection
        return {
            "sku": self.sku,
            "weeks": chosen,
            "method": self.method.value,
            "grid": self.grid.value,
            "backtest_error": _finite(selection.error) if selection is not None else None,
            "interval": interval,
            "months": [
                {"month": m.strftime("%Y-%m"), "demand": round(d, 2)}
                for m, d in self.months()
                if m >= shown_start and _add_months(m, 1) <= shown_end
            ],
            "history_weeks": self.history_weeks,
            "selection": selection.to_dict() if selection is not None else None,
        }

    def detail(self) -> dict[str, Any]:
        """What is stored beside the weeks (the ``forecasts.detail`` column)."""
        return {
            "start": self.start.isoformat(),
            "history_weeks": self.history_weeks,
            "diagnostics": dict(self.diagnostics),
            "fingerprint": self.fingerprint,
            "spread": list(self.spread),
            "week_sd": list(self.week_sd),
            "selection": self.selection.to_dict(digits=None) if self.selection else None,
            "monthly": list(self.monthly),
            "monthly_start": self.monthly_start.isoformat() if self.monthly_start else None,
        }

    def stored_weeks(self) -> list[dict[str, Any]]:
        """The ``forecasts.weeks`` column: every week, unrounded."""
        return [{"week_start": w.week_start.isoformat(), "demand": w.demand} for w in self.weeks]

    @classmethod
    def from_stored(
        cls, sku: str, method: str, weeks: list[dict[str, Any]], detail: Mapping[str, Any]
    ) -> Forecast:
        """Rebuild a forecast from :meth:`stored_weeks` and :meth:`detail`."""
        start = date.fromisoformat(str(detail["start"]))
        selection = detail.get("selection")
        monthly_start = detail.get("monthly_start")
        return cls(
            sku=Sku(sku),
            method=ForecastMethod(method),
            start=start,
            demand=tuple(float(w["demand"]) for w in weeks),
            history_weeks=int(detail.get("history_weeks", 0)),
            diagnostics={str(k): float(v) for k, v in dict(detail.get("diagnostics", {})).items()},
            fingerprint=str(detail.get("fingerprint", "")),
            spread=tuple(float(v) for v in detail.get("spread", ())),
            week_sd=tuple(float(v) for v in detail.get("week_sd", ())),
            selection=Selection.from_dict(selection) if selection else None,
            monthly=tuple(float(v) for v in detail.get("monthly", ())),
            monthly_start=date.fromisoformat(str(monthly_start)) if monthly_start else None,
        )


def backtest_weeks(lead_time_days: int = 0, review_days: int = 7) -> int:
    """The backtest horizon in weeks for a product: lead time plus review period, at
    least ``MIN_BACKTEST_WEEKS`` and at most ``MAX_BACKTEST_WEEKS``."""
    weeks = math.ceil((max(lead_time_days, 0) + max(review_days, 0)) / 7)
    return min(max(weeks, MIN_BACKTEST_WEEKS), MAX_BACKTEST_WEEKS)


def fingerprint(series: WeeklySeries, horizon_weeks: int = MIN_BACKTEST_WEEKS) -> str:
    """A digest of the series, the backtest horizon and the code's model version:
    equal digests, equal forecasts."""
    text = f"{_MODEL_VERSION}|{horizon_weeks}|{series.start}|" + ",".join(
        f"{v:g}" for v in series.values
    )
    if series.monthly is not None:
        text += f"|{series.monthly.start}|" + ",".join(f"{v:g}" for v in series.monthly.values)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def diagnose(values: _Array, season: int = SEASON_WEEKS) -> dict[str, float]:
    """Statistics recorded with the forecast.

    ``periods``; ``zero_share``; ``adi`` (periods per non-zero period); ``acf_season``
    (autocorrelation at the seasonal lag, with two seasons of history).
    """
    from statsmodels.tsa.stattools import acf

    n = len(values)
    nonzero = int(np.count_nonzero(values))
    result: dict[str, float] = {
        "periods": float(n),
        "zero_share": 1 - nonzero / n if n else 1.0,
        "adi": n / nonzero if nonzero else math.inf,
    }
    if n >= 2 * season and float(np.ptp(values)) > 0:
        result["acf_season"] = float(acf(values, nlags=season, fft=True)[season])
    return result


# -- the models ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prediction:
    mean: _Array
    sd: _Array
    """Per period."""
    cum_sd: _Array
    """Of the sum from the first period through each."""


def _quietly(work: Callable[[], Any]) -> Any:
    """Run statsmodels code without its convergence and overflow warnings."""
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return work()


def _propagate(sigma: float, alpha: float, horizon: int, season: int = 0) -> tuple[_Array, _Array]:
    """Per-period and cumulative standard deviations of an ETS(A,N,N) process with
    one-step deviation ``sigma`` and smoothing weight ``alpha`` (Hyndman et al. 2008,
    ch. 6): the error of period ``j`` carries ``α`` of every earlier one. With
    ``season``, errors grow only once per season (seasonal naive)."""
    steps = np.arange(horizon, dtype=np.float64)
    if season:
        per = sigma**2 * (steps // season + 1)
        return np.sqrt(per), np.sqrt(np.cumsum(per))
    per = sigma**2 * (1 + alpha**2 * steps)
    # Var(sum_{j<=h}) = sigma^2 * sum_{k=0}^{h-1} (1 + alpha k)^2
    cum = sigma**2 * np.cumsum((1 + alpha * steps) ** 2)
    return np.sqrt(per), np.sqrt(cum)


def _prediction(mean: _Array, sigma: float, alpha: float, season: int = 0) -> _Prediction:
    sd, cum = _propagate(sigma if math.isfinite(sigma) else 0.0, alpha, len(mean), season)
    return _Prediction(np.asarray(mean, dtype=np.float64), sd, cum)


class _Model:
    """A candidate: forecasts at backtest origins, and the final prediction."""

    method: ForecastMethod
    min_train: int = 2

    def at_origins(self, values: _Array, origins: Sequence[int], horizon: int) -> list[_Array]:
        """The forecast of ``horizon`` periods from each origin (a prefix length)."""
        return [self.predict(values[:o], horizon).mean for o in origins]

    def predict(self, values: _Array, horizon: int) -> _Prediction:
        raise NotImplementedError  # pragma: no cover - every model defines it


class _Naive(_Model):
    method = ForecastMethod.NAIVE
    min_train = 1

    def at_origins(self, values: _Array, origins: Sequence[int], horizon: int) -> list[_Array]:
        return [np.full(horizon, values[o - 1]) for o in origins]

    def predict(self, values: _Array, horizon: int) -> _Prediction:
        diffs = np.diff(values)
        sigma = float(np.sqrt(np.mean(diffs**2))) if len(diffs) else 0.0
        return _prediction(np.full(horizon, values[-1]), sigma, 1.0)


class _SeasonalNaive(_Model):
    method = ForecastMethod.SEASONAL_NAIVE

    def __init__(self, season: int) -> None:
        self.season = season
        self.min_train = season

    def at_origins(self, values: _Array, origins: Sequence[int], horizon: int) -> list[_Array]:
        return [_repeat(values[o - self.season : o], horizon) for o in origins]

    def predict(self, values: _Array, horizon: int) -> _Prediction:
        m = self.season
        diffs = values[m:] - values[:-m]
        sigma = float(np.sqrt(np.mean(diffs**2))) if len(diffs) else float(np.std(values))
        return _prediction(_repeat(values[-m:], horizon), sigma, 0.0, season=m)


class _Ses(_Model):
    """Simple exponential smoothing (statsmodels ``SimpleExpSmoothing``, α estimated)."""

    method = ForecastMethod.SES
    min_train = 2

    @staticmethod
    def _fit(values: _Array, known: tuple[float, float] | None = None) -> Any:
        from statsmodels.tsa.holtwinters import SimpleExpSmoothing

        if known is None:
            model = SimpleExpSmoothing(values, initialization_method="estimated")
            return _quietly(model.fit)
        alpha, level = known
        model = SimpleExpSmoothing(values, initialization_method="known", initial_level=level)
        return _quietly(lambda: model.fit(smoothing_level=alpha, optimized=False))

    def at_origins(self, values: _Array, origins: Sequence[int], horizon: int) -> list[_Array]:
        out: list[_Array] = []
        known: tuple[float, float] | None = None
        for o in origins:
            train = values[:o]
            if float(np.ptp(train)) == 0:
                out.append(np.full(horizon, train[-1]))
                continue
            fitted = self._fit(train, known)
            if known is None:
                known = (
                    float(fitted.params["smoothing_level"]),
                    float(fitted.params["initial_level"]),
                )
            out.append(np.full(horizon, float(fitted.forecast(1)[0])))
        return out

    def predict(self, values: _Array, horizon: int) -> _Prediction:
        if len(values) == 1 or float(np.ptp(values)) == 0:
            return _prediction(np.full(horizon, values[-1]), 0.0, 0.0)
        fitted = self._fit(values)
        alpha = float(fitted.params["smoothing_level"])
        sigma = float(np.sqrt(fitted.sse / len(values)))
        return _prediction(np.full(horizon, float(fitted.forecast(1)[0])), sigma, alpha)


class _HoltWinters(_Model):
    """Damped additive trend, additive or multiplicative season (statsmodels
    ``ExponentialSmoothing``); intervals by simulation from the fitted state."""

    def __init__(self, season: int, seasonal: str, *, estimated: bool) -> None:
        self.season = season
        self.seasonal = seasonal
        self.estimated = estimated
        self.min_train = 2 * season
        self.method = (
            ForecastMethod.HOLT_WINTERS_MULTIPLICATIVE
            if seasonal == "mul"
            else ForecastMethod.HOLT_WINTERS_ADDITIVE
        )

    def _model(self, values: _Array, params: Mapping[str, Any] | None = None) -> Any:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        if params is None:
            return ExponentialSmoothing(
                values,
                trend="add",
                damped_trend=True,
                seasonal=self.seasonal,
                seasonal_periods=self.season,
                initialization_method="estimated" if self.estimated else "heuristic",
            )
        return ExponentialSmoothing(
            values,
            trend="add",
            damped_trend=True,
            seasonal=self.seasonal,
            seasonal_periods=self.season,
            initialization_method="known",
            initial_level=params["initial_level"],
            initial_trend=params["initial_trend"],
            initial_seasonal=params["initial_seasons"],
        )

    def _fit(self, values: _Array, params: Mapping[str, Any] | None = None) -> Any:
        model = self._model(values, params)
        if params is None:
            # months: the library's defaults (a brute-force start, initial states
            # estimated); weeks: 52 seasonal states make that 20 times slower and no
            # better than heuristic initial states and a plain optimiser start
            return _quietly(lambda: model.fit(use_brute=self.estimated))
        fixed = {
            k: params[k]
            for k in ("smoothing_level", "smoothing_trend", "smoothing_seasonal", "damping_trend")
        }
        return _quietly(lambda: model.fit(optimized=False, **fixed))

    def at_origins(self, values: _Array, origins: Sequence[int], horizon: int) -> list[_Array]:
        out: list[_Array] = []
        params: Mapping[str, Any] | None = None
        for o in origins:
            fitted = self._fit(values[:o], params)
            if params is None:
                params = dict(fitted.params)
            out.append(_finite_or_raise(fitted.forecast(horizon)))
        return out

    def predict(self, values: _Array, horizon: int) -> _Prediction:
        fitted = self._fit(values)
        mean = _finite_or_raise(fitted.forecast(horizon))
        rng = np.random.default_rng(len(values))
        error = "mul" if self.seasonal == "mul" else "add"
        paths = _quietly(
            lambda: fitted.simulate(
                horizon, anchor="end", repetitions=_SIMULATIONS, error=error, rng=rng
            )
        )
        paths = np.asarray(paths, dtype=np.float64).reshape(horizon, -1)
        if not np.all(np.isfinite(paths)):
            raise np.linalg.LinAlgError("simulation diverged")
        sd = paths.std(axis=1)
        cum_sd = np.cumsum(paths, axis=0).std(axis=1)
        return _Prediction(mean, sd, cum_sd)


class _Theta(_Model):
    """The Theta method (statsmodels ``ThetaModel``: SES with drift, deseasonalised
    when its test finds a season)."""

    method = ForecastMethod.THETA

    def __init__(self, season: int | None) -> None:
        self.season = season
        self.min_train = 2 * season if season else 4

    def _fit(self, values: _Array) -> Any:
        from statsmodels.tsa.forecasting.theta import ThetaModel

        if self.season:
            model = ThetaModel(values, period=self.season)
        else:
            model = ThetaModel(values, period=1, deseasonalize=False)
        return _quietly(model.fit)

    def at_origins(self, values: _Array, origins: Sequence[int], horizon: int) -> list[_Array]:
        out: list[_Array] = []
        for o in origins:
            fitted = self._fit(values[:o])
            out.append(_finite_or_raise(_quietly(functools.partial(fitted.forecast, horizon))))
        return out

    def predict(self, values: _Array, horizon: int) -> _Prediction:
        fitted = self._fit(values)
        mean = _finite_or_raise(_quietly(lambda: fitted.forecast(horizon)))
        alpha = float(fitted.params["alpha"])
        sigma2 = float(_quietly(lambda: fitted.sigma2))  # a lazy fit: warnings too
        return _prediction(mean, math.sqrt(max(sigma2, 0.0)), alpha)


class _Decomposition(_Model):
    """Smoothed additive seasonal index over every year (statsmodels
    ``seasonal_decompose``) plus the SES level of the deseasonalised series."""

    method = ForecastMethod.SEASONAL_DECOMPOSITION

    def __init__(self, season: int) -> None:
        self.season = season
        self.min_train = 2 * season

    def _split(self, values: _Array) -> tuple[_Array, _Array]:
        """The smoothed seasonal index of the last cycle and the deseasonalised series."""
        from statsmodels.tsa.seasonal import seasonal_decompose

        m = self.season
        seasonal = np.asarray(seasonal_decompose(values, period=m).seasonal)
        index = _smooth_profile(seasonal[-m:])
        # index[k] belongs to the last cycle's k-th period: period i of the series has
        # phase (i - n) mod m, and forecast period h has phase h mod m.
        phases = (np.arange(len(values)) - len(values)) % m
        return index, values - index[phases]

    def at_origins(self, values: _Array, origins: Sequence[int], horizon: int) -> list[_Array]:
        out: list[_Array] = []
        known: tuple[float, float] | None = None
        for o in origins:
            index, rest = self._split(values[:o])
            fitted = _Ses._fit(rest, known)
            if known is None:
                known = (
                    float(fitted.params["smoothing_level"]),
                    float(fitted.params["initial_level"]),
                )
            out.append(_repeat(index, horizon) + float(fitted.forecast(1)[0]))
        return out

    def predict(self, values: _Array, horizon: int) -> _Prediction:
        index, rest = self._split(values)
        level = _Ses().predict(rest, horizon)
        return _Prediction(_repeat(index, horizon) + level.mean, level.sd, level.cum_sd)


class _SeasonalNaiveLevel(_Model):
    """Last season, smoothed, plus the SES level of the season-over-season change."""

    method = ForecastMethod.SEASONAL_NAIVE_LEVEL

    def __init__(self, season: int) -> None:
        self.season = season
        self.min_train = season

    def predict(self, values: _Array, horizon: int) -> _Prediction:
        m = self.season
        profile = _smooth_profile(values[-m:])
        changes = values[m:] - values[:-m]
        if len(changes):
            level = _Ses().predict(changes, horizon)
            return _Prediction(_repeat(profile, horizon) + level.mean, level.sd, level.cum_sd)
        sigma = float(np.std(values))
        return _prediction(_repeat(profile, horizon), sigma, 0.0, season=m)


def _ses_fixed(values: _Array, alpha: float) -> float:
    """The SES level with a fixed α, starting from the first value (statsmodels)."""
    from statsmodels.tsa.holtwinters import SimpleExpSmoothing

    if len(values) == 1 or float(np.ptp(values)) == 0:
        return float(values[0])

    def fit() -> float:
        model = SimpleExpSmoothing(values, initialization_method="known", initial_level=values[0])
        return float(model.fit(smoothing_level=alpha, optimized=False).forecast(1)[0])

    return float(_quietly(fit))


def _spread_around(values: _Array, level: float, tail: int = 52) -> float:
    """Root mean square deviation of the last ``tail`` periods from ``level``: for
    intermittent demand the size of a period's demand dominates its forecast error."""
    recent = values[-tail:]
    return float(np.sqrt(np.mean(np.square(recent - level)))) if len(recent) else 0.0


class _LevelModel(_Model):
    """A flat forecast at a level computed from the history."""

    min_train = 2

    @staticmethod
    def level(values: _Array) -> float:
        raise NotImplementedError  # pragma: no cover - every model defines it

    def at_origins(self, values: _Array, origins: Sequence[int], horizon: int) -> list[_Array]:
        return [np.full(horizon, self.level(values[:o])) for o in origins]

    def predict(self, values: _Array, horizon: int) -> _Prediction:
        level = self.level(values)
        return _prediction(np.full(horizon, level), _spread_around(values, level), SBA_ALPHA)


class _Sba(_LevelModel):
    """Croston's method with the Syntetos-Boylan correction, per period."""

    method = ForecastMethod.CROSTON_SBA

    @staticmethod
    def level(values: _Array) -> float:
        positions = np.flatnonzero(values)
        if not len(positions):
            return 0.0
        sizes = values[positions]
        intervals = np.diff(np.concatenate(([-1], positions))).astype(np.float64)
        size = _ses_fixed(sizes, SBA_ALPHA)
        interval = _ses_fixed(intervals, SBA_ALPHA)
        return (1 - SBA_ALPHA / 2) * size / interval


class _Tsb(_LevelModel):
    """Teunter-Syntetos-Babai: SES of the demand probability (every period) times SES
    of the non-zero sizes; it lets the forecast decay when demand stops."""

    method = ForecastMethod.TSB

    @staticmethod
    def level(values: _Array) -> float:
        positions = np.flatnonzero(values)
        if not len(positions):
            return 0.0
        occurs = (values > 0).astype(np.float64)
        probability = _ses_fixed(occurs, SBA_ALPHA)
        size = _ses_fixed(values[positions], SBA_ALPHA)
        return probability * size


def _finite_or_raise(values: Any) -> _Array:
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise np.linalg.LinAlgError("the model produced non-finite forecasts")
    return array


def _smooth_profile(year: _Array) -> _Array:
    """Weights ¼, ½, ¼ over each period and its neighbours, wrapping around the year."""
    return np.asarray(0.25 * np.roll(year, 1) + 0.5 * year + 0.25 * np.roll(year, -1))


def _repeat(year: _Array, horizon: int) -> _Array:
    return np.asarray(np.tile(year, math.ceil(horizon / len(year)))[:horizon], dtype=np.float64)


_MODEL_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError, IndexError)


def _candidates(values: _Array, grid: Grid, horizon: int) -> list[_Model]:
    """Every model this history can support, simplest first (ties go to the first)."""
    m = grid.season
    n = len(values)
    nonzero = int(np.count_nonzero(values))
    models: list[_Model] = []
    if n >= 2 * m + horizon:
        models += [_SeasonalNaive(m), _Ses(), _Theta(m)]
        if grid is Grid.WEEK:
            models.append(_Decomposition(m))
        models.append(_HoltWinters(m, "add", estimated=grid is Grid.MONTH))
        if float(values.min()) > 0:
            models.append(_HoltWinters(m, "mul", estimated=grid is Grid.MONTH))
    elif n >= m:
        models += [_SeasonalNaive(m), _Ses(), _Theta(None), _SeasonalNaiveLevel(m)]
    else:
        models += [_Naive(), _Ses()]
    if nonzero and n / nonzero > INTERMITTENT_ADI:
        models += [_Sba(), _Tsb()]
    return models


def _origins(n: int, horizon: int, min_train: int, season: int) -> list[int]:
    """Backtest origins (prefix lengths), oldest first: ``horizon`` apart, the last
    ``horizon`` periods before the end, covering at most two seasons, each leaving at
    least ``min_train`` periods to fit on."""
    count = min(MAX_ORIGINS, max(1, 2 * season // horizon), (n - min_train) // horizon)
    return [n - k * horizon for k in range(count, 0, -1)]


def select(values: _Array, grid: Grid, horizon: int) -> tuple[_Model, Selection | None]:
    """Choose the model for ``values`` by a rolling-origin backtest (module doc).

    Every candidate is scored at the same origins, those the most demanding one
    allows; a history shorter than a season is scored over a shorter horizon (a third
    of it). Without a single origin, the default model, and ``None`` for the selection.
    """
    n = len(values)
    if n < grid.season:
        horizon = min(horizon, max(1, (n - 2) // 3))
    models = _candidates(values, grid, horizon)
    baseline = models[0]
    origins = _origins(n, horizon, max(m.min_train for m in models), grid.season)
    if not origins or n < 5:
        return _default(models, values, grid.season) or baseline, None
    actual = [values[o : o + horizon] for o in origins]
    errors: dict[_Model, _Array] = {}
    for model in models:
        try:
            forecasts = model.at_origins(values, origins, horizon)
        except _MODEL_ERRORS:
            continue
        per_origin = np.asarray(
            [
                np.mean(np.abs(a - np.maximum(f, 0.0)))
                for a, f in zip(actual, forecasts, strict=True)
            ]
        )
        if np.all(np.isfinite(per_origin)):  # pragma: no branch - models raise instead
            errors[model] = per_origin
    scores = {m: float(np.mean(e)) for m, e in errors.items()}
    best = _choose(errors, _default(list(errors), values, grid.season), baseline)
    base = scores.get(baseline, math.inf)
    return best, Selection(
        grid=grid,
        origins=len(origins),
        horizon=horizon,
        baseline=baseline.method.value,
        mae=scores[best],
        baseline_mae=base,
        scores={m.method.value: _relative(s, base) for m, s in scores.items()},
    )


def _seasonality(values: _Array, season: int) -> float:
    """Autocorrelation at the seasonal lag (0 without two seasons or any variation)."""
    from statsmodels.tsa.stattools import acf

    if len(values) < 2 * season or float(np.ptp(values)) == 0:
        return 0.0
    return float(acf(values, nlags=season, fft=True)[season])


def _structure(values: _Array) -> float:
    """The Durbin-Watson (von Neumann) ratio of the demeaned series."""
    from statsmodels.stats.stattools import durbin_watson

    if float(np.ptp(values)) == 0:
        return 2.0
    return float(durbin_watson(values - values.mean()))


def _default(models: Sequence[_Model], values: _Array, season: int) -> _Model | None:
    """The model a product gets unless the backtest says otherwise: Croston/SBA for
    intermittent demand; with two seasons, damped Holt-Winters (the better of its two
    seasons) for a seasonal history (autocorrelation at the seasonal lag above
    ``SEASONAL_ACF``); with one, ``seasonal_naive_level`` for a structured one
    (``STRUCTURE_DW``); else SES."""
    nonzero = int(np.count_nonzero(values))
    if nonzero and len(values) / nonzero > INTERMITTENT_ADI:
        preferred: tuple[ForecastMethod, ...] = (ForecastMethod.CROSTON_SBA,)
    elif len(values) < 2 * season:
        structured = len(values) >= season and _structure(values) < STRUCTURE_DW
        preferred = (ForecastMethod.SEASONAL_NAIVE_LEVEL if structured else ForecastMethod.SES,)
    elif _seasonality(values, season) <= SEASONAL_ACF:
        preferred = (ForecastMethod.SES,)
    else:
        preferred = (
            ForecastMethod.HOLT_WINTERS_ADDITIVE,
            ForecastMethod.HOLT_WINTERS_MULTIPLICATIVE,
        )
    found = [m for m in models if m.method in preferred]
    if not found:
        found = [m for m in models if m.method is ForecastMethod.SES]
    return found[0] if found else None


def _choose(errors: Mapping[_Model, _Array], default: _Model | None, baseline: _Model) -> _Model:
    """The default model (the better of its kind, by mean error), unless another beats
    it at the origins significantly (one-sided paired t-test, ``p < CHALLENGE_P``);
    then the best such challenger (with fewer than ``MIN_TESTED_ORIGINS`` origins, one
    that wins at every origin, of at least two). The baseline when the choice does not
    beat it, or stands in for a default that failed to fit."""
    from statsmodels.stats.weightstats import DescrStatsW

    means = {m: float(np.mean(e)) for m, e in errors.items()}
    default = default if default is not None and default in errors else baseline
    kind = [m for m in errors if m.method in _FAMILY.get(default.method, (default.method,))]
    champion = min(kind, key=lambda m: means[m])
    challengers: list[_Model] = []
    for model, e in errors.items():
        if model is champion or means[model] >= means[champion]:
            continue
        differences = e - errors[champion]
        if len(differences) < MIN_TESTED_ORIGINS or float(np.ptp(differences)) == 0:
            # too few origins to test: a win at every one of at least two
            significant = len(differences) >= 2 and bool(np.all(differences < 0))
        else:
            test = DescrStatsW(differences).ttest_mean
            _, pvalue, _ = _quietly(functools.partial(test, 0.0, alternative="smaller"))
            significant = float(pvalue) < CHALLENGE_P
        if significant:
            challengers.append(model)
    if challengers:
        champion = min(challengers, key=lambda m: means[m])
    if means[champion] >= means.get(baseline, math.inf):
        return baseline
    return champion


_FAMILY: Mapping[ForecastMethod, tuple[ForecastMethod, ...]] = {
    ForecastMethod.HOLT_WINTERS_ADDITIVE: (
        ForecastMethod.HOLT_WINTERS_ADDITIVE,
        ForecastMethod.HOLT_WINTERS_MULTIPLICATIVE,
    ),
    ForecastMethod.HOLT_WINTERS_MULTIPLICATIVE: (
        ForecastMethod.HOLT_WINTERS_ADDITIVE,
        ForecastMethod.HOLT_WINTERS_MULTIPLICATIVE,
    ),
}


def _relative(mae: float, baseline_mae: float) -> float:
    if baseline_mae == 0:
        return 0.0 if mae == 0 else math.inf
    return mae / baseline_mae


def predict(
    method: ForecastMethod, values: _Array, horizon: int, grid: Grid = Grid.WEEK
) -> tuple[ForecastMethod, _Array]:
    """Run ``method`` over ``values``; the method actually used and the forecast.

    A model that fails to fit, or produces non-finite numbers, falls back to the
    seasonal naive method (naive without a full season).
    """
    if method is ForecastMethod.NO_DEMAND or horizon <= 0:
        return method, np.zeros(max(horizon, 0))
    model = _model_for(method, values, grid)
    used, prediction = _run(model, values, horizon, grid)
    return used.method, prediction.mean


def _model_for(method: ForecastMethod, values: _Array, grid: Grid) -> _Model:
    m = grid.season
    makers: dict[ForecastMethod, Callable[[], _Model]] = {
        ForecastMethod.NAIVE: _Naive,
        ForecastMethod.SEASONAL_NAIVE: lambda: _SeasonalNaive(m),
        ForecastMethod.SES: _Ses,
        ForecastMethod.SEASONAL_NAIVE_LEVEL: lambda: _SeasonalNaiveLevel(m),
        ForecastMethod.SEASONAL_DECOMPOSITION: lambda: _Decomposition(m),
        ForecastMethod.HOLT_WINTERS_ADDITIVE: lambda: _HoltWinters(
            m, "add", estimated=grid is Grid.MONTH
        ),
        ForecastMethod.HOLT_WINTERS_MULTIPLICATIVE: lambda: _HoltWinters(
            m, "mul", estimated=grid is Grid.MONTH
        ),
        ForecastMethod.THETA: lambda: _Theta(m if len(values) >= 2 * m else None),
        ForecastMethod.CROSTON_SBA: _Sba,
        ForecastMethod.TSB: _Tsb,
    }
    return makers[method]()


def _fallback(values: _Array, grid: Grid) -> _Model:
    return _SeasonalNaive(grid.season) if len(values) >= grid.season else _Naive()


def _run(model: _Model, values: _Array, horizon: int, grid: Grid) -> tuple[_Model, _Prediction]:
    try:
        return model, model.predict(values, horizon)
    except _MODEL_ERRORS:
        fallback = _fallback(values, grid)
        return fallback, fallback.predict(values, horizon)


def _to_weeks(
    months: _Array, sd: _Array, cum_sd: _Array, first: date, start: date, weeks: int
) -> tuple[_Array, _Array, _Array]:
    """Monthly forecasts from the month ``first`` as weekly ones from the Monday
    ``start``: each month's demand spread evenly over its days; variances likewise,
    cumulative ones interpolated between month ends."""
    days = weeks * 7
    rate = np.empty(days)
    var_rate = np.empty(days)
    cum_at_month_end: list[float] = []
    month_bounds: list[int] = []
    offset = (first - start).days  # ≤ 0: the first month began before the first week
    index = 0
    day = 0
    while day < days:
        month = _add_months(first, index)
        length = _days_in_month(month)
        i = min(index, len(months) - 1)
        lo, hi = max(offset, 0), min(offset + length, days)  # never empty: offset < days
        rate[lo:hi] = months[i] / length
        var_rate[lo:hi] = sd[i] ** 2 / length
        month_bounds.append(offset + length)
        cum_at_month_end.append(float(cum_sd[i]) ** 2)
        offset += length
        index += 1
        day = offset
    weekly = rate.reshape(weeks, 7).sum(axis=1)
    week_var = var_rate.reshape(weeks, 7).sum(axis=1)
    # cumulative variance at each week end, measured from ``start``: interpolate the
    # months' cumulative variance (from ``first``) and take off the part before start
    bounds = np.asarray([(first - start).days, *month_bounds], dtype=np.float64)
    cum = np.asarray([0.0, *cum_at_month_end])
    ends = np.arange(1, weeks + 1, dtype=np.float64) * 7
    before = float(np.interp(0.0, bounds, cum))
    cum_var = np.maximum(np.interp(ends, bounds, cum) - before, 0.0)
    return weekly, np.sqrt(week_var), np.sqrt(cum_var)


def forecast_series(
    sku: str,
    series: WeeklySeries,
    *,
    horizon_weeks: int = DEFAULT_HORIZON_WEEKS,
    backtest_horizon_weeks: int = MIN_BACKTEST_WEEKS,
) -> Forecast:
    """Forecast ``horizon_weeks`` weeks from the end of ``series`` with the method its
    rolling-origin backtest chose (module doc); ``backtest_horizon_weeks`` from
    :func:`backtest_weeks`."""
    monthly = series.monthly
    grid = series.grid
    weeks = max(horizon_weeks, 0)
    if monthly is not None:
        values = np.asarray(monthly.values[-MAX_HISTORY_MONTHS:], dtype=np.float64)
        horizon = math.ceil(weeks * 7 / 28) + 2
        backtest_horizon = max(1, round(backtest_horizon_weeks * SEASON_MONTHS / SEASON_WEEKS))
    else:
        values = np.asarray(series.values[-MAX_HISTORY_WEEKS:], dtype=np.float64)
        horizon = weeks
        backtest_horizon = backtest_horizon_weeks
    diagnostics = diagnose(values, grid.season)
    method = ForecastMethod.NO_DEMAND
    selection: Selection | None = None
    demand = spread = week_sd = np.zeros(weeks)
    months: tuple[float, ...] = ()
    months_first: date | None = None
    if diagnostics["adi"] != math.inf and weeks > 0:
        model, selection = select(values, grid, backtest_horizon)
        used, prediction = _run(model, values, horizon, grid)
        method = used.method
        mean = np.maximum(prediction.mean, 0.0)
        if monthly is None:
            demand, week_sd, spread = mean, prediction.sd, prediction.cum_sd
        else:
            # the month in progress, when its record is already in, is known: the
            # forecast covers the months after it
            months_first = month_start(series.end)
            known = [float(monthly.values[-1])] if monthly.end > months_first else []
            months = tuple(known + [float(v) for v in mean])
            pad = np.zeros(len(known))
            demand, week_sd, spread = _to_weeks(
                np.asarray(months),
                np.concatenate((pad, prediction.sd)),
                np.concatenate((pad, prediction.cum_sd)),
                months_first,
                series.end,
                weeks,
            )
    return Forecast(
        sku=Sku(sku),
        method=method,
        start=series.end,
        demand=tuple(float(max(0.0, d)) for d in demand[:weeks]),
        history_weeks=len(series.values),
        diagnostics={k: v for k, v in diagnostics.items() if math.isfinite(v)},
        fingerprint=fingerprint(series, backtest_horizon_weeks),
        spread=tuple(round(float(v), 4) for v in spread[:weeks]),
        week_sd=tuple(round(float(v), 4) for v in week_sd[:weeks]),
        selection=selection,
        monthly=months,
        monthly_start=months_first,
    )


# -- backtest of the catalog (GET /api/v1/backtest) -------------------------------------


@dataclass(frozen=True)
class ProductBacktest:
    sku: Sku
    method: ForecastMethod
    training_weeks: int
    holdout_weeks: int
    baseline: str
    """``seasonal_naive`` (a season back) or ``naive`` (the last period): the scale and
    the benchmark."""
    mae: float
    baseline_mae: float
    mase: float
    baseline_mase: float
    grid: Grid = Grid.WEEK
    selection_error: float | None = None
    """The rolling-origin error the method was chosen by (relative to its baseline)."""

    @property
    def relative_mae(self) -> float:
        return self.mae / self.baseline_mae if self.baseline_mae else math.inf

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "method": self.method.value,
            "grid": self.grid.value,
            "training_weeks": self.training_weeks,
            "holdout_weeks": self.holdout_weeks,
            "baseline": self.baseline,
            "mae": round(self.mae, 4),
            "baseline_mae": round(self.baseline_mae, 4),
            "mase": round(self.mase, 4),
            "baseline_mase": round(self.baseline_mase, 4),
            "relative_mae": _finite(self.relative_mae),
            "selection_error": (
                _finite(self.selection_error) if self.selection_error is not None else None
            ),
        }


@dataclass(frozen=True)
class MethodScore:
    """Mean MASE of the products forecast with one method (or of all of them)."""

    products: int
    mase: float
    baseline_mase: float
    relative_mae: float = math.nan
    """Mean of the products' MAE relative to their baseline's."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "products": self.products,
            "mase": round(self.mase, 4),
            "baseline_mase": round(self.baseline_mase, 4),
            "relative_mae": _finite(self.relative_mae),
        }


@dataclass(frozen=True)
class BacktestReport:
    holdout_weeks: int
    products: tuple[ProductBacktest, ...]
    skipped: tuple[Sku, ...]
    """Products with too little history, or whose in-sample baseline error is zero."""
    overall: MethodScore | None
    by_method: Mapping[str, MethodScore]

    def to_dict(self) -> dict[str, Any]:
        return {
            "holdout_weeks": self.holdout_weeks,
            "overall": self.overall.to_dict() if self.overall else None,
            "by_method": {k: v.to_dict() for k, v in sorted(self.by_method.items())},
            "products": [p.to_dict() for p in self.products],
            "skipped": list(self.skipped),
        }


def _score(items: Iterable[ProductBacktest]) -> MethodScore | None:
    chosen = list(items)
    if not chosen:
        return None
    relative = [p.relative_mae for p in chosen if math.isfinite(p.relative_mae)]
    return MethodScore(
        len(chosen),
        fmean(p.mase for p in chosen),
        fmean(p.baseline_mase for p in chosen),
        fmean(relative) if relative else math.nan,
    )


def backtest_product(
    sku: str,
    series: WeeklySeries,
    holdout_weeks: int,
    backtest_horizon_weeks: int = MIN_BACKTEST_WEEKS,
) -> ProductBacktest | None:
    """Score the forecast of the last ``holdout_weeks`` from the weeks before them.

    On the month grid (history recorded monthly) the holdout is the months those weeks
    cover whole, scored month by month. ``None`` when training would have fewer than
    two periods or the scale is zero.
    """
    if holdout_weeks < 1 or len(series.values) - holdout_weeks < 2:
        return None
    train_series = series.head(len(series.values) - holdout_weeks)
    if series.monthly is not None and train_series.monthly is not None:
        grid = Grid.MONTH
        train = np.asarray(train_series.monthly.values, dtype=np.float64)
        held = len(series.monthly.values) - len(train)
        actual = np.asarray(series.monthly.values[len(train) :], dtype=np.float64)
        if held < 1 or len(train) < 2:
            return None
    else:
        grid = Grid.WEEK
        train_series = WeeklySeries(train_series.start, train_series.values)
        train = np.asarray(train_series.values, dtype=np.float64)
        actual = np.asarray(series.values[-holdout_weeks:], dtype=np.float64)
    m = grid.season
    lag, baseline = (m, "seasonal_naive") if len(train) > m else (1, "naive")
    scale = float(np.mean(np.abs(train[lag:] - train[:-lag])))
    if scale == 0:
        return None
    forecast = forecast_series(
        sku,
        train_series,
        horizon_weeks=holdout_weeks + 6,
        backtest_horizon_weeks=backtest_horizon_weeks,
    )
    if grid is Grid.MONTH:
        first = train_series.monthly.end  # type: ignore[union-attr]
        predicted = np.asarray(
            [
                forecast.between(_add_months(first, i), _add_months(first, i + 1))
                for i in range(len(actual))
            ]
        )
    else:
        predicted = np.asarray(forecast.demand[:holdout_weeks], dtype=np.float64)
    naive = np.full(len(actual), train[-1]) if lag == 1 else _repeat(train[-m:], len(actual))
    mae = float(np.mean(np.abs(actual - predicted)))
    baseline_mae = float(np.mean(np.abs(actual - naive)))
    return ProductBacktest(
        sku=Sku(sku),
        method=forecast.method,
        training_weeks=len(train_series.values),
        holdout_weeks=holdout_weeks,
        baseline=baseline,
        mae=mae,
        baseline_mae=baseline_mae,
        mase=mae / scale,
        baseline_mase=baseline_mae / scale,
        grid=grid,
        selection_error=forecast.backtest_error,
    )


def backtest(series: Mapping[str, WeeklySeries], holdout_weeks: int) -> BacktestReport:
    """:func:`backtest_product` for every product, with overall and per-method means."""
    scored: list[ProductBacktest] = []
    skipped: list[Sku] = []
    for sku in sorted(series):
        result = backtest_product(sku, series[sku], holdout_weeks)
        if result is None:
            skipped.append(Sku(sku))
        else:
            scored.append(result)
    by_method: dict[str, list[ProductBacktest]] = defaultdict(list)
    for result in scored:
        by_method[result.method.value].append(result)
    return BacktestReport(
        holdout_weeks=holdout_weeks,
        products=tuple(scored),
        skipped=tuple(skipped),
        overall=_score(scored),
        by_method={k: s for k, v in by_method.items() if (s := _score(v)) is not None},
    )
