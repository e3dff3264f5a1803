"""The catalog backtest (GET /api/v1/backtest): every product's holdout scored per
method against the chosen one."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import fmean
from typing import Any

import numpy as np

from stock_core.domain.forecast.models import _repeat
from stock_core.domain.forecast.result import _finite
from stock_core.domain.forecast.selection import forecast_series
from stock_core.domain.forecast.series import MIN_BACKTEST_WEEKS
from stock_core.domain.forecast.series import ForecastMethod
from stock_core.domain.forecast.series import Grid
from stock_core.domain.forecast.series import WeeklySeries
from stock_core.domain.forecast.series import _add_months
from stock_core.types import Sku

__all__ = ["BacktestReport", "MethodScore", "ProductBacktest", "backtest", "backtest_product"]


@dataclass(frozen=True)
class ProductBacktest:
    """How one product's chosen method did on the held-out weeks, against the baseline."""

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
