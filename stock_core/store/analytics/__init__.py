"""Reads and writes for forecasts, replenishment, projected-stockout alerts and reports.

Every function takes a connection and runs the statements of ``analytics.sql``; the
arithmetic lives in ``stock_core.domain``. Raising or clearing an alert writes the
alert and its outbox event in one transaction.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Collection
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import asyncpg

from stock_core.domain import reports
from stock_core.domain.forecast import Forecast
from stock_core.domain.forecast import WeeklySeries
from stock_core.domain.forecast import week_start
from stock_core.domain.forecast import weekly_series
from stock_core.domain.replenishment import Arrival
from stock_core.domain.replenishment import Position
from stock_core.domain.replenishment import StockoutDecision
from stock_core.domain.reports import ProductActivity
from stock_core.domain.reports import ProductHolding
from stock_core.domain.reports import ProductPeriod
from stock_core.errors import StockUsageError
from stock_core.store.analytics import sql as q
from stock_core.store.connection import Connection
from stock_core.store.records import from_record
from stock_core.store.warehouses import require_warehouse
from stock_core.types import Sku

__all__ = [
    "ProductPosition",
    "active_stockouts",
    "activity",
    "apply_stockout",
    "cached_forecasts",
    "holdings",
    "periods",
    "positions",
    "product_ids",
    "products_for_forecast",
    "q.DEMAND_PIECES",
    "q.PRODUCTS_FOR_FORECAST",
    "save_forecasts",
    "weekly_demand",
]


@dataclass(frozen=True)
class ProductPosition:
    product_id: int
    position: Position


async def positions(
    conn: Connection, *, after: int = 0, sku: str | None = None, limit: int | None = None
) -> list[ProductPosition]:
    """Products by id after ``after`` (all, or the one ``sku``) with their stock position."""
    rows = await conn.fetch(q.PRODUCT_POSITIONS, after, sku, limit)
    return [
        ProductPosition(
            r["id"],
            Position(
                sku=Sku(r["sku"]),
                on_hand=int(r["on_hand"]),
                reserved=int(r["reserved"]),
                expired=int(r["expired"]),
                backordered=int(r["backordered"]),
                arrivals=tuple(
                    Arrival(d, int(n))
                    for d, n in zip(r["arrival_dates"], r["arrival_quantities"], strict=True)
                ),
                lead_time_days=r["lead_time_days"],
                safety_stock=r["safety_stock"],
                reorder_qty=r["reorder_qty"],
            ),
        )
        for r in rows
    ]


async def product_ids(
    conn: Connection, *, skus: Sequence[str] | None = None, ids: Sequence[int] | None = None
) -> dict[int, Sku]:
    """Product id → SKU, for all products or those named."""
    return {
        pid: sku
        for pid, (sku, _) in (await products_for_forecast(conn, skus=skus, ids=ids)).items()
    }


async def products_for_forecast(
    conn: Connection, *, skus: Sequence[str] | None = None, ids: Sequence[int] | None = None
) -> dict[int, tuple[Sku, int]]:
    """Product id → (SKU, lead time in days), for all products or those named."""
    rows = await conn.fetch(
        q.PRODUCTS_FOR_FORECAST,
        list(skus) if skus is not None else None,
        list(ids) if ids is not None else None,
    )
    return {r["id"]: (Sku(r["sku"]), int(r["lead_time_days"])) for r in rows}


async def weekly_demand(
    conn: Connection, *, today: date, ids: Collection[int]
) -> dict[int, WeeklySeries]:
    """Each product's demand series up to the last week complete by ``today``
    (``q.DEMAND_PIECES``; monthly totals too when its history was recorded monthly).

    Products without any demand record get an empty series ending at ``today``'s week.
    """
    rows = await conn.fetch(q.DEMAND_PIECES, week_start(today), list(ids))
    points: dict[int, list[tuple[date, float]]] = defaultdict(list)
    for r in rows:
        points[r["product_id"]].append((r["piece"], float(r["quantity"])))
    return {pid: weekly_series(points.get(pid, ()), today=today) for pid in ids}


async def cached_forecasts(conn: Connection, ids: Collection[int] | None) -> dict[int, Forecast]:
    rows = await conn.fetch(q.CACHED_FORECASTS, list(ids) if ids is not None else None)
    return {
        r["product_id"]: Forecast.from_stored(
            r["sku"], r["method"], json.loads(r["weeks"]), json.loads(r["detail"])
        )
        for r in rows
    }


async def save_forecasts(conn: Connection, forecasts: Sequence[tuple[int, Forecast]]) -> None:
    """Replace the cached forecasts of these products, all in one transaction."""
    if not forecasts:
        return
    async with conn.transaction():
        await conn.executemany(
            q.SAVE_FORECAST,
            [
                (pid, f.method.value, json.dumps(f.stored_weeks()), json.dumps(f.detail()))
                for pid, f in forecasts
            ],
        )


async def active_stockouts(conn: Connection) -> set[int]:
    """Products with an active ``projected_stockout`` alert."""
    return {r["product_id"] for r in await conn.fetch(q.ACTIVE_PROJECTED_STOCKOUTS)}


async def apply_stockout(
    conn: Connection,
    item: ProductPosition,
    decision: StockoutDecision,
    *,
    today: date,
    method: str,
) -> int | None:
    """Raise or clear the product's alert as ``decision`` says, with its event.

    Returns the alert id raised or cleared, ``None`` when there was nothing to do
    (including a race lost to another evaluator).
    """
    position = item.position
    detail = {
        **decision.detail(),
        "lead_time_days": position.lead_time_days,
        "on_order": position.on_order,
        "backordered": position.backordered,
        "method": method,
        "evaluated_for": today.isoformat(),
    }
    async with conn.transaction():
        if decision.raise_alert:
            threshold = math.ceil(decision.demand_at_service_level)
            alert_id: int | None = await conn.fetchval(
                q.RAISE_PROJECTED_STOCKOUT,
                item.product_id,
                position.available,
                threshold,
                position.sku,
                json.dumps(detail),
            )
            return alert_id
        if decision.clear_alert:
            cleared: int | None = await conn.fetchval(
                q.CLEAR_PROJECTED_STOCKOUT,
                item.product_id,
                position.sku,
                position.available,
                json.dumps(detail),
            )
            return cleared
    return None


async def _report_rows(
    conn: Connection, query: str, start: datetime, end: datetime, warehouse: str | None
) -> list[asyncpg.Record]:
    """A ledger report's rows, the statement taking its period as ``$1`` and ``$2`` and
    ``warehouse`` as ``$3`` (``None``: all locations, in transit included); an unknown
    warehouse is refused before anything is read."""
    if warehouse is not None:
        await require_warehouse(conn, warehouse)
    return await conn.fetch(query, start, end, warehouse)


async def periods(
    conn: Connection, start: datetime, end: datetime, warehouse: str | None = None
) -> list[ProductPeriod]:
    """Ledger sums over ``[start, end)`` for products that had stock or movement then
    (in ``warehouse``'s locations; over all, in transit included)."""
    rows = await _report_rows(conn, q.REPORT_TURNOVER, start, end, warehouse)
    return [
        from_record(ProductPeriod, r)
        for r in rows
        if r["opening"] or r["closing"] or r["units_out"] or r["returned"] or r["scrapped"]
    ]


async def activity(
    conn: Connection, as_of: datetime, since: datetime, warehouse: str | None = None
) -> list[ProductActivity]:
    """On hand at ``as_of``, the last outbound before it and outbound units since ``since``
    (in ``warehouse``'s locations; over all, in transit included)."""
    rows = await _report_rows(conn, q.REPORT_ACTIVITY, as_of, since, warehouse)
    return [from_record(ProductActivity, r) for r in rows]


async def holdings(
    conn: Connection, at: datetime, warehouse: str | None = None
) -> list[ProductHolding]:
    """Every product's on-hand at ``at``, summed from the ledger (in ``warehouse``'s
    locations; over all, in transit included)."""
    if warehouse is not None:
        await require_warehouse(conn, warehouse)
    rows = await conn.fetch(q.REPORT_HOLDINGS, at, warehouse)
    return [from_record(ProductHolding, r) for r in rows]


def _period(start: date | datetime, end: date | datetime) -> tuple[datetime, datetime]:
    try:
        return reports.period_bounds(start, end)
    except ValueError as exc:
        raise StockUsageError(str(exc)) from exc


async def turnover_report(
    conn: Connection, start: date | datetime, end: date | datetime, warehouse: str | None = None
) -> reports.TurnoverReport:
    """Turnover over a period: dates are whole UTC days (``end`` included), datetimes
    instants (``end`` excluded)."""
    first, last = _period(start, end)
    return reports.turnover_report(await periods(conn, first, last, warehouse), first, last)


async def deadstock_report(
    conn: Connection,
    days: int,
    *,
    as_of: date | datetime | None = None,
    slow_cover_days: int = reports.DEFAULT_SLOW_COVER_DAYS,
    warehouse: str | None = None,
) -> reports.DeadstockReport:
    """Dead and slow stock at ``as_of`` (a date: the end of that day; default now)."""
    if days < 1 or slow_cover_days < 1:
        raise StockUsageError("days and slow_cover_days must be at least 1")
    at = reports.instant(as_of, end_of_day=True) if as_of else datetime.now(UTC)
    rows = await activity(conn, at, at - timedelta(days=days), warehouse)
    return reports.deadstock_report(rows, as_of=at, days=days, slow_cover_days=slow_cover_days)


async def valuation_report(
    conn: Connection, at: date | datetime | None = None, warehouse: str | None = None
) -> reports.ValuationReport:
    """Stock value at ``at`` (a date: the end of that day; default now)."""
    instant = reports.instant(at, end_of_day=True) if at else datetime.now(UTC)
    return reports.valuation_report(await holdings(conn, instant, warehouse), instant)
