"""Choosing a model by rolling-origin backtest on the product's own history, and
forecasting a series with it."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import date

import numpy as np

from stock_core.domain.forecast.models import _MODEL_ERRORS
from stock_core.domain.forecast.models import _candidates
from stock_core.domain.forecast.models import _Decomposition
from stock_core.domain.forecast.models import _HoltWinters
from stock_core.domain.forecast.models import _Model
from stock_core.domain.forecast.models import _Naive
from stock_core.domain.forecast.models import _Prediction
from stock_core.domain.forecast.models import _quietly
from stock_core.domain.forecast.models import _Sba
from stock_core.domain.forecast.models import _SeasonalNaive
from stock_core.domain.forecast.models import _SeasonalNaiveLevel
from stock_core.domain.forecast.models import _Ses
from stock_core.domain.forecast.models import _Theta
from stock_core.domain.forecast.models import _Tsb
from stock_core.domain.forecast.result import Forecast
from stock_core.domain.forecast.result import Selection
from stock_core.domain.forecast.result import _relative
from stock_core.domain.forecast.result import diagnose
from stock_core.domain.forecast.result import fingerprint
from stock_core.domain.forecast.series import CHALLENGE_P
from stock_core.domain.forecast.series import DEFAULT_HORIZON_WEEKS
from stock_core.domain.forecast.series import INTERMITTENT_ADI
from stock_core.domain.forecast.series import MAX_HISTORY_MONTHS
from stock_core.domain.forecast.series import MAX_HISTORY_WEEKS
from stock_core.domain.forecast.series import MAX_ORIGINS
from stock_core.domain.forecast.series import MIN_BACKTEST_WEEKS
from stock_core.domain.forecast.series import MIN_TESTED_ORIGINS
from stock_core.domain.forecast.series import SEASON_MONTHS
from stock_core.domain.forecast.series import SEASON_WEEKS
from stock_core.domain.forecast.series import SEASONAL_ACF
from stock_core.domain.forecast.series import STRUCTURE_DW
from stock_core.domain.forecast.series import ForecastMethod
from stock_core.domain.forecast.series import Grid
from stock_core.domain.forecast.series import WeeklySeries
from stock_core.domain.forecast.series import _add_months
from stock_core.domain.forecast.series import _Array
from stock_core.domain.forecast.series import _days_in_month
from stock_core.domain.forecast.series import month_start
from stock_core.types import Sku

__all__ = ["forecast_series", "predict", "select"]


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
