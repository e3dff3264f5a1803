"""Weekly demand forecasts: the series, the method choice, the models and the backtest.

Pure: series in, forecasts out; no clock, no database. Models come from statsmodels
(Holt-Winters and simple exponential smoothing); this module only chooses and wires.

The series. Demand per ISO week (weeks start on Monday) from imported history and the
ledger's outbound movements, from the product's first recorded week up to the last
*complete* week before ``today``: a week still in progress would read as a dip.
Missing weeks are zero demand.

The method, by how much history there is and what it looks like:

* no demand at all → ``no_demand`` (zeros);
* ≥ 104 weeks (two yearly cycles) and yearly seasonality (autocorrelation at lag 52
  above ``SEASONAL_ACF``) → ``seasonal_decomposition``: classical additive
  decomposition (statsmodels ``seasonal_decompose``, period 52: the seasonal index of
  each week of the year is its mean deviation from a centred 52-week moving average,
  over every year of history), the index lightly smoothed over neighbouring weeks
  (¼, ½, ¼), plus the SES level of the deseasonalised series. Averaging the years is
  what tames the noise of any single December; on the demo catalog this scores a MASE
  about 8 % better than Holt-Winters and than the seasonal-naive baseline, and fits in
  milliseconds instead of a tenth of a second (``benchmarks/bench_forecast.py`` prints
  both). Holt-Winters stays available (``SeasonalModel.HOLT_WINTERS``): damped
  additive trend, additive or multiplicative yearly seasonality (``seasonal_periods=
  52``, multiplicative only when every week sold something), initial states
  estimated, the lower AICc of the two. Two cycles are what either needs to tell a
  season from a level;
* 52–103 weeks and structure (the Durbin-Watson / von Neumann ratio of the demeaned
  series below ``STRUCTURE_DW``: neighbouring weeks alike, as a season makes them;
  white noise scores about 2) → ``seasonal_naive_level``: last year's week, lightly
  smoothed (¼, ½, ¼ over neighbouring weeks), plus the level of the year-over-year
  change, itself smoothed by SES. One cycle is too little to fit seasonal states;
* intermittent demand (the average interval between non-zero weeks above 1.32, the
  Syntetos-Boylan cut-off) → Croston with the Syntetos-Boylan bias correction (SBA):
  SES (α = 0.1) over the non-zero sizes and over the intervals, forecast
  ``(1 - α/2) · size / interval`` per week;
* otherwise → simple exponential smoothing, its α estimated.

The backtest holds out the last weeks of each series, forecasts them from the rest
and reports MASE (Hyndman and Koehler, 2006): mean absolute error over the holdout
divided by the in-sample mean absolute error of the seasonal-naive forecast
(lag 52), or of the naive one (lag 1) when training has 52 weeks or fewer. The
baseline forecast itself is scored on the same scale, so the two are comparable.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import math
import threading
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import fmean
from typing import Any

import numpy as np
import numpy.typing as npt

# statsmodels (about 110 MB with scipy and pandas) is imported inside the functions
# that fit models, so processes that never fit one (the gateway, ``stockd serve``
# whose background sweeps run in a child process) never load it.
from stock_core.types import Sku

__all__ = [
    "DEFAULT_HORIZON_WEEKS",
    "INTERMITTENT_ADI",
    "MAX_HISTORY_WEEKS",
    "SBA_ALPHA",
    "SEASONAL_ACF",
    "SEASON_WEEKS",
    "STRUCTURE_DW",
    "BacktestReport",
    "Forecast",
    "ForecastMethod",
    "MethodScore",
    "ProductBacktest",
    "SeasonalModel",
    "WeekDemand",
    "WeeklySeries",
    "backtest",
    "backtest_product",
    "choose_method",
    "diagnose",
    "fingerprint",
    "forecast_series",
    "predict",
    "week_start",
    "weekly_series",
]

SEASON_WEEKS = 52
DEFAULT_HORIZON_WEEKS = 104
MAX_HISTORY_WEEKS = 260
"""Older weeks are left out of the fit (five years is plenty, and fits stay fast)."""
SEASONAL_ACF = 0.3
STRUCTURE_DW = 1.0
INTERMITTENT_ADI = 1.32
SBA_ALPHA = 0.1
_MODEL_VERSION = "1"

_Array = npt.NDArray[np.float64]

# warnings.catch_warnings() swaps process-wide state: one fit at a time may hold it.
_WARNINGS_LOCK = threading.Lock()


class ForecastMethod(enum.StrEnum):
    NO_DEMAND = "no_demand"
    SEASONAL_DECOMPOSITION = "seasonal_decomposition"
    HOLT_WINTERS_ADDITIVE = "holt_winters_additive"
    HOLT_WINTERS_MULTIPLICATIVE = "holt_winters_multiplicative"
    SEASONAL_NAIVE_LEVEL = "seasonal_naive_level"
    CROSTON_SBA = "croston_sba"
    SES = "ses"


class SeasonalModel(enum.StrEnum):
    """The model for two or more years of seasonal history."""

    DECOMPOSITION = "decomposition"
    HOLT_WINTERS = "holt_winters"


def week_start(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class WeeklySeries:
    """Demand per week from ``start`` (a Monday), one value per consecutive week."""

    start: date
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.start.weekday() != 0:
            raise ValueError(f"a weekly series starts on a Monday, not {self.start}")

    @property
    def end(self) -> date:
        """The Monday after the last week (where a forecast starts)."""
        return self.start + timedelta(weeks=len(self.values))

    def head(self, weeks: int) -> WeeklySeries:
        """The first ``weeks`` weeks."""
        return WeeklySeries(self.start, self.values[:weeks])


def weekly_series(points: Iterable[tuple[date, float]], *, today: date) -> WeeklySeries:
    """Sum ``(day, quantity)`` points per ISO week, up to the last week complete by ``today``.

    The series starts at the first week with a point (zero quantities count: they are
    recorded weeks without sales) and ends just before ``today``'s week; later points are
    ignored. Missing weeks are zero. Without points the series is empty and ends at
    ``today``'s week.
    """
    end = week_start(today)
    totals: dict[date, float] = defaultdict(float)
    for day, quantity in points:
        week = week_start(day)
        if week < end:
            totals[week] += quantity
    if not totals:
        return WeeklySeries(end, ())
    start = min(totals)
    count = (end - start).days // 7
    return WeeklySeries(
        start, tuple(totals.get(start + timedelta(weeks=i), 0.0) for i in range(count))
    )


@dataclass(frozen=True)
class WeekDemand:
    week_start: date
    demand: float


@dataclass(frozen=True)
class Forecast:
    """Forecast weekly demand of one product from the week ``start`` (a Monday) on."""

    sku: Sku
    method: ForecastMethod
    start: date
    demand: tuple[float, ...]
    history_weeks: int = 0
    diagnostics: Mapping[str, float] = field(default_factory=dict)
    fingerprint: str = ""
    """Identifies the series and model version it was computed from (see :func:`fingerprint`)."""

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
        """Forecast demand on ``day``: its week's demand spread evenly over seven days.

        Days before the first week read the first week, days past the last read the last.
        """
        if not self.demand:
            return 0.0
        index = min(max((day - self.start).days // 7, 0), len(self.demand) - 1)
        return self.demand[index] / 7

    def between(self, first: date, end: date) -> float:
        """Forecast demand from ``first`` up to, not including, ``end``."""
        return math.fsum(self.daily(first + timedelta(days=i)) for i in range((end - first).days))

    def to_dict(self, weeks: int | None = None, *, today: date | None = None) -> dict[str, Any]:
        """SPEC's shape: ``{"sku", "weeks": [{"week_start", "demand"}], "method"}``."""
        chosen = self.from_week(today, weeks) if today is not None else self.weeks[:weeks]
        return {
            "sku": self.sku,
            "weeks": [
                {"week_start": w.week_start.isoformat(), "demand": round(w.demand, 2)}
                for w in chosen
            ],
            "method": self.method.value,
            "history_weeks": self.history_weeks,
        }

    def detail(self) -> dict[str, Any]:
        """What is stored beside the weeks (the ``forecasts.detail`` column)."""
        return {
            "start": self.start.isoformat(),
            "history_weeks": self.history_weeks,
            "diagnostics": dict(self.diagnostics),
            "fingerprint": self.fingerprint,
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
        return cls(
            sku=Sku(sku),
            method=ForecastMethod(method),
            start=start,
            demand=tuple(float(w["demand"]) for w in weeks),
            history_weeks=int(detail.get("history_weeks", 0)),
            diagnostics={str(k): float(v) for k, v in dict(detail.get("diagnostics", {})).items()},
            fingerprint=str(detail.get("fingerprint", "")),
        )


def fingerprint(
    series: WeeklySeries, seasonal_model: SeasonalModel = SeasonalModel.DECOMPOSITION
) -> str:
    """A digest of the series, the seasonal model and the code's model version: equal
    digests, equal forecasts."""
    text = f"{_MODEL_VERSION}|{seasonal_model.value}|{series.start}|" + ",".join(
        f"{v:g}" for v in series.values
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def diagnose(values: _Array) -> dict[str, float]:
    """The statistics the method choice reads.

    ``weeks``; ``zero_share``; ``adi`` (weeks per non-zero week); ``acf52`` (yearly
    autocorrelation, with ≥ 104 weeks); ``dw`` (Durbin-Watson ratio of the demeaned
    series, with ≥ 52 weeks).
    """
    from statsmodels.stats.stattools import durbin_watson
    from statsmodels.tsa.stattools import acf

    n = len(values)
    nonzero = int(np.count_nonzero(values))
    result: dict[str, float] = {
        "weeks": float(n),
        "zero_share": 1 - nonzero / n if n else 1.0,
        "adi": n / nonzero if nonzero else math.inf,
    }
    if n >= SEASON_WEEKS and float(np.ptp(values)) > 0:
        result["dw"] = float(durbin_watson(values - values.mean()))
        if n >= 2 * SEASON_WEEKS:
            result["acf52"] = float(acf(values, nlags=SEASON_WEEKS, fft=True)[SEASON_WEEKS])
    return result


def choose_method(
    diagnostics: Mapping[str, float], seasonal_model: SeasonalModel = SeasonalModel.DECOMPOSITION
) -> ForecastMethod:
    """The method for a series with these :func:`diagnose` statistics (see module doc)."""
    if diagnostics["adi"] == math.inf:
        return ForecastMethod.NO_DEMAND
    if diagnostics.get("acf52", 0.0) > SEASONAL_ACF:
        if seasonal_model is SeasonalModel.HOLT_WINTERS:
            return ForecastMethod.HOLT_WINTERS_ADDITIVE
        return ForecastMethod.SEASONAL_DECOMPOSITION
    if "acf52" not in diagnostics and diagnostics.get("dw", 2.0) < STRUCTURE_DW:
        return ForecastMethod.SEASONAL_NAIVE_LEVEL
    if diagnostics["adi"] > INTERMITTENT_ADI:
        return ForecastMethod.CROSTON_SBA
    return ForecastMethod.SES


def forecast_series(
    sku: str,
    series: WeeklySeries,
    *,
    horizon_weeks: int = DEFAULT_HORIZON_WEEKS,
    seasonal_model: SeasonalModel = SeasonalModel.DECOMPOSITION,
) -> Forecast:
    """Forecast ``horizon_weeks`` weeks from the end of ``series`` with the chosen method."""
    values = np.asarray(series.values[-MAX_HISTORY_WEEKS:], dtype=np.float64)
    diagnostics = diagnose(values)
    method = choose_method(diagnostics, seasonal_model)
    method, demand = predict(method, values, horizon_weeks)
    return Forecast(
        sku=Sku(sku),
        method=method,
        start=series.end,
        demand=tuple(float(max(0.0, d)) for d in demand),
        history_weeks=len(series.values),
        diagnostics={k: v for k, v in diagnostics.items() if math.isfinite(v)},
        fingerprint=fingerprint(series, seasonal_model),
    )


def predict(method: ForecastMethod, values: _Array, horizon: int) -> tuple[ForecastMethod, _Array]:
    """Run ``method`` over ``values``; returns the method actually used and the forecast.

    Holt-Winters that fails to produce finite numbers falls back to the seasonal naive
    method with level.
    """
    if method is ForecastMethod.NO_DEMAND or horizon <= 0:
        return method, np.zeros(max(horizon, 0))
    if method is ForecastMethod.HOLT_WINTERS_ADDITIVE:
        fitted = _holt_winters(values, horizon)
        if fitted is not None:
            return fitted
        method = ForecastMethod.SEASONAL_NAIVE_LEVEL
    if method is ForecastMethod.SEASONAL_DECOMPOSITION:
        return method, _decomposition(values, horizon)
    if method is ForecastMethod.SEASONAL_NAIVE_LEVEL:
        return method, _seasonal_naive_level(values, horizon)
    if method is ForecastMethod.CROSTON_SBA:
        return method, np.full(horizon, _sba(values))
    return ForecastMethod.SES, np.full(horizon, _ses(values))


def _quietly(work: Callable[[], Any]) -> Any:
    """Run statsmodels code without its convergence and overflow warnings."""
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return work()


def _holt_winters(values: _Array, horizon: int) -> tuple[ForecastMethod, _Array] | None:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    kinds = [("add", ForecastMethod.HOLT_WINTERS_ADDITIVE)]
    if float(values.min()) > 0:
        kinds.append(("mul", ForecastMethod.HOLT_WINTERS_MULTIPLICATIVE))

    def fit(seasonal: str) -> tuple[float, _Array]:
        result = ExponentialSmoothing(
            values,
            trend="add",
            damped_trend=True,
            seasonal=seasonal,
            seasonal_periods=SEASON_WEEKS,
            initialization_method="estimated",
        ).fit()
        return float(result.aicc), np.asarray(result.forecast(horizon), dtype=np.float64)

    candidates: list[tuple[float, ForecastMethod, _Array]] = []
    for seasonal, method in kinds:
        try:
            aicc, forecast = _quietly(functools.partial(fit, seasonal))
        except (ValueError, np.linalg.LinAlgError):
            continue
        if np.all(np.isfinite(forecast)) and math.isfinite(aicc):
            candidates.append((aicc, method, forecast))
    if not candidates:
        return None
    _, method, forecast = min(candidates, key=lambda c: c[0])
    return method, forecast


def _smooth_profile(year: _Array) -> _Array:
    """Weights ¼, ½, ¼ over each week and its neighbours, wrapping around the year."""
    return np.asarray(0.25 * np.roll(year, 1) + 0.5 * year + 0.25 * np.roll(year, -1))


def _repeat(year: _Array, horizon: int) -> _Array:
    return np.asarray(np.tile(year, math.ceil(horizon / SEASON_WEEKS))[:horizon])


def _decomposition(values: _Array, horizon: int) -> _Array:
    """Smoothed additive seasonal index (the last cycle's positions) + SES level."""
    from statsmodels.tsa.seasonal import seasonal_decompose

    seasonal = np.asarray(seasonal_decompose(values, period=SEASON_WEEKS).seasonal)
    index = _smooth_profile(seasonal[-SEASON_WEEKS:])
    # index[k] belongs to the last cycle's k-th week: week i of the series has phase
    # (i - n) mod 52, and forecast week h has phase h mod 52.
    phases = (np.arange(len(values)) - len(values)) % SEASON_WEEKS
    return _repeat(index, horizon) + _ses(values - index[phases])


def _seasonal_naive_level(values: _Array, horizon: int) -> _Array:
    profile = _smooth_profile(values[-SEASON_WEEKS:])
    changes = values[SEASON_WEEKS:] - values[:-SEASON_WEEKS]
    level = _ses(changes) if len(changes) else 0.0
    return _repeat(profile, horizon) + level


def _ses(values: _Array) -> float:
    """The SES level (α estimated); constant or single-value series forecast themselves."""
    from statsmodels.tsa.holtwinters import SimpleExpSmoothing

    if len(values) == 1 or float(np.ptp(values)) == 0:
        return float(values[-1])

    def fit() -> float:
        model = SimpleExpSmoothing(values, initialization_method="estimated")
        return float(model.fit().forecast(1)[0])

    return float(_quietly(fit))


def _ses_fixed(values: _Array, alpha: float) -> float:
    """The SES level with a fixed α, starting from the first value."""
    from statsmodels.tsa.holtwinters import SimpleExpSmoothing

    if len(values) == 1 or float(np.ptp(values)) == 0:
        return float(values[0])

    def fit() -> float:
        model = SimpleExpSmoothing(values, initialization_method="known", initial_level=values[0])
        return float(model.fit(smoothing_level=alpha, optimized=False).forecast(1)[0])

    return float(_quietly(fit))


def _sba(values: _Array) -> float:
    """Croston's method with the Syntetos-Boylan correction, per week."""
    positions = np.flatnonzero(values)
    sizes = values[positions]
    intervals = np.diff(np.concatenate(([-1], positions))).astype(np.float64)
    size = _ses_fixed(sizes, SBA_ALPHA)
    interval = _ses_fixed(intervals, SBA_ALPHA)
    return (1 - SBA_ALPHA / 2) * size / interval


# -- backtest -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductBacktest:
    sku: Sku
    method: ForecastMethod
    training_weeks: int
    holdout_weeks: int
    baseline: str
    """``seasonal_naive`` (lag 52) or ``naive`` (lag 1): the scale and the benchmark."""
    mae: float
    baseline_mae: float
    mase: float
    baseline_mase: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "method": self.method.value,
            "training_weeks": self.training_weeks,
            "holdout_weeks": self.holdout_weeks,
            "baseline": self.baseline,
            "mae": round(self.mae, 4),
            "baseline_mae": round(self.baseline_mae, 4),
            "mase": round(self.mase, 4),
            "baseline_mase": round(self.baseline_mase, 4),
        }


@dataclass(frozen=True)
class MethodScore:
    """Mean MASE of the products forecast with one method (or of all of them)."""

    products: int
    mase: float
    baseline_mase: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "products": self.products,
            "mase": round(self.mase, 4),
            "baseline_mase": round(self.baseline_mase, 4),
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
    return MethodScore(
        len(chosen), fmean(p.mase for p in chosen), fmean(p.baseline_mase for p in chosen)
    )


def backtest_product(
    sku: str,
    series: WeeklySeries,
    holdout_weeks: int,
    seasonal_model: SeasonalModel = SeasonalModel.DECOMPOSITION,
) -> ProductBacktest | None:
    """Score the forecast of the last ``holdout_weeks`` from the weeks before them.

    ``None`` when training would have fewer than two weeks or the scale is zero.
    """
    if holdout_weeks < 1 or len(series.values) - holdout_weeks < 2:
        return None
    train_series = series.head(len(series.values) - holdout_weeks)
    train = np.asarray(train_series.values, dtype=np.float64)
    actual = np.asarray(series.values[-holdout_weeks:], dtype=np.float64)
    lag, baseline = (SEASON_WEEKS, "seasonal_naive") if len(train) > SEASON_WEEKS else (1, "naive")
    scale = float(np.mean(np.abs(train[lag:] - train[:-lag])))
    if scale == 0:
        return None
    forecast = forecast_series(
        sku, train_series, horizon_weeks=holdout_weeks, seasonal_model=seasonal_model
    )
    predicted = np.asarray(forecast.demand, dtype=np.float64)
    if lag == 1:
        naive = np.full(holdout_weeks, train[-1])
    else:
        naive = _repeat(train[-SEASON_WEEKS:], holdout_weeks)
    mae = float(np.mean(np.abs(actual - predicted)))
    baseline_mae = float(np.mean(np.abs(actual - naive)))
    return ProductBacktest(
        sku=Sku(sku),
        method=forecast.method,
        training_weeks=len(train),
        holdout_weeks=holdout_weeks,
        baseline=baseline,
        mae=mae,
        baseline_mae=baseline_mae,
        mase=mae / scale,
        baseline_mase=baseline_mae / scale,
    )


def backtest(
    series: Mapping[str, WeeklySeries],
    holdout_weeks: int,
    seasonal_model: SeasonalModel = SeasonalModel.DECOMPOSITION,
) -> BacktestReport:
    """:func:`backtest_product` for every product, with overall and per-method means."""
    scored: list[ProductBacktest] = []
    skipped: list[Sku] = []
    for sku in sorted(series):
        result = backtest_product(sku, series[sku], holdout_weeks, seasonal_model)
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
