"""``/api/v1/availability``: what a storefront shows for up to 1,000 SKUs at once.

Read by shop integrations (the ``shop`` role; every other role may read it too). The
answer carries an ``ETag`` (a digest of the body): a client that sends it back as
``If-None-Match`` gets 304 without a body while nothing it asked about has changed.
"""

from __future__ import annotations

import hashlib
from datetime import date

from aiohttp import web
from pydantic import BaseModel
from pydantic import Field

from stock_core.domain.availability import MAX_SKUS
from stock_core.domain.availability import AvailabilityStatus
from stock_core.domain.token import Role
from web_ui.api.route import Call
from web_ui.api.route import Family
from web_ui.api.route import Header
from web_ui.api.shape import OutModel
from web_ui.api.types import SkuText
from web_ui.problem import ProblemError

__all__ = ["ROUTES", "AvailabilityOut", "AvailabilityPage"]

_availability = Family("availability", Role.SHOP)


class AvailabilityQuery(BaseModel):
    sku: list[SkuText] = Field(
        min_length=1,
        json_schema_extra={"maxItems": MAX_SKUS},
        description=f"A SKU; repeat for more (sku=A&sku=B), at most {MAX_SKUS}.",
    )


class AvailabilityOut(OutModel):
    sku: str
    status: AvailabilityStatus = Field(
        description="in_stock; low (at or below the reorder point); backorder (nothing "
        "available, orders accepted); out_of_stock (nothing available, backorders refused)."
    )
    available: int = Field(description="Units free for a new order (on hand less reserved).")
    expected_date: date | None = Field(
        description="backorder and out_of_stock: when a new order of one unit would be "
        "filled, from the queue ahead of it and open purchase orders' dates; null when "
        "in stock, or when no open purchase order covers it."
    )
    backorder_allowed: bool


class AvailabilityPage(BaseModel):
    items: list[AvailabilityOut] = Field(description="In the order asked; each SKU once.")
    next_cursor: None = Field(description="Always null: one page answers every SKU asked.")
    unknown: list[str] = Field(description="SKUs asked about that are not in the catalog.")


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _matches(header: str | None, etag: str) -> bool:
    if header is None:
        return False
    if header.strip() == "*":
        return True
    given = {part.strip().removeprefix("W/") for part in header.split(",")}
    return etag in given


_IF_NONE_MATCH = Header(
    "If-None-Match",
    "The ETag of an answer held (or several, comma-separated, or *): 304 without a body "
    "while it is current. A malformed value is a 400.",
    pattern=r'^(\*|(W/)?"[!#-~]*"( *, *(W/)?"[!#-~]*")*)$',
    max_length=1024,
)


@_availability.get(
    "/availability",
    query=AvailabilityQuery,
    response=AvailabilityPage,
    errors=(400,),
    etag=True,
    headers=(_IF_NONE_MATCH,),
    description=f"Any role may read it; the shop role may read only this. More than "
    f"{MAX_SKUS} sku values: 400. Unknown SKUs are listed in unknown[]. Send the ETag "
    "back as If-None-Match: 304 while the answer is unchanged.",
)
async def get_availability(call: Call) -> web.StreamResponse:
    """Availability of up to 1,000 SKUs for a storefront."""
    query: AvailabilityQuery = call.query
    skus = list(dict.fromkeys(query.sku))
    if len(query.sku) > MAX_SKUS:
        raise ProblemError("bad-request", f"at most {MAX_SKUS} SKUs a request; split the list")
    found = await call.service.availability(skus)
    page = AvailabilityPage(
        items=[
            AvailabilityOut.model_validate(a) for sku in skus if (a := found.get(sku)) is not None
        ],
        next_cursor=None,
        unknown=[sku for sku in skus if sku not in found],
    )
    body = page.model_dump_json().encode()
    etag = _etag(body)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if _matches(call.headers.get(_IF_NONE_MATCH.name), etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)


ROUTES = _availability.routes
