"""Replenishment: projected stock, the ``projected_stockout`` rule and order suggestions.

Pure: a product's position and its forecast in, decisions out; ``today`` is always
passed in. Quantities are units; forecast demand is fractional (a week's forecast is
spread evenly over its seven days).

The projection. From ``today`` on, the *net* stock at the end of day ``d`` is::

    P(d) = on_hand - reserved - expired - backordered
           + open purchase-order units expected on or before d (overdue ones count today)
           - forecast demand from today through d

Reserved units are promised to orders and backordered units are owed to them, and
expired units (past their expiry date) can never be sold, so none of them can serve
new demand.

Uncertainty. The forecast carries the spread of its cumulative demand (from the chosen
model, see ``stock_core.domain.forecast``). At a service level ``s`` (default
``DEFAULT_SERVICE_LEVEL``, 95 %) with ``z`` its standard normal quantile, demand up to
day ``d`` is covered with probability ``s`` by its forecast plus ``z · σ(d)``.

``projected_stockout`` (alert). The stock-out day is the first day ``P(d) - z · σ(d)
< 0``: the day stock runs out unless demand stays below its ``s`` quantile. The
alert rises when that day comes no later than ``today + lead_time_days``, the day a
replenishment ordered today would arrive: ordering today is the last chance, or
already too late. It clears only once no stock-out is projected until
``STOCKOUT_CLEAR_MARGIN`` × the lead time (at least one day) beyond that (hysteresis,
so a forecast hovering at the edge does not flap).

Order suggestion. Safety stock is ``z · σ`` of the demand over the lead time plus the
review period (what an order placed now must cover), or the product's own
``safety_stock`` setting when that is higher. The reorder day is the first day
``P(d)`` falls below safety stock.
Order by ``reorder day - lead time`` (``today`` when that has passed), and order enough
that stock stays at or above safety stock from the arrival until the next review's
order could arrive (``review_days`` later): ``safety_stock - min P`` over that window,
rounded up to a multiple of ``reorder_qty`` when one is set. A breach an order could not
fix (covered by a purchase order arriving first) moves the search on to the next.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from statistics import NormalDist
from typing import Any

from stock_core.domain.catalog import MAX_LEAD_TIME_DAYS
from stock_core.domain.forecast import Forecast
from stock_core.types import Sku

__all__ = [
    "DEFAULT_HORIZON_DAYS",
    "DEFAULT_REVIEW_DAYS",
    "DEFAULT_SERVICE_LEVEL",
    "STOCKOUT_CLEAR_MARGIN",
    "Arrival",
    "Position",
    "Projection",
    "StockoutDecision",
    "Suggestion",
    "evaluate_stockout",
    "project",
    "safety_stock",
    "suggest",
]

DEFAULT_REVIEW_DAYS = 7
DEFAULT_HORIZON_DAYS = 364
STOCKOUT_CLEAR_MARGIN = 0.1
DEFAULT_SERVICE_LEVEL = 0.95
"""The share of demand scenarios safety stock and the stock-out alert cover."""


def _z(service_level: float) -> float:
    """The standard normal quantile at ``service_level`` (0.5 to 0.9999)."""
    return NormalDist().inv_cdf(min(max(service_level, 0.5), 0.9999))


@dataclass(frozen=True)
class Arrival:
    """Units of open purchase orders expected on ``expected_date``."""

    expected_date: date
    quantity: int


@dataclass(frozen=True)
class Position:
    """Where one product stands now, with its reorder settings."""

    sku: Sku
    on_hand: int
    reserved: int = 0
    backordered: int = 0
    arrivals: tuple[Arrival, ...] = ()
    lead_time_days: int = 0
    safety_stock: int = 0
    reorder_qty: int = 0
    expired: int = 0
    """Units past their expiry date not held for an order: on hand, never available."""

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.expired

    @property
    def lead_days(self) -> int:
        """The lead time the rules count with: 0 to ten years (a product stored before
        that bound was checked may hold more; the dates would not exist)."""
        return min(max(self.lead_time_days, 0), MAX_LEAD_TIME_DAYS)

    @property
    def on_order(self) -> int:
        return sum(a.quantity for a in self.arrivals)

    @property
    def net(self) -> int:
        """Available less what is owed to backorders."""
        return self.available - self.backordered


@dataclass(frozen=True)
class Projection:
    """``P(d)`` for ``days`` consecutive days from ``today`` (see the module doc)."""

    today: date
    net: tuple[float, ...]

    def at(self, day: date) -> float:
        """``P(day)``; days past the horizon read its last day."""
        index = min((day - self.today).days, len(self.net) - 1)
        return self.net[max(index, 0)]

    def first_below(self, level: float, start: date | None = None) -> date | None:
        """The first day from ``start`` (default ``today``) with ``P(d) < level``."""
        first = 0 if start is None else max(0, (start - self.today).days)
        for i in range(first, len(self.net)):
            if self.net[i] < level:
                return self.today + timedelta(days=i)
        return None


def project(
    position: Position,
    forecast: Forecast,
    today: date,
    days: int = DEFAULT_HORIZON_DAYS,
    *,
    z: float = 0.0,
) -> Projection:
    """Project net stock day by day from ``today`` for ``days`` days (at least one);
    with ``z``, against demand ``z`` standard deviations above its forecast."""
    arriving: dict[int, int] = {}
    for arrival in position.arrivals:
        offset = max(0, (arrival.expected_date - today).days)
        arriving[offset] = arriving.get(offset, 0) + arrival.quantity
    level = float(position.net)
    net: list[float] = []
    for i in range(max(days, 1)):
        level += arriving.get(i, 0) - forecast.daily(today + timedelta(days=i))
        cushion = z * forecast.sd_between(today, today + timedelta(days=i + 1)) if z else 0.0
        net.append(level - cushion)
    return Projection(today, tuple(net))


def safety_stock(
    position: Position,
    forecast: Forecast,
    today: date,
    *,
    review_days: int = DEFAULT_REVIEW_DAYS,
    service_level: float = DEFAULT_SERVICE_LEVEL,
) -> int:
    """``z · σ`` of the demand over lead time plus review period, rounded up; at least
    the product's ``safety_stock`` setting."""
    window = position.lead_days + max(review_days, 1)
    sigma = forecast.sd_between(today, today + timedelta(days=window))
    statistical = math.ceil(_z(service_level) * sigma - 1e-9) if sigma > 0 else 0
    return max(position.safety_stock, statistical)


@dataclass(frozen=True)
class StockoutDecision:
    """What to do about a product's ``projected_stockout`` alert."""

    stockout_date: date | None
    """The first day net stock is projected below zero at the service level."""
    arrival_date: date
    """When a replenishment ordered today would arrive."""
    demand_to_arrival: float
    """Forecast demand from today through ``arrival_date``."""
    supply_to_arrival: int
    """Net stock now plus purchase-order units expected through ``arrival_date``."""
    short: bool
    """The stock-out comes no later than ``arrival_date``."""
    raise_alert: bool
    clear_alert: bool
    service_level: float = DEFAULT_SERVICE_LEVEL
    demand_sd_to_arrival: float = 0.0
    """Standard deviation of the demand through ``arrival_date``."""

    @property
    def demand_at_service_level(self) -> float:
        """Demand through ``arrival_date`` at the service level: the alert's threshold."""
        return self.demand_to_arrival + _z(self.service_level) * self.demand_sd_to_arrival

    def detail(self) -> dict[str, Any]:
        return {
            "stockout_date": self.stockout_date.isoformat() if self.stockout_date else None,
            "arrival_date": self.arrival_date.isoformat(),
            "demand_to_arrival": round(self.demand_to_arrival, 2),
            "demand_sd_to_arrival": round(self.demand_sd_to_arrival, 2),
            "service_level": self.service_level,
            "supply_to_arrival": self.supply_to_arrival,
        }


def evaluate_stockout(
    position: Position,
    forecast: Forecast,
    today: date,
    *,
    active: bool,
    service_level: float = DEFAULT_SERVICE_LEVEL,
) -> StockoutDecision:
    """Apply the ``projected_stockout`` rule (module doc); ``active``: the alert is up now."""
    lead = position.lead_days
    margin = max(1, math.ceil(lead * STOCKOUT_CLEAR_MARGIN))
    arrival = today + timedelta(days=lead)
    projection = project(position, forecast, today, lead + margin + 1, z=_z(service_level))
    stockout = projection.first_below(0)
    short = stockout is not None and stockout <= arrival
    recovered = stockout is None or stockout > arrival + timedelta(days=margin)
    supply = position.net + sum(a.quantity for a in position.arrivals if a.expected_date <= arrival)
    return StockoutDecision(
        stockout_date=stockout,
        arrival_date=arrival,
        demand_to_arrival=forecast.between(today, arrival + timedelta(days=1)),
        supply_to_arrival=supply,
        short=short,
        raise_alert=short and not active,
        clear_alert=active and recovered,
        service_level=service_level,
        demand_sd_to_arrival=forecast.sd_between(today, arrival + timedelta(days=1)),
    )


@dataclass(frozen=True)
class Suggestion:
    """What to order for one product and by when (SPEC: ``sku, order_quantity, order_by``)."""

    sku: Sku
    order_quantity: int
    order_by: date | None
    """``None`` when no order is needed within the horizon."""
    arrival_date: date | None
    reorder_date: date | None
    """The first day net stock is projected below safety stock."""
    stockout_date: date | None
    on_hand: int
    reserved: int
    available: int
    on_order: int
    backordered: int
    safety_stock: int
    """What the suggestion kept stock above: the larger of the statistical safety stock
    and the product's setting."""
    lead_time_days: int
    reorder_qty: int
    demand_over_lead_time: float
    method: str
    service_level: float = DEFAULT_SERVICE_LEVEL
    configured_safety_stock: int = 0
    demand_sd_over_lead_time: float = 0.0
    backtest_error: float | None = None
    expired: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "order_quantity": self.order_quantity,
            "order_by": self.order_by.isoformat() if self.order_by else None,
            "arrival_date": self.arrival_date.isoformat() if self.arrival_date else None,
            "reorder_date": self.reorder_date.isoformat() if self.reorder_date else None,
            "stockout_date": self.stockout_date.isoformat() if self.stockout_date else None,
            "on_hand": self.on_hand,
            "reserved": self.reserved,
            "expired": self.expired,
            "available": self.available,
            "on_order": self.on_order,
            "backordered": self.backordered,
            "safety_stock": self.safety_stock,
            "lead_time_days": self.lead_time_days,
            "reorder_qty": self.reorder_qty,
            "demand_over_lead_time": round(self.demand_over_lead_time, 2),
            "demand_sd_over_lead_time": round(self.demand_sd_over_lead_time, 2),
            "service_level": self.service_level,
            "configured_safety_stock": self.configured_safety_stock,
            "method": self.method,
            "backtest_error": (
                round(self.backtest_error, 4)
                if self.backtest_error is not None and math.isfinite(self.backtest_error)
                else None
            ),
        }


def _round_up(quantity: float, multiple: int) -> int:
    units = math.ceil(quantity - 1e-9)
    if multiple > 0:
        return math.ceil(units / multiple) * multiple
    return units


def suggest(
    position: Position,
    forecast: Forecast,
    today: date,
    *,
    review_days: int = DEFAULT_REVIEW_DAYS,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    service_level: float = DEFAULT_SERVICE_LEVEL,
) -> Suggestion:
    """The order suggestion for one product (module doc)."""
    lead = position.lead_days
    review = max(review_days, 1)
    safety = safety_stock(
        position, forecast, today, review_days=review, service_level=service_level
    )
    projection = project(position, forecast, today, horizon_days + lead + review)
    horizon_end = today + timedelta(days=horizon_days)
    quantity, order_by, arrival = 0, None, None
    reorder = search = projection.first_below(safety)
    while search is not None and search < horizon_end:
        candidate = max(today, search - timedelta(days=lead))
        arrival = candidate + timedelta(days=lead)
        window = range((arrival - today).days, (arrival - today).days + review)
        lowest = min(projection.net[i] for i in window)
        if lowest < safety:
            quantity = _round_up(safety - lowest, position.reorder_qty)
            order_by = candidate
            break
        search = projection.first_below(safety, arrival + timedelta(days=review))
    else:
        arrival = None
    return Suggestion(
        sku=position.sku,
        order_quantity=quantity,
        order_by=order_by,
        arrival_date=arrival,
        reorder_date=reorder,
        stockout_date=projection.first_below(0),
        on_hand=position.on_hand,
        reserved=position.reserved,
        expired=position.expired,
        available=position.available,
        on_order=position.on_order,
        backordered=position.backordered,
        safety_stock=safety,
        lead_time_days=lead,
        reorder_qty=position.reorder_qty,
        demand_over_lead_time=forecast.between(today, today + timedelta(days=lead)),
        method=forecast.method.value,
        service_level=service_level,
        configured_safety_stock=position.safety_stock,
        demand_sd_over_lead_time=forecast.sd_between(today, today + timedelta(days=lead)),
        backtest_error=forecast.backtest_error,
    )
