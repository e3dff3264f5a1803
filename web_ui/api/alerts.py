"""``/api/v1/alerts``: low-stock and out-of-stock alerts; managers acknowledge them."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field

from stock_core.domain.token import Role
from web_ui.api.route import API
from web_ui.api.route import Call
from web_ui.api.route import Page
from web_ui.api.route import PageQuery
from web_ui.api.route import Route
from web_ui.api.route import id_page
from web_ui.api.route import json_response
from web_ui.api.types import PRINTABLE
from web_ui.api.types import Id
from web_ui.problem import found

__all__ = ["ROUTES", "AlertOut"]

AlertKind = Literal["low_stock", "out_of_stock", "projected_stockout", "expired"]


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: AlertKind
    sku: str
    name: str
    raised_at: datetime
    available: int = Field(description="Available stock when raised.")
    threshold: int
    active: bool = Field(description="Not yet cleared by recovering stock.")
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    cleared_at: datetime | None


class AlertQuery(PageQuery):
    state: Literal["active", "all"] = Field("active", description="all: cleared ones too.")
    kind: AlertKind | None = None
    sku: str | None = Field(None, max_length=64, pattern=PRINTABLE)


class IdPath(BaseModel):
    id: Id


async def list_alerts(call: Call) -> web.StreamResponse:
    query: AlertQuery = call.query
    fetch = functools.partial(
        call.service.list_alerts,
        include_cleared=query.state == "all",
        kind=query.kind,
        sku=query.sku,
    )
    return json_response(await id_page(AlertOut, query, "alert", fetch))


async def get_alert(call: Call) -> web.StreamResponse:
    path: IdPath = call.path
    view = found(await call.service.alert(path.id), f"alert {path.id}")
    return json_response(AlertOut.model_validate(view))


async def acknowledge_alert(call: Call) -> web.StreamResponse:
    path: IdPath = call.path
    view = found(await call.service.acknowledge_alert(path.id, call.actor), f"alert {path.id}")
    return json_response(AlertOut.model_validate(view))


ROUTES = (
    Route(
        "GET",
        f"{API}/alerts",
        list_alerts,
        "List alerts (active ones unless state=all)",
        "alerts",
        Role.DISPLAY,
        query=AlertQuery,
        response=Page[AlertOut],
    ),
    Route(
        "GET",
        f"{API}/alerts/{{id}}",
        get_alert,
        "One alert",
        "alerts",
        Role.DISPLAY,
        path_params=IdPath,
        response=AlertOut,
    ),
    Route(
        "POST",
        f"{API}/alerts/{{id}}/acknowledge",
        acknowledge_alert,
        "Acknowledge an alert",
        "alerts",
        Role.MANAGER,
        path_params=IdPath,
        response=AlertOut,
        description="Idempotent: the first acknowledgement stands and emits "
        "alert.acknowledged; repeating it changes nothing.",
    ),
)
