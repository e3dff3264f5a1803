"""``/api/v1/forecasts``, ``/replenishment``, ``/backtest`` and ``/reports``.

Forecasts come from the background forecaster's cache (recomputed on demand when a
product's demand changed); reports are read from the ledger. Reports answer CSV with
``?format=csv``.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from typing import Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import ValidationError
from pydantic import model_validator

from stock_core.domain.forecast import DEFAULT_HORIZON_WEEKS
from stock_core.domain.token import Role
from web_ui.api.route import Call
from web_ui.api.route import Family
from web_ui.api.route import PageQuery
from web_ui.api.route import decode_int_cursor
from web_ui.api.route import encode_cursor
from web_ui.api.shape import SkuPath
from web_ui.csv_cell import defuse_csv

__all__ = ["ROUTES"]

_forecasts = Family("forecasts", Role.MANAGER)
_reports = Family("reports", Role.MANAGER)


class _Open(BaseModel):
    """Report documents: the pinned fields are declared, more are welcome."""

    model_config = ConfigDict(extra="allow")


class WeekOut(BaseModel):
    week_start: date
    demand: float
    low: float | None = Field(None, description="Lower end of the central interval.")
    high: float | None = Field(None, description="Upper end of the central interval.")


class PastWeekOut(BaseModel):
    week_start: date
    demand: float


class SuggestionOut(_Open):
    sku: str
    order_quantity: int
    order_by: date | None = Field(description="null when nothing needs ordering this year.")


class ForecastOut(_Open):
    sku: str
    weeks: list[WeekOut]
    method: str
    backtest_error: float | None = Field(
        None,
        description="The chosen method's rolling-origin backtest MAE relative to seasonal "
        "naive (below 1 beats it); null without enough history.",
    )
    history: list[PastWeekOut] | None = Field(
        None,
        description="With history=N: the last N complete weeks of past demand (outbound "
        "movements and imported history), oldest first, ending where `weeks` starts.",
    )
    replenishment: SuggestionOut | None = Field(
        None,
        description="With history=N: the product's replenishment suggestion, as "
        "GET /replenishment lists it (stockout_date, arrival_date of an order placed "
        "today, lead_time_days, order_by ...).",
    )


class ForecastQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    weeks: int = Field(26, ge=1, le=DEFAULT_HORIZON_WEEKS)
    history: int = Field(
        0,
        ge=0,
        le=520,
        description="Weeks of past demand to add as `history`, with the product's "
        "`replenishment` suggestion (0: neither).",
    )


class SuggestionPage(BaseModel):
    items: list[SuggestionOut]
    next_cursor: str | None


class ReplenishmentQuery(PageQuery):
    needed: bool = Field(False, description="Only products that need an order.")
    review_days: int = Field(7, ge=1, le=90)


class BacktestQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    holdout: int = Field(13, ge=1, le=104, description="Weeks held out at the end.")


class BacktestOut(_Open):
    holdout_weeks: int
    products: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Per product: method, grid, MASE and MAE beside the baseline's, "
        "relative_mae, and the selection_error the method was chosen by.",
    )


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    format: Literal["json", "csv"] = "json"


_FIRST = date(1970, 1, 1)
_LAST = date(2999, 12, 31)


class TurnoverQuery(ReportQuery):
    from_: date = Field(alias="from", ge=_FIRST, le=_LAST)
    to: date = Field(ge=_FIRST, le=_LAST)

    @model_validator(mode="after")
    def _ordered(self) -> TurnoverQuery:
        if self.to < self.from_:
            raise ValueError("to must not be before from")
        return self


_WAREHOUSE = Field(
    None,
    pattern=r"^[A-Z0-9][A-Z0-9_-]{0,31}$",
    description="Only this warehouse's locations (404 when no warehouse has that code); "
    "without it every warehouse, stock in transit between them counted as stock.",
)


class TurnoverReportQuery(TurnoverQuery):
    warehouse: str | None = _WAREHOUSE


class DeadstockQuery(ReportQuery):
    days: int = Field(90, ge=1, le=3650)
    slow_cover_days: int = Field(180, ge=1, le=3650)
    warehouse: str | None = _WAREHOUSE


class ValuationQuery(ReportQuery):
    at: date | None = Field(None, ge=_FIRST, le=_LAST)
    warehouse: str | None = _WAREHOUSE


class ExpiryQuery(ReportQuery):
    days: int = Field(
        30,
        ge=0,
        le=3650,
        description="Also list stock expiring within this many days (0: expired stock only).",
    )


class SpaceQuery(ReportQuery):
    warehouse: str | None = Field(
        None, pattern=r"^[A-Z0-9][A-Z0-9_-]{0,31}$", description="Only this warehouse's zones."
    )


class ReportOut(_Open):
    items: list[dict[str, Any]]


def _json(body: dict[str, Any], model: type[BaseModel]) -> web.Response:
    try:
        document = model.model_validate(body)
    except ValidationError as exc:  # our own answer broke its schema: a bug, not a 422
        raise RuntimeError(f"{model.__name__} answer does not match its schema") from exc
    return web.Response(text=document.model_dump_json(), content_type="application/json")


REPORT_NUMERIC = frozenset(
    {
        "unit_cost",
        "opening",
        "closing",
        "units_out",
        "cost_of_goods_out",
        "average_inventory_value",
        "turnover",
        "days_of_supply",
        "on_hand",
        "value",
        "days_since_outbound",
        "days_of_cover",
        "days_left",
        "reserved",
        "weight_g",
        "max_weight_g",
        "volume_cm3",
        "max_volume_cm3",
        "returned",
        "scrapped",
    }
)
"""Report columns written as numbers; every other cell is text, defused on the way out."""


def _csv(text: str, name: str) -> web.Response:
    """A report's CSV with its text cells defused (product names, categories ...)."""
    return web.Response(
        text=defuse_csv(text, REPORT_NUMERIC),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@_forecasts.get("/forecasts/{sku}", path_params=SkuPath, query=ForecastQuery, response=ForecastOut)
async def get_forecast(call: Call) -> web.StreamResponse:
    """Weekly demand forecast of one product.

    From this week on, with the method a rolling-origin backtest chose for the product's history
    (seasonal naive, SES, damped Holt-Winters, Theta, Croston/SBA, TSB), each week's central
    interval, and the backtest error.
    """
    path: SkuPath = call.path
    query: ForecastQuery = call.query
    body = await call.service.forecast(path.sku, query.weeks, history=query.history)
    return _json(body, ForecastOut)


@_forecasts.get("/replenishment", query=ReplenishmentQuery, response=SuggestionPage)
async def list_replenishment(call: Call) -> web.StreamResponse:
    """What to order and by when, per product."""
    query: ReplenishmentQuery = call.query
    found = await call.service.replenishment(
        after=decode_int_cursor("replenishment", query.cursor) or 0,
        limit=query.limit,
        needed_only=query.needed,
        review_days=query.review_days,
    )
    after = found.get("next_after")
    page = {
        "items": found["items"],
        "next_cursor": encode_cursor("replenishment", after) if after else None,
    }
    return _json(page, SuggestionPage)


@_forecasts.get("/backtest", query=BacktestQuery, response=BacktestOut)
async def get_backtest(call: Call) -> web.StreamResponse:
    """Forecast error on held-out history (MASE against seasonal naive)."""
    query: BacktestQuery = call.query
    return _json(await call.service.backtest(query.holdout), BacktestOut)


@_reports.get(
    "/reports/turnover", query=TurnoverReportQuery, response=ReportOut, also_csv=True, errors=(404,)
)
async def turnover_report(call: Call) -> web.StreamResponse:
    """Inventory turnover per product and category over a period."""
    query: TurnoverReportQuery = call.query
    if query.format == "csv":
        text = await call.service.turnover_csv(query.from_, query.to, query.warehouse)
        return _csv(text, "turnover")
    return _json(await call.service.turnover(query.from_, query.to, query.warehouse), ReportOut)


@_reports.get(
    "/reports/deadstock", query=DeadstockQuery, response=ReportOut, also_csv=True, errors=(404,)
)
async def deadstock_report(call: Call) -> web.StreamResponse:
    """Deadstock and slow movers with the value tied up."""
    query: DeadstockQuery = call.query
    if query.format == "csv":
        text = await call.service.deadstock_csv(
            days=query.days, slow_cover_days=query.slow_cover_days, warehouse=query.warehouse
        )
        return _csv(text, "deadstock")
    body = await call.service.deadstock(
        days=query.days, slow_cover_days=query.slow_cover_days, warehouse=query.warehouse
    )
    return _json(body, ReportOut)


@_reports.get(
    "/reports/valuation", query=ValuationQuery, response=ReportOut, also_csv=True, errors=(404,)
)
async def valuation_report(call: Call) -> web.StreamResponse:
    """Stock valuation at a date."""
    query: ValuationQuery = call.query
    if query.format == "csv":
        return _csv(await call.service.valuation_csv(query.at, query.warehouse), "valuation")
    return _json(await call.service.valuation(query.at, query.warehouse), ReportOut)


@_reports.get("/reports/expiry", query=ExpiryQuery, response=ReportOut, also_csv=True)
async def expiry_report(call: Call) -> web.StreamResponse:
    """Expired and soon-to-expire stock per product, location and lot.

    Rows whose expiry date is before today (UTC) are expired: on hand, never available. Items: sku,
    name, category, location, lot, expiry, days_left (negative once expired), status (expired or
    expiring), on_hand, reserved, unit_cost, value; with the expired and expiring totals.
    """
    query: ExpiryQuery = call.query
    if query.format == "csv":
        return _csv(await call.service.expiry_csv(query.days), "expiry")
    return _json(await call.service.expiry(query.days), ReportOut)


@_reports.get("/reports/space", query=SpaceQuery, response=ReportOut, also_csv=True)
async def space_report(call: Call) -> web.StreamResponse:
    """Space and weight used per zone, against the locations' limits.

    Items: zone, weight_g and volume_cm3 (what lies there: each unit weighs the product's weight_g
    and takes length x width x height / 1000 cm3; a product without a weight or a dimension counts
    as zero for it), max_weight_g and max_volume_cm3 (the sum of the limits of the zone's locations
    that have one; null when none has).
    """
    query: SpaceQuery = call.query
    if query.format == "csv":
        return _csv(await call.service.space_csv(query.warehouse), "space")
    return _json(await call.service.space(query.warehouse), ReportOut)


ROUTES = _forecasts.routes + _reports.routes
