"""The background forecaster, and the use cases it shares with ``StockService``.

Forecasting is CPU work: fits run in a worker thread (``asyncio.to_thread``) for one
product asked for on demand, and in a spawned child process for the background sweep,
never on the event loop and never on the scan path. A forecast is cached in
``forecasts`` with the fingerprint of the series it came from and of its backtest
horizon (the product's lead time plus the review period); it is recomputed only when
either changed (new history, a new complete week of demand, a new lead time) or the
week rolled over. A full sweep of 10,000 products with three years of weekly history
takes about a quarter of an hour in the child, on one core
(``benchmarks/bench_forecast.py --sweep 10000``).

:class:`Forecaster` runs :meth:`Forecaster.run_once` every ``interval`` seconds
(hourly by default) and on request: it raises and clears the ``expired`` alerts (stock
whose expiry date has passed since the last run; see :mod:`stock_core.store.expiry`),
then refreshes every product's forecast and evaluates the ``projected_stockout`` alert
of every product (see ``stock_core.domain.replenishment``), raising or clearing it with
its event. Every
use case takes ``today`` as a parameter, so tests and backfills can run it at any date.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Sequence
from dataclasses import KW_ONLY
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from types import TracebackType
from typing import Any
from typing import TypeVar

from stock_core.child import call_in_child
from stock_core.domain.alerts import EXPIRED
from stock_core.domain.alerts import PROJECTED_STOCKOUT
from stock_core.domain.forecast import DEFAULT_HORIZON_WEEKS
from stock_core.domain.forecast import BacktestReport
from stock_core.domain.forecast import Forecast
from stock_core.domain.forecast import WeeklySeries
from stock_core.domain.forecast import backtest
from stock_core.domain.forecast import backtest_weeks
from stock_core.domain.forecast import fingerprint
from stock_core.domain.forecast import forecast_series
from stock_core.domain.replenishment import DEFAULT_HORIZON_DAYS
from stock_core.domain.replenishment import DEFAULT_REVIEW_DAYS
from stock_core.domain.replenishment import DEFAULT_SERVICE_LEVEL
from stock_core.domain.replenishment import Suggestion
from stock_core.domain.replenishment import evaluate_stockout
from stock_core.domain.replenishment import suggest
from stock_core.errors import DatabaseUnavailableError
from stock_core.errors import UnknownProductError
from stock_core.store import analytics
from stock_core.store import expiry
from stock_core.store._boundary import translated
from stock_core.store.connection import Connection
from stock_core.store.connection import Pool
from stock_core.types import Sku

__all__ = [
    "DEFAULT_INTERVAL",
    "Forecaster",
    "ReplenishmentPage",
    "StockoutSweep",
    "backtest_catalog",
    "current_forecasts",
    "evaluate_stockouts",
    "forecast_of",
    "replenishment_page",
    "utc_today",
]

DEFAULT_INTERVAL = 3600.0
_R = TypeVar("_R")
_log = logging.getLogger(__name__)


def utc_today() -> date:
    return datetime.now(UTC).date()


async def _in_child_process(func: Callable[..., _R], *args: Any) -> _R:
    """Run ``func(*args)`` in a fresh process, killed if this is cancelled (a stopping
    server does not wait for a sweep)."""
    # One BLAS thread: the fits are many and small, and OpenBLAS threads fighting over
    # two cores made a sweep four times slower. Set before the child imports numpy.
    return await call_in_child(func, *args, env={"OPENBLAS_NUM_THREADS": "1"})


def _compute(
    todo: Sequence[tuple[int, Sku, WeeklySeries, int]], horizon_weeks: int
) -> list[tuple[int, Forecast]]:
    """Forecast each ``(product id, sku, series, backtest weeks)``."""
    return [
        (
            pid,
            forecast_series(sku, s, horizon_weeks=horizon_weeks, backtest_horizon_weeks=weeks),
        )
        for pid, sku, s, weeks in todo
    ]


async def current_forecasts(
    pool: Pool,
    *,
    today: date,
    ids: Collection[int] | None = None,
    force: bool = False,
    horizon_weeks: int = DEFAULT_HORIZON_WEEKS,
    review_days: int = DEFAULT_REVIEW_DAYS,
    isolate: bool = False,
) -> dict[int, Forecast]:
    """Forecasts as of ``today`` for these products (all by default), by product id.

    Cached ones are reused when their series is unchanged; the others are computed in
    a worker thread and stored — or, with ``isolate``, in a short-lived child process,
    so a sweep over the whole catalog neither holds this process's GIL (the gateway's
    scan path) nor leaves statsmodels in its memory.
    """
    async with pool.acquire() as conn:
        products = await analytics.products_for_forecast(
            conn, ids=list(ids) if ids is not None else None
        )
        series = await analytics.weekly_demand(conn, today=today, ids=list(products))
        cached = await analytics.cached_forecasts(conn, list(products))
    result: dict[int, Forecast] = {}
    todo: list[tuple[int, Sku, WeeklySeries, int]] = []
    for pid, (sku, lead_time_days) in products.items():
        weeks = backtest_weeks(lead_time_days, review_days)
        known = cached.get(pid)
        current = (
            known is not None
            and not force
            and known.fingerprint == fingerprint(series[pid], weeks)
            and len(known.demand) >= horizon_weeks
        )
        if known is not None and current:
            result[pid] = known
        else:
            todo.append((pid, sku, series[pid], weeks))
    if todo:
        if isolate:
            computed = await _in_child_process(_compute, todo, horizon_weeks)
        else:
            computed = await asyncio.to_thread(_compute, todo, horizon_weeks)
        async with pool.acquire() as conn:
            await analytics.save_forecasts(conn, computed)
        result.update(computed)
    return result


@dataclass(frozen=True)
class StockoutSweep:
    """One evaluation of every product's ``projected_stockout`` alert."""

    today: date
    evaluated: int
    short: tuple[Sku, ...]
    """Products projected to run out before a replenishment ordered today arrives."""
    raised: tuple[Sku, ...]
    cleared: tuple[Sku, ...]


async def evaluate_stockouts(
    pool: Pool,
    *,
    today: date,
    forecasts: dict[int, Forecast] | None = None,
    service_level: float = DEFAULT_SERVICE_LEVEL,
) -> StockoutSweep:
    """Raise and clear ``projected_stockout`` alerts from the forecasts as of ``today``,
    against demand at ``service_level``."""
    if forecasts is None:
        forecasts = await current_forecasts(pool, today=today)
    short: list[Sku] = []
    raised: list[Sku] = []
    cleared: list[Sku] = []
    async with pool.acquire() as conn:
        items = await analytics.positions(conn)
        active = await analytics.active_stockouts(conn)
        for item in items:
            forecast = forecasts.get(item.product_id)
            if forecast is None:
                continue
            decision = evaluate_stockout(
                item.position,
                forecast,
                today,
                active=item.product_id in active,
                service_level=service_level,
            )
            if decision.short:
                short.append(item.position.sku)
            if not (decision.raise_alert or decision.clear_alert):
                continue
            changed = await analytics.apply_stockout(
                conn, item, decision, today=today, method=forecast.method.value
            )
            if changed is not None:
                (raised if decision.raise_alert else cleared).append(item.position.sku)
    return StockoutSweep(today, len(items), tuple(short), tuple(raised), tuple(cleared))


@dataclass(frozen=True)
class ReplenishmentPage:
    items: tuple[Suggestion, ...]
    next_after: int | None
    """The keyset bound of the next page (a product id), ``None`` on the last page."""


async def replenishment_page(
    pool: Pool,
    *,
    today: date,
    after: int = 0,
    limit: int = 100,
    needed_only: bool = False,
    review_days: int = DEFAULT_REVIEW_DAYS,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    service_level: float = DEFAULT_SERVICE_LEVEL,
) -> ReplenishmentPage:
    """Suggestions for products by id after ``after``; ``needed_only`` skips "no order"."""
    items: list[Suggestion] = []
    bound = after
    while True:
        async with pool.acquire() as conn:
            batch = await analytics.positions(conn, after=bound, limit=limit)
        if not batch:
            return ReplenishmentPage(tuple(items), None)
        forecasts = await current_forecasts(pool, today=today, ids=[b.product_id for b in batch])
        for item in batch:
            bound = item.product_id
            suggestion = suggest(
                item.position,
                forecasts[item.product_id],
                today,
                review_days=review_days,
                horizon_days=horizon_days,
                service_level=service_level,
            )
            if needed_only and suggestion.order_by is None:
                continue
            items.append(suggestion)
            if len(items) == limit:
                return ReplenishmentPage(tuple(items), bound)
        if len(batch) < limit:
            return ReplenishmentPage(tuple(items), None)


async def backtest_catalog(pool: Pool, *, today: date, holdout_weeks: int) -> BacktestReport:
    """Backtest every product's history up to ``today`` (fits in a worker thread)."""
    async with pool.acquire() as conn:
        products = await analytics.product_ids(conn)
        series = await analytics.weekly_demand(conn, today=today, ids=list(products))
    by_sku: dict[str, WeeklySeries] = {products[pid]: s for pid, s in series.items()}
    return await asyncio.to_thread(backtest, by_sku, holdout_weeks)


async def _product_id(conn: Connection, sku: str) -> int:
    """The id of the product ``sku`` names; :class:`UnknownProductError` when none."""
    found = await analytics.product_ids(conn, skus=[sku])
    if not found:
        raise UnknownProductError(sku)
    return next(iter(found))


async def forecast_of(
    pool: Pool,
    sku: str,
    *,
    today: date,
    weeks: int = DEFAULT_HORIZON_WEEKS,
) -> Forecast:
    """``sku``'s forecast for ``weeks`` weeks from ``today``'s week (cached when current)."""
    async with pool.acquire() as conn:
        pid = await _product_id(conn, sku)
    forecasts = await current_forecasts(pool, today=today, ids=[pid])
    forecast = forecasts[pid]
    return replace(forecast, demand=forecast.demand[:weeks])


@dataclass(frozen=True)
class ForecastView:
    """One product's forecast with what a chart of it needs beside it."""

    forecast: Forecast
    history: WeeklySeries
    """Past demand by week, up to the last week complete by ``today``."""
    suggestion: Suggestion | None
    """Its replenishment suggestion (projected stock-out, arrival of an order placed
    today, order-by date), as ``GET /replenishment`` lists it."""


async def forecast_view(
    pool: Pool,
    sku: str,
    *,
    today: date,
    weeks: int = DEFAULT_HORIZON_WEEKS,
) -> ForecastView:
    """``sku``'s forecast (as :func:`forecast_of`), its past demand and its suggestion."""
    async with pool.acquire() as conn:
        pid = await _product_id(conn, sku)
        series = (await analytics.weekly_demand(conn, today=today, ids=[pid]))[pid]
        position = await analytics.positions(conn, sku=sku)
    forecast = (await current_forecasts(pool, today=today, ids=[pid]))[pid]
    suggestion = suggest(position[0].position, forecast, today) if position else None
    return ForecastView(replace(forecast, demand=forecast.demand[:weeks]), series, suggestion)


@dataclass(eq=False)
class Forecaster:
    """Recomputes forecasts and projected-stockout alerts in the background.

    Use as ``async with Forecaster(pool):`` (e.g. in an aiohttp ``cleanup_ctx``), or
    call :meth:`run_once` yourself. ``today`` is a clock for the date (UTC by default).
    """

    pool: Pool
    _: KW_ONLY
    interval: float = DEFAULT_INTERVAL
    today: Callable[[], date] = utc_today
    isolate: bool = True
    """Fit the forecasts in a child process (see :func:`current_forecasts`)."""
    service_level: float = DEFAULT_SERVICE_LEVEL
    last_sweep: StockoutSweep | None = field(default=None, init=False)
    last_expiry_sweep: expiry.ExpirySweep | None = field(default=None, init=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _swept: asyncio.Condition = field(default_factory=asyncio.Condition, init=False, repr=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def run_once(self, today: date | None = None) -> StockoutSweep:
        """Raise and clear ``expired`` alerts, then refresh every forecast and evaluate
        every product's ``projected_stockout`` alert as of ``today``."""
        day = today if today is not None else self.today()
        with translated():
            async with self.pool.acquire() as conn:
                self.last_expiry_sweep = await expiry.sweep_expired_alerts(conn)
        if self.last_expiry_sweep.raised or self.last_expiry_sweep.cleared:
            _log.info(
                "expiry check: %s raised for %s, cleared for %s",
                EXPIRED,
                ", ".join(self.last_expiry_sweep.raised) or "none",
                ", ".join(self.last_expiry_sweep.cleared) or "none",
            )
        forecasts = await current_forecasts(self.pool, today=day, isolate=self.isolate)
        sweep = await evaluate_stockouts(
            self.pool, today=day, forecasts=forecasts, service_level=self.service_level
        )
        self.last_sweep = sweep
        async with self._swept:
            self._swept.notify_all()
        return sweep

    async def next_sweep(self) -> StockoutSweep:
        """Wait for the next successful run to finish; its sweep."""
        async with self._swept:
            await self._swept.wait()
        assert self.last_sweep is not None
        return self.last_sweep

    async def forecast_now(self, sku: str, today: date | None = None) -> Forecast:
        """One product's forecast now: from the cache when its series is unchanged."""
        day = today if today is not None else self.today()
        return await forecast_of(self.pool, sku, today=day)

    def request_run(self) -> None:
        """Run again now rather than at the next interval (e.g. after a history import)."""
        self._wake.set()

    async def run(self) -> None:
        """Run until cancelled; a failed run is logged and retried at the next interval."""
        while True:
            self._wake.clear()
            try:
                with translated():
                    sweep = await self.run_once()
            except DatabaseUnavailableError as exc:
                _log.warning("forecaster: database unavailable, retrying later: %s", exc)
            except Exception:
                _log.exception("forecaster: run failed")
            else:
                _log.info(
                    "forecaster: %d products for %s, %s: %d raised, %d cleared",
                    sweep.evaluated,
                    sweep.today,
                    PROJECTED_STOCKOUT,
                    len(sweep.raised),
                    len(sweep.cleared),
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="stockd-forecaster")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def __aenter__(self) -> Forecaster:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
