"""A forecast and how its method was chosen: demand, intervals, safety stock, the
backtest's figures; the series' fingerprint and diagnostics."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta
from statistics import NormalDist
from typing import Any

import numpy as np

from stock_core.domain.forecast.series import _MODEL_VERSION
from stock_core.domain.forecast.series import DEFAULT_INTERVAL
from stock_core.domain.forecast.series import MAX_BACKTEST_WEEKS
from stock_core.domain.forecast.series import MIN_BACKTEST_WEEKS
from stock_core.domain.forecast.series import SEASON_WEEKS
from stock_core.domain.forecast.series import ForecastMethod
from stock_core.domain.forecast.series import Grid
from stock_core.domain.forecast.series import WeeklySeries
from stock_core.domain.forecast.series import _add_months
from stock_core.domain.forecast.series import _Array
from stock_core.domain.forecast.series import _days_in_month
from stock_core.domain.forecast.series import month_start
from stock_core.domain.forecast.series import week_start
from stock_core.types import Sku

__all__ = ["Forecast", "Selection", "WeekDemand", "backtest_weeks", "diagnose", "fingerprint"]


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


def _relative(mae: float, baseline_mae: float) -> float:
    if baseline_mae == 0:
        return 0.0 if mae == 0 else math.inf
    return mae / baseline_mae
