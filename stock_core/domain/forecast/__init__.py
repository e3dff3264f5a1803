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

from stock_core.domain.forecast import backtest as _backtest
from stock_core.domain.forecast import result as _result
from stock_core.domain.forecast import selection as _selection
from stock_core.domain.forecast import series as _series
from stock_core.domain.forecast.backtest import *  # noqa: F403 (its __all__ is ours)
from stock_core.domain.forecast.result import *  # noqa: F403
from stock_core.domain.forecast.selection import *  # noqa: F403
from stock_core.domain.forecast.series import *  # noqa: F403

# The package's names are its four modules' names.
__all__ = _backtest.__all__ + _result.__all__ + _selection.__all__ + _series.__all__
