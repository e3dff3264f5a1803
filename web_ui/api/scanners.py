"""``/api/v1/scanners``: each scanner's live state, last scan and error counters."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from aiohttp import web
from pydantic import BaseModel
from pydantic import Field

from stock_core.domain.token import Role
from stock_core.model import ScannerView
from web_ui import metrics
from web_ui.api.route import Call
from web_ui.api.route import Family
from web_ui.api.route import Page
from web_ui.api.route import PageQuery
from web_ui.api.route import decode_cursor
from web_ui.api.route import json_response
from web_ui.api.route import page_of
from web_ui.api.system import SpoolHealth
from web_ui.api.types import PRINTABLE
from web_ui.keys import CONFIG

__all__ = ["ROUTES", "ScannerOut"]

_scanners = Family("scanners", Role.DISPLAY)


class ScannerOut(BaseModel):
    id: str
    gateway: str
    url: str
    state: str = Field(
        description="connected, reconnecting, misconfigured or stopped; a handheld (the "
        "/scan/ page, gateway `handheld`, url `browser`) is connected or offline."
    )
    detail: str
    mode: str | None
    location: str | None
    operator: str | None = Field(
        None, description="The worker signed in on the scanner (USR:<code>), if any."
    )
    last_scan_at: datetime | None
    last_code: str | None
    counters: dict[str, int] = Field(
        description="Frames, garbled, too_long, baud_warnings, disconnects and so on."
    )
    updated_at: datetime | None
    live: bool = Field(description="From the gateway in this process (else as last stored).")
    spool: SpoolHealth | None = Field(
        None,
        description="The spool of this scanner's gateway: scans taken while PostgreSQL was "
        "away and not replayed yet (null before the gateway first reported it).",
    )

    @classmethod
    def of(cls, view: ScannerView, spools: dict[str, SpoolHealth] | None = None) -> ScannerOut:
        """The stored (or live) state, with its gateway's spool when known."""
        return cls.model_validate(
            {
                **dataclasses.asdict(view.state),
                "updated_at": view.updated_at,
                "live": view.live,
                "spool": (spools or {}).get(view.state.gateway),
            }
        )


class ScannerQuery(PageQuery):
    cursor: str | None = Field(
        None,
        max_length=200,
        pattern=PRINTABLE,
        description="The next_cursor of the page before (a scanner id: the next page starts "
        "after it); the first page without it.",
    )


@_scanners.get("/scanners", query=ScannerQuery, response=Page[ScannerOut])
async def list_scanners(call: Call) -> web.StreamResponse:
    """Scanners: live state, last scan, counters."""
    query: ScannerQuery = call.query
    live_source = call.request.app[CONFIG].live_scanners
    rows = await call.service.list_scanners(
        live_source() if live_source is not None else (),
        after=decode_cursor("scanner", query.cursor),
        limit=query.limit + 1,
    )
    spools = {
        g.name: SpoolHealth(gateway=g.name, updated_at=g.updated_at, **g.spool)
        for g in await metrics.gateway_states(call.request.app, up=True)
    }
    page = page_of(
        Page[ScannerOut],
        rows,
        query.limit,
        "scanner",
        lambda r: r.state.id,
        lambda view: ScannerOut.of(view, spools),
    )
    return json_response(page)


ROUTES = _scanners.routes
