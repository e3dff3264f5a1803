"""Forecast accuracy and speed on the demo catalog, in memory (no database).

Builds the warehouse ``stockd demo`` uses (``hardware_mocks.warehouse``) with one, one
and a half and three years of weekly history, holds out the last weeks, forecasts them
from the rest and prints MASE per method and overall, against the seasonal-naive
baseline (naive when training has a year or less), with the time taken.

    .venv/bin/python benchmarks/bench_forecast.py [--products 300] [--holdout 13]
        [--today 2025-01-06] [--history 52,78,156]

The default ``today`` puts the holdout on October to December, the Christmas peak.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hardware_mocks.warehouse import Warehouse, build_warehouse
from stock_core.domain.forecast import (
    BacktestReport,
    SeasonalModel,
    WeeklySeries,
    backtest,
    forecast_series,
    weekly_series,
)

__all__ = ["main", "series_of"]


def series_of(warehouse: Warehouse, today: date) -> dict[str, WeeklySeries]:
    """Weekly demand per SKU from the warehouse's scripted history."""
    points: dict[str, list[tuple[date, float]]] = {p.sku: [] for p in warehouse.products}
    for sku, day, quantity in warehouse.history:
        points[sku].append((day, float(quantity)))
    return {sku: weekly_series(p, today=today) for sku, p in points.items()}


def _print_report(report: BacktestReport, patterns: dict[str, str]) -> None:
    print(f"  {'method':<30}{'products':>9}{'MASE':>9}{'baseline':>10}")
    for method, score in sorted(report.by_method.items()):
        print(f"  {method:<30}{score.products:>9}{score.mase:>9.3f}{score.baseline_mase:>10.3f}")
    by_pattern: dict[str, list[tuple[float, float]]] = {}
    for p in report.products:
        by_pattern.setdefault(patterns[p.sku], []).append((p.mase, p.baseline_mase))
    for pattern, scores in sorted(by_pattern.items()):
        mase = sum(s[0] for s in scores) / len(scores)
        base = sum(s[1] for s in scores) / len(scores)
        print(f"  {'(demand ' + pattern + ')':<30}{len(scores):>9}{mase:>9.3f}{base:>10.3f}")
    if report.overall is not None:
        o = report.overall
        print(f"  {'overall':<30}{o.products:>9}{o.mase:>9.3f}{o.baseline_mase:>10.3f}")
    if report.skipped:
        print(f"  skipped (too little history or zero scale): {len(report.skipped)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--holdout", type=int, default=13)
    parser.add_argument("--today", type=date.fromisoformat, default=date(2025, 1, 6))
    parser.add_argument("--history", default="52,78,156", help="weeks of history, comma-separated")
    args = parser.parse_args(argv)
    for weeks in (int(w) for w in args.history.split(",")):
        warehouse = build_warehouse(args.today, products=args.products, weeks=weeks)
        patterns = {p.sku: p.pattern for p in warehouse.products}
        series = series_of(warehouse, args.today)
        print(
            f"\n{len(series)} products, {weeks} weeks of history, "
            f"last {args.holdout} held out (today {args.today})"
        )
        for model in SeasonalModel:
            started = time.perf_counter()
            report = backtest(series, args.holdout, model)
            backtest_s = time.perf_counter() - started
            started = time.perf_counter()
            for sku, s in series.items():
                forecast_series(sku, s, seasonal_model=model)
            forecast_s = time.perf_counter() - started
            print(f" seasonal model {model.value}:")
            _print_report(report, patterns)
            print(
                f"  backtest {backtest_s:.2f} s; forecasting every product 104 weeks ahead "
                f"{forecast_s:.2f} s ({forecast_s / len(series) * 1000:.1f} ms per product)"
            )
            if weeks < 2 * 52 + args.holdout:
                break  # too little history for a seasonal model: the two runs are the same
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
