"""The candidate models (statsmodels underneath): naive, seasonal naive, SES,
Holt-Winters, Theta, decomposition, seasonal-naive level, SBA and TSB."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from stock_core.domain.forecast.series import _SIMULATIONS
from stock_core.domain.forecast.series import _WARNINGS_LOCK
from stock_core.domain.forecast.series import INTERMITTENT_ADI
from stock_core.domain.forecast.series import SBA_ALPHA
from stock_core.domain.forecast.series import ForecastMethod
from stock_core.domain.forecast.series import Grid
from stock_core.domain.forecast.series import _Array

__all__ = []


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

        initial: dict[str, Any] = {
            "initialization_method": "estimated" if self.estimated else "heuristic"
        }
        if params is not None:  # a re-run with a first fit's parameters: its initial states
            initial = {
                "initialization_method": "known",
                "initial_level": params["initial_level"],
                "initial_trend": params["initial_trend"],
                "initial_seasonal": params["initial_seasons"],
            }
        return ExponentialSmoothing(
            values,
            trend="add",
            damped_trend=True,
            seasonal=self.seasonal,
            seasonal_periods=self.season,
            **initial,
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

    @classmethod
    def level(cls, values: _Array) -> float:
        """0 for a history without demand; else the model's level of its non-zero
        periods (``positions``)."""
        positions = np.flatnonzero(values)
        return cls.demand_level(values, positions) if len(positions) else 0.0

    @staticmethod
    def demand_level(values: _Array, positions: npt.NDArray[np.intp]) -> float:
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
    def demand_level(values: _Array, positions: npt.NDArray[np.intp]) -> float:
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
    def demand_level(values: _Array, positions: npt.NDArray[np.intp]) -> float:
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
