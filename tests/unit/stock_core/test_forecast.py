from __future__ import annotations

import math
import random
from datetime import date, timedelta

import numpy as np
import pytest
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from stock_core.domain.forecast import (
    DEFAULT_HORIZON_WEEKS,
    Forecast,
    ForecastMethod,
    SeasonalModel,
    WeeklySeries,
    backtest,
    backtest_product,
    choose_method,
    diagnose,
    fingerprint,
    forecast_series,
    predict,
    week_start,
    weekly_series,
)
from stock_core.types import Sku

MONDAY = date(2021, 1, 4)


def daily_christmas(
    first: date, end: date, *, base: int = 3, peak: int = 15
) -> list[tuple[date, float]]:
    """Units per day: ``peak`` every December day, ``base`` otherwise."""
    days = (end - first).days
    return [
        (d, float(peak if d.month == 12 else base))
        for d in (first + timedelta(days=i) for i in range(days))
    ]


def series(values: list[float], start: date = MONDAY) -> WeeklySeries:
    return WeeklySeries(start, tuple(values))


def noisy(n: int, mean: float = 20.0, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [max(0.0, round(rng.gauss(mean, mean * 0.15))) for _ in range(n)]


def seasonal_weeks(n: int, seed: int = 2) -> list[float]:
    """A yearly sine season with noise, ``n`` weeks."""
    rng = random.Random(seed)
    return [
        round(20 + 15 * math.sin(2 * math.pi * i / 52) + rng.gauss(0, 1.5), 1) for i in range(n)
    ]


# -- weeks and series -----------------------------------------------------------------


def test_week_start_is_the_monday_of_the_iso_week() -> None:
    assert week_start(date(2024, 12, 25)) == date(2024, 12, 23)
    assert week_start(date(2024, 12, 23)) == date(2024, 12, 23)
    assert week_start(date(2024, 12, 29)) == date(2024, 12, 23)


def test_weekly_series_must_start_on_a_monday() -> None:
    with pytest.raises(ValueError, match="Monday"):
        WeeklySeries(date(2021, 1, 5), (1.0,))


def test_weekly_series_end_and_head() -> None:
    s = series([1, 2, 3])
    assert s.end == MONDAY + timedelta(weeks=3)
    assert s.head(2) == series([1, 2])


def test_weekly_series_sums_days_into_weeks_and_fills_gaps_with_zero() -> None:
    points = [
        (date(2021, 1, 5), 2.0),
        (date(2021, 1, 10), 3.0),  # Sunday: same week
        (date(2021, 1, 19), 4.0),  # third week; second week has nothing
    ]
    s = weekly_series(points, today=date(2021, 1, 27))
    assert s == series([5, 0, 4])


def test_weekly_series_leaves_out_the_week_in_progress_and_later() -> None:
    points = [(date(2021, 1, 4), 1.0), (date(2021, 1, 12), 7.0), (date(2021, 2, 1), 9.0)]
    s = weekly_series(points, today=date(2021, 1, 13))
    assert s == series([1])
    assert s.end == date(2021, 1, 11)


def test_weekly_series_without_points_is_empty_and_ends_this_week() -> None:
    s = weekly_series([], today=date(2021, 1, 13))
    assert s.values == ()
    assert s.start == s.end == date(2021, 1, 11)


def test_weekly_series_counts_recorded_zero_weeks_as_history() -> None:
    s = weekly_series([(MONDAY, 0.0), (date(2021, 1, 11), 4.0)], today=date(2021, 1, 18))
    assert s == series([0, 4])


# -- the Forecast value ---------------------------------------------------------------


def make_forecast(demand: tuple[float, ...] = (7.0, 14.0, 21.0)) -> Forecast:
    return Forecast(Sku("X"), ForecastMethod.SES, MONDAY, demand, history_weeks=5)


def test_forecast_weeks_and_from_week() -> None:
    f = make_forecast()
    assert [w.week_start for w in f.weeks] == [MONDAY + timedelta(weeks=i) for i in range(3)]
    assert [w.demand for w in f.from_week(date(2021, 1, 13))] == [14.0, 21.0]
    assert [w.demand for w in f.from_week(date(2021, 1, 13), 1)] == [14.0]
    assert [w.demand for w in f.from_week(date(2020, 12, 1))] == [7.0, 14.0, 21.0]


def test_forecast_daily_spreads_a_week_evenly_and_clamps_outside() -> None:
    f = make_forecast()
    assert f.daily(MONDAY) == 1.0
    assert f.daily(date(2021, 1, 17)) == 2.0
    assert f.daily(date(2020, 6, 1)) == 1.0
    assert f.daily(date(2022, 6, 1)) == 3.0
    assert make_forecast(()).daily(MONDAY) == 0.0


def test_forecast_between_sums_days_end_excluded() -> None:
    f = make_forecast()
    assert f.between(date(2021, 1, 8), date(2021, 1, 13)) == pytest.approx(3 * 1 + 2 * 2)
    assert f.between(MONDAY, MONDAY) == 0


def test_forecast_to_dict_is_the_pinned_shape() -> None:
    f = make_forecast((1.234, 2.0, 3.0))
    assert f.to_dict(2) == {
        "sku": "X",
        "weeks": [
            {"week_start": "2021-01-04", "demand": 1.23},
            {"week_start": "2021-01-11", "demand": 2.0},
        ],
        "method": "ses",
        "history_weeks": 5,
    }
    later = f.to_dict(today=date(2021, 1, 20))
    assert [w["week_start"] for w in later["weeks"]] == ["2021-01-18"]


def test_forecast_survives_storage() -> None:
    f = forecast_series("X", series(noisy(30)), horizon_weeks=4)
    back = Forecast.from_stored("X", f.method.value, f.stored_weeks(), f.detail())
    assert back == f


def test_fingerprint_changes_with_the_series() -> None:
    assert fingerprint(series([1, 2])) == fingerprint(series([1, 2]))
    assert fingerprint(series([1, 2])) != fingerprint(series([1, 3]))
    assert fingerprint(series([1, 2])) != fingerprint(series([1, 2], MONDAY + timedelta(weeks=1)))
    assert fingerprint(series([1, 2])) != fingerprint(series([1, 2]), SeasonalModel.HOLT_WINTERS)


# -- diagnostics and method choice ------------------------------------------------------


def test_diagnose_empty_and_short_series() -> None:
    empty = diagnose(np.zeros(0))
    assert empty["zero_share"] == 1.0
    assert empty["adi"] == math.inf
    short = diagnose(np.array([0.0, 4.0, 0.0, 4.0]))
    assert short == {"weeks": 4.0, "zero_share": 0.5, "adi": 2.0}


def test_diagnose_reads_structure_from_a_year_and_seasonality_from_two() -> None:
    one_year = diagnose(np.array(seasonal_weeks(60)))
    assert one_year["dw"] < 1.0
    assert "acf52" not in one_year
    two_years = diagnose(np.array(seasonal_weeks(110)))
    assert two_years["acf52"] > 0.3
    flat = diagnose(np.full(110, 5.0))
    assert "dw" not in flat
    assert "acf52" not in flat


@pytest.mark.parametrize(
    ("diagnostics", "model", "method"),
    [
        ({"adi": math.inf}, SeasonalModel.DECOMPOSITION, ForecastMethod.NO_DEMAND),
        (
            {"adi": 1.0, "acf52": 0.6, "dw": 0.2},
            SeasonalModel.DECOMPOSITION,
            ForecastMethod.SEASONAL_DECOMPOSITION,
        ),
        (
            {"adi": 1.0, "acf52": 0.6, "dw": 0.2},
            SeasonalModel.HOLT_WINTERS,
            ForecastMethod.HOLT_WINTERS_ADDITIVE,
        ),
        ({"adi": 1.0, "acf52": 0.1, "dw": 0.2}, SeasonalModel.DECOMPOSITION, ForecastMethod.SES),
        ({"adi": 1.0, "dw": 0.5}, SeasonalModel.DECOMPOSITION, ForecastMethod.SEASONAL_NAIVE_LEVEL),
        ({"adi": 1.0, "dw": 2.0}, SeasonalModel.DECOMPOSITION, ForecastMethod.SES),
        ({"adi": 3.0, "dw": 2.0}, SeasonalModel.DECOMPOSITION, ForecastMethod.CROSTON_SBA),
        ({"adi": 3.0}, SeasonalModel.DECOMPOSITION, ForecastMethod.CROSTON_SBA),
        ({"adi": 1.1}, SeasonalModel.DECOMPOSITION, ForecastMethod.SES),
    ],
)
def test_choose_method(
    diagnostics: dict[str, float], model: SeasonalModel, method: ForecastMethod
) -> None:
    assert choose_method(diagnostics, model) is method


# -- forecasts ------------------------------------------------------------------------


def december_and_september(f: Forecast, year: int) -> tuple[float, float]:
    def mean_of(month: int) -> float:
        weeks = [
            w.demand
            for w in f.weeks
            if (w.week_start + timedelta(days=3)).month == month and w.week_start.year == year
        ]
        return sum(weeks) / len(weeks)

    return mean_of(12), mean_of(9)


@pytest.mark.parametrize("model", list(SeasonalModel))
def test_a_christmas_seller_is_forecast_to_sell_at_christmas(model: SeasonalModel) -> None:
    today = date(2023, 1, 9)
    history = weekly_series(daily_christmas(date(2021, 1, 4), today), today=today)
    assert len(history.values) == 105
    f = forecast_series("XMAS", history, horizon_weeks=52, seasonal_model=model)
    assert f.method in (
        ForecastMethod.SEASONAL_DECOMPOSITION,
        ForecastMethod.HOLT_WINTERS_ADDITIVE,
        ForecastMethod.HOLT_WINTERS_MULTIPLICATIVE,
    )
    assert f.start == today
    assert len(f.demand) == 52
    december, september = december_and_september(f, 2023)
    assert december >= 2 * september
    assert september == pytest.approx(21, rel=0.25)


def test_holt_winters_is_additive_when_some_weeks_sold_nothing() -> None:
    values = [0.0 if i % 52 < 4 else v for i, v in enumerate(seasonal_weeks(110))]
    method, demand = predict(ForecastMethod.HOLT_WINTERS_ADDITIVE, np.array(values), 10)
    assert method is ForecastMethod.HOLT_WINTERS_ADDITIVE
    assert len(demand) == 10


class _UnfittableExponentialSmoothing(ExponentialSmoothing):  # type: ignore[misc]
    def fit(self, *args: object, **kwargs: object) -> object:
        raise np.linalg.LinAlgError("singular")


class _NotANumber:
    aicc = math.nan

    def forecast(self, steps: int) -> list[float]:
        return [math.nan] * steps


class _DivergingExponentialSmoothing(ExponentialSmoothing):  # type: ignore[misc]
    def fit(self, *args: object, **kwargs: object) -> object:
        return _NotANumber()


@pytest.mark.parametrize(
    "stand_in", [_UnfittableExponentialSmoothing, _DivergingExponentialSmoothing]
)
def test_holt_winters_that_cannot_fit_falls_back_to_seasonal_naive(
    monkeypatch: pytest.MonkeyPatch, stand_in: type
) -> None:
    monkeypatch.setattr("statsmodels.tsa.holtwinters.ExponentialSmoothing", stand_in)
    method, demand = predict(ForecastMethod.HOLT_WINTERS_ADDITIVE, np.array(seasonal_weeks(110)), 3)
    assert method is ForecastMethod.SEASONAL_NAIVE_LEVEL
    assert len(demand) == 3


def test_one_year_of_seasonal_history_repeats_last_year_with_the_level() -> None:
    f = forecast_series("S", series(seasonal_weeks(60)), horizon_weeks=60)
    assert f.method is ForecastMethod.SEASONAL_NAIVE_LEVEL
    peak = max(range(52), key=lambda i: seasonal_weeks(60)[8:60][i])
    assert f.demand[peak] > 30
    assert len(f.demand) == 60


def test_exactly_one_year_is_seasonal_naive_without_a_level_change() -> None:
    values = seasonal_weeks(52)
    method, demand = predict(ForecastMethod.SEASONAL_NAIVE_LEVEL, np.array(values), 2)
    assert method is ForecastMethod.SEASONAL_NAIVE_LEVEL
    assert demand[0] == pytest.approx(0.25 * values[51] + 0.5 * values[0] + 0.25 * values[1])


def test_flat_demand_uses_simple_exponential_smoothing() -> None:
    f = forecast_series("F", series(noisy(80)))
    assert f.method is ForecastMethod.SES
    assert len(f.demand) == DEFAULT_HORIZON_WEEKS
    assert f.demand[0] == pytest.approx(20, rel=0.2)
    assert len(set(f.demand)) == 1


def test_little_history_uses_ses_and_a_single_week_forecasts_itself() -> None:
    assert forecast_series("F", series([6.0])).demand[0] == 6.0
    assert forecast_series("F", series([4.0, 4.0, 4.0])).demand[0] == 4.0
    three = forecast_series("F", series([4.0, 6.0, 5.0]))
    assert three.method is ForecastMethod.SES
    assert 4.0 <= three.demand[0] <= 6.0


def test_intermittent_demand_uses_croston_sba() -> None:
    values = [0.0, 0.0, 6.0, 0.0, 0.0, 0.0, 6.0, 0.0, 0.0, 6.0, 0.0, 0.0]
    f = forecast_series("I", series(values))
    assert f.method is ForecastMethod.CROSTON_SBA
    # size 6 every 3 to 4 weeks, less the SBA correction
    assert 1.2 < f.demand[0] < 2.0


def test_a_single_sale_is_intermittent_demand() -> None:
    f = forecast_series("I", series([0.0, 0.0, 0.0, 8.0]))
    assert f.method is ForecastMethod.CROSTON_SBA
    assert f.demand[0] == pytest.approx(0.95 * 8 / 4)


def test_no_demand_forecasts_zeros() -> None:
    f = forecast_series("Z", series([0.0, 0.0]), horizon_weeks=3)
    assert f.method is ForecastMethod.NO_DEMAND
    assert f.demand == (0.0, 0.0, 0.0)
    empty = forecast_series("Z", WeeklySeries(MONDAY, ()), horizon_weeks=2)
    assert empty.demand == (0.0, 0.0)
    assert empty.start == MONDAY


def test_forecasts_are_never_negative() -> None:
    falling = [float(max(0, 100 - 9 * i)) for i in range(12)]
    f = forecast_series("D", series(falling), horizon_weeks=5)
    assert min(f.demand) >= 0


def test_predict_with_no_horizon_is_empty() -> None:
    method, demand = predict(ForecastMethod.SES, np.array([1.0, 2.0]), 0)
    assert method is ForecastMethod.SES
    assert len(demand) == 0


# -- backtest -------------------------------------------------------------------------


def test_backtest_scores_against_seasonal_naive_with_a_year_of_training() -> None:
    values = seasonal_weeks(130)
    result = backtest_product("S", series(values), 13)
    assert result is not None
    assert result.baseline == "seasonal_naive"
    assert result.training_weeks == 117
    train = np.array(values[:117])
    scale = np.mean(np.abs(train[52:] - train[:-52]))
    naive = np.array(values[117 - 52 : 117 - 52 + 13])
    assert result.baseline_mase == pytest.approx(
        np.mean(np.abs(np.array(values[117:]) - naive)) / scale
    )
    assert result.mase == pytest.approx(result.mae / scale)
    assert result.mase < result.baseline_mase * 1.5


def test_backtest_scores_against_naive_with_less_than_a_year() -> None:
    values = noisy(40)
    result = backtest_product("F", series(values), 8)
    assert result is not None
    assert result.baseline == "naive"
    assert result.baseline_mae == pytest.approx(np.mean(np.abs(np.array(values[32:]) - values[31])))


def test_backtest_skips_short_or_constant_histories() -> None:
    assert backtest_product("A", series([1.0, 2.0]), 1) is None
    assert backtest_product("A", series([5.0] * 10), 3) is None
    assert backtest_product("A", series([1.0, 2.0, 3.0]), 0) is None


def test_backtest_report_overall_and_by_method() -> None:
    report = backtest(
        {"F": series(noisy(40)), "G": series(noisy(40, seed=5)), "Z": series([1.0])}, 8
    )
    assert [p.sku for p in report.products] == ["F", "G"]
    assert report.skipped == ("Z",)
    assert report.overall is not None
    assert report.overall.products == 2
    assert report.overall.mase == pytest.approx(sum(p.mase for p in report.products) / 2)
    assert set(report.by_method) == {"ses"}
    d = report.to_dict()
    assert d["overall"]["products"] == 2
    assert d["by_method"]["ses"]["products"] == 2
    assert d["products"][0]["sku"] == "F"
    assert d["skipped"] == ["Z"]


def test_backtest_of_nothing_has_no_overall_score() -> None:
    report = backtest({}, 4)
    assert report.overall is None
    assert report.to_dict()["overall"] is None
