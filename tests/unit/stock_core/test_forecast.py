from __future__ import annotations

import math
import random
from datetime import date
from datetime import timedelta

import numpy as np
import pytest
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from stock_core.domain.forecast import SEASONAL_METHODS
from stock_core.domain.forecast import Forecast
from stock_core.domain.forecast import ForecastMethod
from stock_core.domain.forecast import Grid
from stock_core.domain.forecast import MonthlySeries
from stock_core.domain.forecast import Selection
from stock_core.domain.forecast import WeeklySeries
from stock_core.domain.forecast import backtest
from stock_core.domain.forecast import backtest_product
from stock_core.domain.forecast import backtest_weeks
from stock_core.domain.forecast import diagnose
from stock_core.domain.forecast import fingerprint
from stock_core.domain.forecast import forecast_series
from stock_core.domain.forecast import predict
from stock_core.domain.forecast import select
from stock_core.domain.forecast import week_start
from stock_core.domain.forecast import weekly_series
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


def test_forecast_weeks() -> None:
    f = make_forecast()
    assert [w.week_start for w in f.weeks] == [MONDAY + timedelta(weeks=i) for i in range(3)]
    assert [w.demand for w in f.weeks] == [7.0, 14.0, 21.0]


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
    d = f.to_dict(2)
    assert {k: d[k] for k in ("sku", "method", "history_weeks")} == {
        "sku": "X",
        "method": "ses",
        "history_weeks": 5,
    }
    assert d["weeks"] == [
        {"week_start": "2021-01-04", "demand": 1.23, "low": 1.23, "high": 1.23},
        {"week_start": "2021-01-11", "demand": 2.0, "low": 2.0, "high": 2.0},
    ]
    assert d["backtest_error"] is None
    assert d["grid"] == "week"
    later = f.to_dict(today=date(2021, 1, 20))
    assert [w["week_start"] for w in later["weeks"]] == ["2021-01-18"]


def test_forecast_survives_storage() -> None:
    f = forecast_series("X", series(noisy(30)), horizon_weeks=4)
    back = Forecast.from_stored("X", f.method.value, f.stored_weeks(), f.detail())
    assert back == f


def test_fingerprint_changes_with_the_series_and_the_backtest_horizon() -> None:
    assert fingerprint(series([1, 2])) == fingerprint(series([1, 2]))
    assert fingerprint(series([1, 2])) != fingerprint(series([1, 2, 3]))
    assert fingerprint(series([1, 2])) != fingerprint(series([1, 2], MONDAY + timedelta(weeks=1)))
    assert fingerprint(series([1, 2])) != fingerprint(series([1, 2]), 20)


def test_backtest_horizon_is_lead_time_plus_review_within_bounds() -> None:
    assert backtest_weeks(0, 7) == 13
    assert backtest_weeks(120, 7) == 19
    assert backtest_weeks(400, 7) == 26


def test_diagnose_empty_and_short_series() -> None:
    empty = diagnose(np.zeros(0))
    assert empty["zero_share"] == 1.0
    assert empty["adi"] == math.inf
    short = diagnose(np.array([0.0, 4.0, 0.0, 4.0]))
    assert short == {"periods": 4.0, "zero_share": 0.5, "adi": 2.0}
    assert diagnose(np.array(seasonal_weeks(110)))["acf_season"] > 0.3


# -- monthly records ------------------------------------------------------------------


def monthly_points(values: list[float], first: date = date(2019, 1, 1)) -> list[tuple[date, float]]:
    out = []
    for i, v in enumerate(values):
        month = first.month - 1 + i
        out.append((date(first.year + month // 12, month % 12 + 1, 1), v))
    return out


def test_history_recorded_once_a_month_carries_monthly_totals() -> None:
    points = monthly_points([10.0, 20.0, 30.0, 40.0])  # Jan to Apr 2019
    s = weekly_series(points, today=date(2019, 4, 17))
    assert s.grid is Grid.MONTH
    assert s.monthly == MonthlySeries(date(2019, 1, 1), (10.0, 20.0, 30.0, 40.0))
    # April's record came in on its first day: April counts as known
    assert sum(s.values) == 100.0
    # weekly records (several a month) stay weekly
    weekly = weekly_series(
        daily_christmas(date(2021, 1, 4), date(2021, 6, 1)), today=date(2021, 6, 1)
    )
    assert weekly.monthly is None
    assert weekly.grid is Grid.WEEK
    with pytest.raises(ValueError, match="first of a month"):
        MonthlySeries(date(2019, 1, 2), ())


def test_head_keeps_the_months_begun_before_the_cut() -> None:
    s = weekly_series(monthly_points([10.0] * 6), today=date(2019, 7, 10))
    assert s.monthly is not None
    cut = s.head(9)  # up to 2019-03-04: January to March
    assert cut.monthly == MonthlySeries(date(2019, 1, 1), (10.0, 10.0, 10.0))


def test_monthly_history_is_forecast_month_by_month() -> None:
    rng = random.Random(3)
    season = [1.0, 0.9, 1.0, 1.1, 1.2, 1.4, 1.5, 1.4, 1.1, 1.0, 0.9, 1.6]
    values = [
        round(1000 * season[i % 12] * (1 + 0.01 * i) * rng.uniform(0.95, 1.05)) for i in range(60)
    ]
    s = weekly_series(monthly_points([float(v) for v in values]), today=date(2024, 1, 1))
    f = forecast_series("M", s, horizon_weeks=60)
    assert f.grid is Grid.MONTH
    assert f.method in SEASONAL_METHODS
    months = dict(f.months())
    assert date(2024, 12, 1) in months
    # December is the peak, February the low, as in every past year
    assert months[date(2024, 12, 1)] > 1.3 * months[date(2024, 2, 1)]
    # a month's demand is spread evenly over its days
    assert f.daily(date(2024, 3, 5)) == pytest.approx(months[date(2024, 3, 1)] / 31)
    assert sum(f.demand[:4]) == pytest.approx(f.between(f.start, f.start + timedelta(weeks=4)))
    d = f.to_dict(10)
    assert d["grid"] == "month"
    assert d["months"][0]["month"] == "2024-01"
    back = Forecast.from_stored("M", f.method.value, f.stored_weeks(), f.detail())
    assert back == f


# -- selection by rolling-origin backtest ---------------------------------------------------


def test_a_seasonal_history_is_forecast_with_a_seasonal_method() -> None:
    values = np.array(seasonal_weeks(160), dtype=np.float64)
    model, selection = select(values, Grid.WEEK, 13)
    assert model.method in SEASONAL_METHODS
    assert selection is not None
    assert selection.baseline == "seasonal_naive"
    assert selection.origins == 4
    assert selection.horizon == 13
    assert selection.error <= 1.0
    assert set(selection.scores) >= {"seasonal_naive", "ses", "theta", "holt_winters_additive"}
    assert selection.scores["seasonal_naive"] == 1.0


def test_nothing_beats_seasonal_naive_on_a_repeating_year() -> None:
    year = [float(5 + (i * 7) % 11) for i in range(52)]
    model, selection = select(np.array(year * 3), Grid.WEEK, 13)
    assert model.method is ForecastMethod.SEASONAL_NAIVE
    assert selection is not None
    assert selection.error == 0.0


def test_flat_noisy_demand_keeps_ses() -> None:
    f = forecast_series("F", series(noisy(160)))
    assert f.method is ForecastMethod.SES
    assert f.selection is not None
    assert f.demand[0] == pytest.approx(20, rel=0.2)
    assert len(set(f.demand)) == 1


def test_a_challenger_must_beat_the_default_at_the_origins() -> None:
    # a strong level shift a year ago: the naive level wins at every origin
    values = [10.0] * 60 + [40.0] * 60
    model, selection = select(np.array(values), Grid.WEEK, 13)
    assert selection is not None
    assert selection.scores[model.method.value] <= min(selection.scores.values()) + 1e-9


def test_selection_is_recorded_on_the_forecast_and_survives_storage() -> None:
    f = forecast_series("S", series(seasonal_weeks(160)), horizon_weeks=30)
    assert f.selection is not None
    assert f.backtest_error == f.selection.error
    d = f.to_dict()
    assert d["backtest_error"] == round(f.selection.error, 4)
    assert d["selection"]["origins"] == 4
    back = Forecast.from_stored("S", f.method.value, f.stored_weeks(), f.detail())
    assert back == f
    assert Selection.from_dict(f.selection.to_dict()).horizon == 13


# -- intervals ------------------------------------------------------------------------


def test_intervals_widen_with_the_horizon() -> None:
    for values in (noisy(160), seasonal_weeks(160)):
        f = forecast_series("I", series(values), horizon_weeks=30)
        assert len(f.spread) == len(f.week_sd) == 30
        assert all(b >= a for a, b in zip(f.spread, f.spread[1:], strict=False))
        assert f.spread[0] > 0
        # cumulative spread grows no faster than the weeks' deviations added up
        assert f.spread[-1] <= sum(f.week_sd) + 1e-6


def test_interval_bounds_in_the_api_shape() -> None:
    f = forecast_series("I", series(noisy(160)), horizon_weeks=4)
    week = f.to_dict(1)["weeks"][0]
    assert week["low"] < week["demand"] < week["high"]
    assert week["high"] - week["demand"] == pytest.approx(1.645 * f.week_sd[0], abs=0.02)


def test_variance_between_days_interpolates_the_weeks() -> None:
    f = Forecast(Sku("X"), ForecastMethod.SES, MONDAY, (7.0,) * 3, spread=(1.0, 2.0, 3.0))
    assert f.variance_to(MONDAY) == 0
    assert f.variance_to(MONDAY + timedelta(days=7)) == pytest.approx(1.0)
    assert f.variance_to(MONDAY + timedelta(days=10)) == pytest.approx(1 + 3 * 3 / 7)
    assert f.variance_to(MONDAY + timedelta(days=28)) == pytest.approx(9 + 5)
    assert f.sd_between(MONDAY, MONDAY + timedelta(days=14)) == pytest.approx(2.0)
    assert f.sd_between(MONDAY + timedelta(days=14), MONDAY) == 0.0
    assert make_forecast().variance_to(MONDAY + timedelta(days=30)) == 0.0


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


def test_a_christmas_seller_is_forecast_to_sell_at_christmas() -> None:
    today = date(2023, 1, 9)
    history = weekly_series(daily_christmas(date(2021, 1, 4), today), today=today)
    assert len(history.values) == 105
    f = forecast_series("XMAS", history, horizon_weeks=52)
    assert f.method in SEASONAL_METHODS
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
    params: dict[str, float] = {}  # noqa: RUF012

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
    assert method is ForecastMethod.SEASONAL_NAIVE
    assert len(demand) == 3
    # and the selection leaves it out
    f = forecast_series("S", series(seasonal_weeks(160)), horizon_weeks=5)
    assert f.selection is not None
    assert "holt_winters_additive" not in f.selection.scores


def test_one_year_of_seasonal_history_can_repeat_last_year() -> None:
    values = seasonal_weeks(80)
    method, demand = predict(ForecastMethod.SEASONAL_NAIVE_LEVEL, np.array(values), 60)
    assert method is ForecastMethod.SEASONAL_NAIVE_LEVEL
    peak = max(range(52), key=lambda i: values[28:80][i])
    assert demand[peak] > 30
    f = forecast_series("S", series(values), horizon_weeks=60)
    assert f.selection is not None
    assert "seasonal_naive_level" in f.selection.scores
    assert f.method in (*SEASONAL_METHODS, ForecastMethod.THETA, ForecastMethod.SES)


def test_exactly_one_year_is_seasonal_naive_without_a_level_change() -> None:
    values = seasonal_weeks(52)
    method, demand = predict(ForecastMethod.SEASONAL_NAIVE_LEVEL, np.array(values), 2)
    assert method is ForecastMethod.SEASONAL_NAIVE_LEVEL
    assert demand[0] == pytest.approx(0.25 * values[51] + 0.5 * values[0] + 0.25 * values[1])


def test_little_history_uses_ses_and_a_single_week_forecasts_itself() -> None:
    assert forecast_series("F", series([6.0])).demand[0] == 6.0
    assert forecast_series("F", series([4.0, 4.0, 4.0])).demand[0] == 4.0
    three = forecast_series("F", series([4.0, 6.0, 5.0]))
    assert three.method is ForecastMethod.SES
    assert 4.0 <= three.demand[0] <= 6.0
    assert three.selection is None


def test_intermittent_demand_defaults_to_croston_sba() -> None:
    values = [0.0, 0.0, 6.0, 0.0, 0.0, 0.0, 6.0, 0.0, 0.0, 6.0, 0.0, 0.0] * 3
    f = forecast_series("I", series(values))
    assert f.method in (ForecastMethod.CROSTON_SBA, ForecastMethod.TSB)
    assert f.selection is not None
    assert {"croston_sba", "tsb"} <= set(f.selection.scores)
    # size 6 every 3 to 4 weeks, less the SBA correction
    assert 1.2 < f.demand[0] < 2.2


def test_sba_and_tsb_levels() -> None:
    method, demand = predict(ForecastMethod.CROSTON_SBA, np.array([0.0, 0.0, 0.0, 8.0]), 2)
    assert method is ForecastMethod.CROSTON_SBA
    assert demand[0] == pytest.approx(0.95 * 8 / 4)
    method, demand = predict(ForecastMethod.TSB, np.array([8.0, 0.0, 0.0, 0.0]), 1)
    assert method is ForecastMethod.TSB
    assert demand[0] == pytest.approx(8 * 0.9**3)  # the probability decays without sales


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
    d = report.to_dict()
    assert sum(v["products"] for v in d["by_method"].values()) == 2
    assert d["overall"]["products"] == 2
    assert d["products"][0]["sku"] == "F"
    assert d["skipped"] == ["Z"]


def test_backtest_of_nothing_has_no_overall_score() -> None:
    report = backtest({}, 4)
    assert report.overall is None
    assert report.to_dict()["overall"] is None


def test_backtest_of_monthly_records_scores_months() -> None:
    rng = random.Random(5)
    values = [
        float(round(500 + 200 * math.sin(2 * math.pi * i / 12) + rng.gauss(0, 20)))
        for i in range(48)
    ]
    s = weekly_series(monthly_points(values), today=date(2023, 1, 2))
    result = backtest_product("M", s, 26)
    assert result is not None
    assert result.grid is Grid.MONTH
    assert result.baseline == "seasonal_naive"
    assert result.relative_mae < 1.5
    assert result.to_dict()["grid"] == "month"


def test_selection_stores_infinite_errors_as_null() -> None:
    selection = Selection(Grid.WEEK, 2, 4, "naive", 1.0, 0.0, {"naive": 0.0, "ses": math.inf})
    assert selection.error == math.inf
    d = selection.to_dict()
    assert d["relative_mae"] is None
    assert d["candidates"]["ses"] is None
    back = Selection.from_dict(selection.to_dict(digits=None))
    assert back.error == math.inf
    assert back.scores["ses"] == math.inf
    assert Selection(Grid.WEEK, 2, 4, "naive", 0.0, 0.0).error == 0.0


def test_a_forecast_without_weeks_has_no_months() -> None:
    assert make_forecast(()).months() == []


def test_theta_predicts_with_an_interval() -> None:
    method, demand = predict(ForecastMethod.THETA, np.array(noisy(60)), 6)
    assert method is ForecastMethod.THETA
    assert len(demand) == 6
    assert demand[0] == pytest.approx(20, rel=0.2)


def test_croston_and_tsb_without_sales_forecast_nothing() -> None:
    for method in (ForecastMethod.CROSTON_SBA, ForecastMethod.TSB):
        assert predict(method, np.zeros(4), 2)[1].tolist() == [0.0, 0.0]


def test_a_season_with_empty_weeks_leaves_multiplicative_holt_winters_out() -> None:
    values = [0.0 if i % 52 < 3 else v for i, v in enumerate(seasonal_weeks(160))]
    _, selection = select(np.array(values), Grid.WEEK, 13)
    assert selection is not None
    assert "holt_winters_additive" in selection.scores
    assert "holt_winters_multiplicative" not in selection.scores


def test_a_diverging_simulation_falls_back_to_seasonal_naive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from statsmodels.tsa.holtwinters.results import HoltWintersResults

    def diverge(self: object, nsimulations: int, **kwargs: object) -> np.ndarray:
        return np.full((nsimulations, 3), math.nan)

    monkeypatch.setattr(HoltWintersResults, "simulate", diverge)
    method, _ = predict(ForecastMethod.HOLT_WINTERS_ADDITIVE, np.array(seasonal_weeks(110)), 3)
    assert method is ForecastMethod.SEASONAL_NAIVE


def test_backtest_of_monthly_records_needs_a_whole_month_held_out() -> None:
    s = weekly_series(monthly_points([10.0, 12.0, 11.0, 13.0, 12.0]), today=date(2019, 6, 3))
    assert s.monthly is not None
    assert backtest_product("M", s, 1) is None


@pytest.mark.parametrize("weeks", [60, 120])
def test_constant_demand_forecasts_itself(weeks: int) -> None:
    f = forecast_series("C", series([5.0] * weeks), horizon_weeks=4)
    assert f.demand == pytest.approx((5.0,) * 4)
    # 60 weeks leave no room for an origin; 120 do
    assert f.backtest_error == (None if weeks == 60 else 0.0)


def test_a_single_season_without_room_for_an_origin_keeps_its_season() -> None:
    # the demo imports exactly one year: last year with its level, no backtest
    f = forecast_series("S", series(seasonal_weeks(52)), horizon_weeks=52)
    assert f.method is ForecastMethod.SEASONAL_NAIVE_LEVEL
    assert f.selection is None
    assert max(f.demand) > 2 * min(f.demand)


def test_one_structured_season_defaults_to_last_year_with_its_level() -> None:
    # a year and a quarter of a smooth season: one origin, no evidence to switch
    f = forecast_series("S", series(seasonal_weeks(70)), horizon_weeks=10)
    assert f.selection is not None
    assert f.selection.origins == 1
    # the default, or seasonal naive where that did better: never a flat line
    assert f.method in (ForecastMethod.SEASONAL_NAIVE_LEVEL, ForecastMethod.SEASONAL_NAIVE)
