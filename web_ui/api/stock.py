"""``/api/v1/stock``: on-hand, reserved and available by product, location and zone."""

from __future__ import annotations

import functools
from datetime import date

from aiohttp import web
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field

from stock_core.domain.token import Role
from stock_core.errors import UnknownProductError
from web_ui.api.route import Call
from web_ui.api.route import Family
from web_ui.api.route import Page
from web_ui.api.route import PageQuery
from web_ui.api.route import id_page
from web_ui.api.route import json_response
from web_ui.api.shape import OutModel
from web_ui.api.shape import SkuPath
from web_ui.api.types import PRINTABLE
from web_ui.api.types import ShortText
from web_ui.api.types import WarehouseCodeText

__all__ = ["ROUTES", "StockLocationOut", "StockOut", "WarehouseStockOut"]

_stock = Family("stock", Role.DISPLAY)


class StockLocationOut(OutModel):
    location: str
    warehouse: str
    zone: str
    lot: str
    expiry: date | None = Field(description="The lot's expiry date; null when it has none.")
    on_hand: int
    reserved: int
    available: int = Field(
        description="On hand less reserved; 0 once the lot has expired or in quarantine."
    )
    expired: int = Field(
        description="Once the expiry date is past (before today, UTC): the units not held "
        "for an order; else 0 (and 0 in quarantine, where every unit is quarantined)."
    )
    quarantined: int = Field(
        0, description="In a quarantine location: every unit here (never available); else 0."
    )


class WarehouseStockOut(OutModel):
    warehouse: str
    on_hand: int = Field(description="What lies in the warehouse's locations.")
    available: int = Field(
        description="Of that, what is neither reserved, expired nor quarantined."
    )
    in_transit: int = Field(description="What transfers have on their way to the warehouse.")


class StockOut(OutModel):
    """SPEC's ``GET /api/v1/stock/{sku}`` shape; list items are the same."""

    sku: str
    name: str
    on_hand: int = Field(description="Sum over the locations listed.")
    reserved: int
    available: int = Field(description="On hand, less reserved, expired and quarantined.")
    expired: int = Field(
        description="Units past their expiry date (before today, UTC) not held for an order, "
        "outside quarantine: on hand but never available. "
        "on_hand = available + reserved + expired + quarantined."
    )
    quarantined: int = Field(
        description="Units in quarantine locations (returns, stock held for inspection): on "
        "hand but never available, picked, reserved or given to backorders until moved to a "
        "storage location."
    )
    in_transit: int = Field(
        description="Units transfers have shipped and not yet received: in no location, "
        "counted apart from on_hand (with warehouse=, on their way to that warehouse)."
    )
    warehouses: list[WarehouseStockOut] = Field(
        description="Per warehouse holding the product or expecting it (only that one with "
        "warehouse=): on_hand, available, in_transit."
    )
    on_order: int = Field(description="Units open purchase orders have still to bring.")
    backordered: int = Field(description="Units open customer orders wait for (backorders).")
    reorder_point: int
    below_reorder_point: bool = Field(
        description="Available over every location is at or below the reorder point."
    )
    locations: list[StockLocationOut]


class StockQuery(PageQuery):
    sku: str | None = Field(None, max_length=64, pattern=PRINTABLE)
    location: str | None = Field(
        None, max_length=64, pattern=PRINTABLE, description="Only stock at this location."
    )
    zone: str | None = Field(
        None, max_length=64, pattern=PRINTABLE, description="Only stock in this zone."
    )
    below_reorder_point: bool = Field(
        False, description="Only products whose available stock is at or below reorder point."
    )
    warehouse: WarehouseCodeText | None = Field(
        None,
        description="Only this warehouse: its locations, what is on its way to it, and only "
        "products with stock there or coming (404 when no warehouse has that code).",
    )
    q: ShortText | None = Field(
        None,
        description="Search: products whose SKU or name contains this text (any case), "
        "or that have it as a barcode (a GTIN in any length).",
    )


class OneStockQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    warehouse: WarehouseCodeText | None = Field(
        None,
        description="Every figure that warehouse's: its locations and what is on its way to "
        "it (on_order and backordered stay the product's). 404 when no warehouse has that code.",
    )


@_stock.get("/stock", query=StockQuery, response=Page[StockOut], errors=(404,))
async def list_stock(call: Call) -> web.StreamResponse:
    """Stock by product, filtered by SKU, location, zone or reorder point.

    With location= or zone=, only products with stock there are listed and their figures cover only
    those locations. With warehouse=, only products with stock in that warehouse or on their way to
    it, with that warehouse's figures (404 when it does not exist).
    """
    query: StockQuery = call.query
    fetch = functools.partial(
        call.service.list_stock,
        sku=query.sku,
        location=query.location,
        zone=query.zone,
        below_reorder_point=query.below_reorder_point,
        search=query.q,
        warehouse=query.warehouse,
    )
    return json_response(await id_page(StockOut, query, "stock", fetch))


@_stock.get("/stock/{sku:.+}", path_params=SkuPath, query=OneStockQuery, response=StockOut)
async def get_stock(call: Call) -> web.StreamResponse:
    """One product's stock at every location.

    in_transit: units shipped by transfers and not yet received (in no location); warehouses:
    on_hand, available and in_transit per warehouse. With warehouse=, every figure is that
    warehouse's.
    """
    path: SkuPath = call.path
    query: OneStockQuery = call.query
    rows = await call.service.list_stock(sku=path.sku, limit=1, warehouse=query.warehouse)
    if not rows:
        raise UnknownProductError(path.sku)
    return json_response(StockOut.model_validate(rows[0]))


ROUTES = _stock.routes
