"""``/api/v1/spool-exceptions``: scans acknowledged offline and refused on replay."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any
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
from web_ui.api.shape import BodyModel
from web_ui.api.shape import IdPath
from web_ui.api.shape import OutModel
from web_ui.api.types import NoteText
from web_ui.problem import found

__all__ = ["ROUTES", "Resolution", "SpoolExceptionOut"]

_spool_exceptions = Family("spool exceptions", Role.MANAGER)


class SpoolExceptionOut(OutModel):
    id: int
    key: str
    scanner: str | None
    scan_seq: int | None
    command: dict[str, Any] = Field(description="The spooled scan's movement command.")
    problem_type: str
    reason: str
    spooled_at: datetime | None
    created_at: datetime
    resolved: bool
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


class Resolution(BodyModel):
    resolution: NoteText = Field(description="What was done about it (e.g. a recount).")


class SpoolQuery(PageQuery):
    state: Literal["open", "all"] = Field("open", description="all: resolved ones too.")


@_spool_exceptions.get("/spool-exceptions", query=SpoolQuery, response=Page[SpoolExceptionOut])
async def list_spool_exceptions(call: Call) -> web.StreamResponse:
    """List spool exceptions (open ones unless state=all)."""
    query: SpoolQuery = call.query
    fetch = functools.partial(
        call.service.list_spool_exceptions, include_resolved=query.state == "all"
    )
    return json_response(await id_page(SpoolExceptionOut, query, "spool", fetch))


@_spool_exceptions.get("/spool-exceptions/{id}", path_params=IdPath, response=SpoolExceptionOut)
async def get_spool_exception(call: Call) -> web.StreamResponse:
    """One spool exception."""
    path: IdPath = call.path
    view = await call.service.spool_exception(path.id)
    return json_response(
        SpoolExceptionOut.model_validate(found(view, f"spool exception {path.id}"))
    )


@_spool_exceptions.post(
    "/spool-exceptions/{id}/resolve",
    path_params=IdPath,
    body=Resolution,
    response=SpoolExceptionOut,
)
async def resolve_spool_exception(call: Call) -> web.StreamResponse:
    """Mark a spool exception resolved.

    Idempotent: the first resolution stands.
    """
    path: IdPath = call.path
    body: Resolution = call.body
    view = await call.service.resolve_spool_exception(path.id, call.actor, body.resolution)
    return json_response(
        SpoolExceptionOut.model_validate(found(view, f"spool exception {path.id}"))
    )


ROUTES = _spool_exceptions.routes
