"""``/api/v1/alerts``: low-stock and out-of-stock alerts; managers acknowledge them."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import Field

from stock_core.domain.token import Role
from web_ui.api.route import Call
from web_ui.api.route import Family
from web_ui.api.route import Page
from web_ui.api.route import PageQuery
from web_ui.api.route import id_page
from web_ui.api.route import json_response
from web_ui.api.shape import IdPath
from web_ui.api.shape import OutModel
from web_ui.api.types import PRINTABLE
from web_ui.problem import found

__all__ = ["ROUTES", "AlertOut"]

_alerts = Family("alerts", Role.DISPLAY)

AlertKind = Literal["low_stock", "out_of_stock", "projected_stockout", "expired"]


class AlertOut(OutModel):
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


@_alerts.get("/alerts", query=AlertQuery, response=Page[AlertOut])
async def list_alerts(call: Call) -> web.StreamResponse:
    """List alerts (active ones unless state=all)."""
    query: AlertQuery = call.query
    fetch = functools.partial(
        call.service.list_alerts,
        include_cleared=query.state == "all",
        kind=query.kind,
        sku=query.sku,
    )
    return json_response(await id_page(AlertOut, query, "alert", fetch))


@_alerts.get("/alerts/{id}", path_params=IdPath, response=AlertOut)
async def get_alert(call: Call) -> web.StreamResponse:
    """One alert."""
    path: IdPath = call.path
    view = found(await call.service.alert(path.id), f"alert {path.id}")
    return json_response(AlertOut.model_validate(view))


@_alerts.post("/alerts/{id}/acknowledge", role=Role.MANAGER, path_params=IdPath, response=AlertOut)
async def acknowledge_alert(call: Call) -> web.StreamResponse:
    """Acknowledge an alert.

    Idempotent: the first acknowledgement stands and emits alert.acknowledged; repeating it changes
    nothing.
    """
    path: IdPath = call.path
    view = found(await call.service.acknowledge_alert(path.id, call.actor), f"alert {path.id}")
    return json_response(AlertOut.model_validate(view))


ROUTES = _alerts.routes
