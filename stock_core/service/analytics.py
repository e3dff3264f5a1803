"""Forecasts, replenishment, projected stock-outs, the backtest and the reports."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

from stock_core import model
from stock_core.domain.space import space_csv
from stock_core.service.base import ServiceBase
from stock_core.service.base import pokes
from stock_core.store import capacity
from stock_core.store import operators
from stock_core.store._boundary import translated

__all__ = ["AnalyticsUseCases"]


class AnalyticsUseCases(ServiceBase):
    async def operator_report(
        self, start: date | datetime, end: date | datetime
    ) -> list[model.OperatorActivity]:
        """Movements and units per operator over a period: dates are whole UTC days
        (``end`` included), datetimes instants (``end`` excluded)."""
        from stock_core.domain.reports import period_bounds

        first, last = period_bounds(start, end)
        async with self._connection() as conn:
            return await operators.operator_report(conn, first, last)

    async def space(self, warehouse: str | None = None) -> dict[str, Any]:
        """Weight and volume used and allowed per zone (``GET /reports/space``)."""
        async with self._connection() as conn:
            lines = await capacity.space(conn, warehouse)
        return {"items": [line.as_dict() for line in lines]}

    async def space_csv(self, warehouse: str | None = None) -> str:
        async with self._connection() as conn:
            return space_csv(await capacity.space(conn, warehouse))

    async def forecast(
        self, sku: str, weeks: int = 26, *, today: date | None = None, history: int = 0
    ) -> dict[str, Any]:
        """``{"sku", "weeks": [{"week_start", "demand"}], "method"}`` from today's week.

        From the background cache when the product's demand is unchanged, else computed
        now (in a worker thread). With ``history`` > 0 it adds ``"history"``, the last
        ``history`` complete weeks of past demand (``[{"week_start", "demand"}]``, oldest
        first), and ``"replenishment"``, the product's suggestion (projected stock-out
        date, lead time, order-by date). Raises :class:`UnknownProductError`.
        """
        from stock_core import analytics_task
        from stock_core.domain.forecast import DEFAULT_HORIZON_WEEKS
        from stock_core.errors import StockUsageError

        if not 1 <= weeks <= DEFAULT_HORIZON_WEEKS:
            raise StockUsageError(f"weeks must be 1 to {DEFAULT_HORIZON_WEEKS}, not {weeks}")
        if not 0 <= history <= 520:
            raise StockUsageError(f"history must be 0 to 520 weeks, not {history}")
        day = today or analytics_task.utc_today()
        with translated():
            if not history:
                found = await analytics_task.forecast_of(self.pool, sku, today=day, weeks=weeks)
                return found.to_dict()
            view = await analytics_task.forecast_view(self.pool, sku, today=day, weeks=weeks)
        out = view.forecast.to_dict()
        past = view.history.values[-history:]
        first = view.history.end - timedelta(weeks=len(past))
        out["history"] = [
            {"week_start": (first + timedelta(weeks=i)).isoformat(), "demand": round(v, 2)}
            for i, v in enumerate(past)
        ]
        out["replenishment"] = view.suggestion.to_dict() if view.suggestion else None
        return out

    async def refresh_forecasts(self, *, today: date | None = None, force: bool = False) -> int:
        """Bring every cached forecast up to date; returns how many products there are."""
        from stock_core import analytics_task

        day = today or analytics_task.utc_today()
        with translated():
            found = await analytics_task.current_forecasts(self.pool, today=day, force=force)
        return len(found)

    @pokes
    async def evaluate_projected_stockouts(self, *, today: date | None = None) -> dict[str, Any]:
        """Raise and clear ``projected_stockout`` alerts as of ``today`` (what the
        background forecaster does each run); the SKUs short, raised and cleared."""
        from stock_core import analytics_task

        day = today or analytics_task.utc_today()
        with translated():
            sweep = await analytics_task.evaluate_stockouts(self.pool, today=day)
        return {
            "today": sweep.today.isoformat(),
            "evaluated": sweep.evaluated,
            "short": list(sweep.short),
            "raised": list(sweep.raised),
            "cleared": list(sweep.cleared),
        }

    async def replenishment(
        self,
        *,
        after: int = 0,
        limit: int = 100,
        needed_only: bool = False,
        review_days: int = 7,
        today: date | None = None,
    ) -> dict[str, Any]:
        """``{"items": [{"sku", "order_quantity", "order_by", ...}], "next_after"}``.

        Products in id order after the keyset bound ``after``; ``next_after`` is the
        bound of the next page (``None`` on the last). ``needed_only`` lists only
        products that need an order within the year.
        """
        from stock_core import analytics_task
        from stock_core.errors import StockUsageError

        if not 1 <= limit <= 1000 or review_days < 1:
            raise StockUsageError("limit must be 1 to 1000 and review_days at least 1")
        day = today or analytics_task.utc_today()
        with translated():
            page = await analytics_task.replenishment_page(
                self.pool,
                today=day,
                after=after,
                limit=limit,
                needed_only=needed_only,
                review_days=review_days,
            )
        return {"items": [s.to_dict() for s in page.items], "next_after": page.next_after}

    async def backtest(
        self, holdout_weeks: int = 13, *, today: date | None = None
    ) -> dict[str, Any]:
        """Forecast each product's last ``holdout_weeks`` from the weeks before; MASE
        per product, per method and overall, beside the seasonal-naive baseline's."""
        from stock_core import analytics_task
        from stock_core.errors import StockUsageError

        if not 1 <= holdout_weeks <= 104:
            raise StockUsageError(f"holdout_weeks must be 1 to 104, not {holdout_weeks}")
        day = today or analytics_task.utc_today()
        with translated():
            report = await analytics_task.backtest_catalog(
                await self._report_pool(), today=day, holdout_weeks=holdout_weeks
            )
        return report.to_dict()

    async def turnover(
        self, start: date | datetime, end: date | datetime, warehouse: str | None = None
    ) -> dict[str, Any]:
        """Inventory turnover per product, per category and in total over a period.

        Turnover = cost of goods picked ÷ the mean of the opening and closing stock
        value. Dates are whole UTC days (``end`` included); datetimes are instants
        (``end`` excluded). With ``warehouse``, that warehouse's stock and picks; over
        all, stock in transit between warehouses counts as stock.
        """
        from stock_core.store import analytics

        async with self._report_connection() as conn:
            return (await analytics.turnover_report(conn, start, end, warehouse)).to_dict()

    async def turnover_csv(
        self, start: date | datetime, end: date | datetime, warehouse: str | None = None
    ) -> str:
        from stock_core.domain.reports import turnover_csv
        from stock_core.store import analytics

        async with self._report_connection() as conn:
            return turnover_csv(await analytics.turnover_report(conn, start, end, warehouse))

    async def deadstock(
        self,
        days: int = 90,
        *,
        as_of: date | datetime | None = None,
        slow_cover_days: int = 180,
        warehouse: str | None = None,
    ) -> dict[str, Any]:
        """Products with stock and no pick in ``days`` days (``dead``), and those whose
        stock outlasts ``slow_cover_days`` at that window's pace (``slow``), with the
        value tied up and the last outbound. ``as_of`` a date means the end of that day."""
        from stock_core.store import analytics

        async with self._report_connection() as conn:
            report = await analytics.deadstock_report(
                conn, days, as_of=as_of, slow_cover_days=slow_cover_days, warehouse=warehouse
            )
        return report.to_dict()

    async def deadstock_csv(
        self,
        days: int = 90,
        *,
        as_of: date | datetime | None = None,
        slow_cover_days: int = 180,
        warehouse: str | None = None,
    ) -> str:
        from stock_core.domain.reports import deadstock_csv
        from stock_core.store import analytics

        async with self._report_connection() as conn:
            report = await analytics.deadstock_report(
                conn, days, as_of=as_of, slow_cover_days=slow_cover_days, warehouse=warehouse
            )
        return deadstock_csv(report)

    async def valuation(
        self, at: date | datetime | None = None, warehouse: str | None = None
    ) -> dict[str, Any]:
        """Stock value at ``at`` (a date: the end of that day; default now), from the
        ledger, per product, per category and in total, at current unit costs: of one
        ``warehouse``, or of all (stock in transit between them included)."""
        from stock_core.store import analytics

        async with self._report_connection() as conn:
            return (await analytics.valuation_report(conn, at, warehouse)).to_dict()

    async def valuation_csv(
        self, at: date | datetime | None = None, warehouse: str | None = None
    ) -> str:
        from stock_core.domain.reports import valuation_csv
        from stock_core.store import analytics

        async with self._report_connection() as conn:
            return valuation_csv(await analytics.valuation_report(conn, at, warehouse))

    async def expiry(self, days: int = 30) -> dict[str, Any]:
        """Stock expired (expiry date before today, UTC) or expiring within ``days``
        days, per product, location and lot, soonest first, with totals."""
        from stock_core.domain.reports import expiry_report
        from stock_core.errors import StockUsageError
        from stock_core.store import expiry

        if not 0 <= days <= 3650:
            raise StockUsageError(f"days must be 0 to 3650, not {days}")
        async with self._connection() as conn:
            today, rows = await expiry.dated_stock(conn, days)
        return expiry_report(rows, today=today, days=days).to_dict()

    async def expiry_csv(self, days: int = 30) -> str:
        from stock_core.domain.reports import expiry_csv
        from stock_core.domain.reports import expiry_report
        from stock_core.errors import StockUsageError
        from stock_core.store import expiry

        if not 0 <= days <= 3650:
            raise StockUsageError(f"days must be 0 to 3650, not {days}")
        async with self._connection() as conn:
            today, rows = await expiry.dated_stock(conn, days)
        return expiry_csv(expiry_report(rows, today=today, days=days))

    async def sweep_expired(self) -> dict[str, Any]:
        """Raise ``expired`` alerts for stock that passed its date and clear those with
        none left (what the background task does each run)."""
        from stock_core.store import expiry

        async with self._connection() as conn:
            sweep = await expiry.sweep_expired_alerts(conn)
        return {"raised": list(sweep.raised), "cleared": list(sweep.cleared)}
