"""``/api/v1/serials``: where a serial of a serial-tracked product is, and its history."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic import Field

from stock_core.domain.token import Role
from web_ui.api.movements import MovementOut
from web_ui.api.route import Call
from web_ui.api.route import Family
from web_ui.api.route import json_response
from web_ui.api.shape import OutModel
from web_ui.api.types import SerialText
from web_ui.api.types import SkuText
from web_ui.problem import ProblemError

__all__ = ["ROUTES", "SerialOut"]

_serials = Family("serials", Role.WORKER)


class SerialOut(OutModel):
    """SPEC's ``GET /api/v1/serials/{sku}/{serial}``."""

    sku: str
    serial: str
    status: Literal["in_stock", "in_transit", "quarantined", "shipped", "scrapped", "missing"] = (
        Field(
            description="in_stock (at location); quarantined (in stock at a quarantine "
            "location); in_transit (shipped on a transfer); shipped (picked); scrapped; "
            "missing (a count did not find it)."
        )
    )
    location: str | None = Field(description="Where it is while in stock; else null.")
    lot: str
    history: list[MovementOut] = Field(description="Every ledger row that moved it, oldest first.")


class SerialPath(BaseModel):
    sku: SkuText
    serial: SerialText


@_serials.get("/serials/{sku}/{serial:.+}", path_params=SerialPath, response=SerialOut)
async def get_serial(call: Call) -> web.StreamResponse:
    """Where a serial is, and its history.

    404 unknown-product for an unknown SKU, not-found for a serial never in stock.
    """
    path: SerialPath = call.path
    view = await call.service.serial(path.sku, path.serial)
    if view is None:
        raise ProblemError("not-found", f"serial {path.serial} of {path.sku} was never in stock")
    return json_response(SerialOut.model_validate(view))


ROUTES = _serials.routes
