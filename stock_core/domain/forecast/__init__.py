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

from stock_core.domain.forecast.backtest import BacktestReport
from stock_core.domain.forecast.backtest import MethodScore
from stock_core.domain.forecast.backtest import ProductBacktest
from stock_core.domain.forecast.backtest import backtest
from stock_core.domain.forecast.backtest import backtest_product
from stock_core.domain.forecast.result import Forecast
from stock_core.domain.forecast.result import Selection
from stock_core.domain.forecast.result import WeekDemand
from stock_core.domain.forecast.result import backtest_weeks
from stock_core.domain.forecast.result import diagnose
from stock_core.domain.forecast.result import fingerprint
from stock_core.domain.forecast.selection import forecast_series
from stock_core.domain.forecast.selection import predict
from stock_core.domain.forecast.selection import select
from stock_core.domain.forecast.series import DEFAULT_HORIZON_WEEKS
from stock_core.domain.forecast.series import DEFAULT_INTERVAL
from stock_core.domain.forecast.series import INTERMITTENT_ADI
from stock_core.domain.forecast.series import MAX_HISTORY_WEEKS
from stock_core.domain.forecast.series import MAX_ORIGINS
from stock_core.domain.forecast.series import MIN_BACKTEST_WEEKS
from stock_core.domain.forecast.series import SBA_ALPHA
from stock_core.domain.forecast.series import SEASON_MONTHS
from stock_core.domain.forecast.series import SEASON_WEEKS
from stock_core.domain.forecast.series import SEASONAL_ACF
from stock_core.domain.forecast.series import SEASONAL_METHODS
from stock_core.domain.forecast.series import STRUCTURE_DW
from stock_core.domain.forecast.series import ForecastMethod
from stock_core.domain.forecast.series import Grid
from stock_core.domain.forecast.series import MonthlySeries
from stock_core.domain.forecast.series import WeeklySeries
from stock_core.domain.forecast.series import month_start
from stock_core.domain.forecast.series import week_start
from stock_core.domain.forecast.series import weekly_series

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
