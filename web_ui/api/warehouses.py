"""``/api/v1/warehouses``: the warehouses locations belong to.

``POST`` creates a warehouse or renames one (201 created, 200 renamed), as operators
are kept. A ``locations.csv`` naming a warehouse that does not exist yet creates it too.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import Field

from stock_core.domain.token import Role
from stock_core.domain.warehouse import check_warehouse
from web_ui.api.route import Call
from web_ui.api.route import Family
from web_ui.api.route import Page
from web_ui.api.route import PageQuery
from web_ui.api.route import checked
from web_ui.api.route import code_page
from web_ui.api.route import json_response
from web_ui.api.route import saved_response
from web_ui.api.shape import BodyModel
from web_ui.api.shape import OutModel
from web_ui.api.types import WarehouseCodeText

__all__ = ["ROUTES", "WarehouseIn", "WarehouseOut"]

_warehouses = Family("warehouses", Role.MANAGER)


class WarehouseIn(BodyModel):
    code: WarehouseCodeText
    name: str = Field("", max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")


class WarehouseOut(OutModel):
    code: str
    name: str
    created_at: datetime
    updated_at: datetime


class WarehouseQuery(PageQuery):
    cursor: str | None = Field(
        None,
        max_length=32,
        pattern=r"^[A-Z0-9][A-Z0-9_-]{0,31}$",
        description="The next_cursor of the page before (a warehouse code: the next page "
        "starts after it); the first page without it.",
    )


@_warehouses.get("/warehouses", query=WarehouseQuery, response=Page[WarehouseOut])
async def list_warehouses(call: Call) -> web.StreamResponse:
    """List warehouses, by code."""
    query: WarehouseQuery = call.query
    return json_response(
        await code_page(WarehouseOut, query, "warehouse", call.service.list_warehouses)
    )


@_warehouses.post("/warehouses", body=WarehouseIn, response=WarehouseOut, status=201, errors=(200,))
async def save_warehouse(call: Call) -> web.StreamResponse:
    """Create a warehouse, or rename one.

    201 when the code is new, 200 when the warehouse with that code was renamed. Codes are 1-32
    upper-case letters, digits, '_' or '-' (MAIN is there from the start). Locations name their
    warehouse (POST /locations, locations.csv).
    """
    body: WarehouseIn = call.body
    code, name = checked(check_warehouse, body.code, body.name)
    warehouse, created = await call.service.save_warehouse(code, name)
    return saved_response(WarehouseOut.model_validate(warehouse), created)


ROUTES = _warehouses.routes
