"""``/api/v1/orders``, ``/backorders`` and ``/purchase-orders``.

Creating an order reserves what is available and backorders the rest; the same
number with the same lines again answers the existing order (200), with other lines
409. Picks and receipts against orders take an ``Idempotency-Key`` like movements.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from datetime import datetime
from typing import Any
from typing import Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic import Field

from stock_core.domain.movement import MAX_QUANTITY
from stock_core.domain.orders import OrderLineRequest
from stock_core.domain.token import Role
from web_ui.api.movements import IDEMPOTENCY_KEY
from web_ui.api.movements import MovementOut
from web_ui.api.route import Call
from web_ui.api.route import Family
from web_ui.api.route import Page
from web_ui.api.route import PageQuery
from web_ui.api.route import decode_int_cursor
from web_ui.api.route import id_page
from web_ui.api.route import idempotency_key
from web_ui.api.route import json_response
from web_ui.api.route import page_of
from web_ui.api.route import saved_response
from web_ui.api.shape import AtLocation
from web_ui.api.shape import BodyModel
from web_ui.api.shape import OutModel
from web_ui.api.types import EmailText
from web_ui.api.types import ExpiryDate
from web_ui.api.types import LocationCodeText
from web_ui.api.types import LotText
from web_ui.api.types import SkuText
from web_ui.api.types import Text

__all__ = ["ROUTES"]

_orders = Family("orders", Role.MANAGER)
_purchase_orders = Family("purchase-orders", Role.MANAGER)

OrderStatus = Literal["open", "complete", "cancelled"]
PurchaseOrderStatus = Literal["open", "received", "cancelled"]
OrderNumberText = LocationCodeText  # the same shape: 1-64 of [A-Za-z0-9._/-]


class LineIn(BodyModel):
    sku: SkuText
    quantity: int = Field(ge=1, le=1_000_000)


class OrderIn(BodyModel):
    number: OrderNumberText
    lines: list[LineIn] = Field(min_length=1, max_length=500)
    priority: int = Field(0, ge=0, le=100, description="Higher is filled first.")
    customer: Text | None = Field(None, description="The customer's reference.")
    customer_email: EmailText | None = Field(
        None, description="The customer's contact, passed in order and backorder events."
    )


class OrderLineOut(OutModel):
    sku: str
    quantity: int
    reserved: int
    backordered: int
    picked: int


class OrderOut(OutModel):
    number: str
    priority: int
    status: OrderStatus
    customer: str | None
    customer_email: str | None
    created_at: datetime
    closed_at: datetime | None
    lines: list[OrderLineOut]


class NumberPath(BaseModel):
    number: OrderNumberText


class StatusQuery(PageQuery):
    status: Literal["open", "complete", "cancelled", "received"] | None = None


class BackorderQuery(PageQuery):
    sku: SkuText | None = None


class BackorderOut(OutModel):
    order: str
    sku: str
    quantity: int
    position: int = Field(description="Place in this product's fill queue, from 1.")
    expected_date: date | None = Field(
        description="When open purchase orders cover it; null when none do."
    )
    priority: int
    created_at: datetime


class PurchaseOrderIn(BodyModel):
    number: OrderNumberText
    expected_date: date = Field(ge=date(1970, 1, 1), le=date(2999, 12, 31))
    lines: list[LineIn] = Field(min_length=1, max_length=500)
    supplier: Text | None = None


class PurchaseOrderChange(BodyModel):
    expected_date: date = Field(ge=date(1970, 1, 1), le=date(2999, 12, 31))


class PurchaseOrderLineOut(OutModel):
    sku: str
    quantity: int
    received: int


class PurchaseOrderOut(OutModel):
    number: str
    supplier: str | None
    expected_date: date
    status: PurchaseOrderStatus
    created_at: datetime
    closed_at: datetime | None
    lines: list[PurchaseOrderLineOut]


class StockLineIn(BodyModel):
    sku: SkuText
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class StockLinesIn(AtLocation):
    """A pick against an order: a SKU may come on several lines."""

    lines: list[StockLineIn] = Field(min_length=1, max_length=500)


class ReceiptLineIn(StockLineIn):
    lot: LotText | None = None
    expiry: ExpiryDate | None = None


class ReceiptIn(AtLocation):
    """A receipt against a purchase order: a SKU may come on several lines (several lots)."""

    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=500)


class PostedMovements(BaseModel):
    number: str
    movements: list[MovementOut]


def _lines(lines: Sequence[LineIn | StockLineIn]) -> list[OrderLineRequest]:
    return [OrderLineRequest(line.sku, line.quantity) for line in lines]


def _receipt_lines(lines: Sequence[ReceiptLineIn]) -> list[OrderLineRequest]:
    return [OrderLineRequest(x.sku, x.quantity, x.lot, x.expiry) for x in lines]


def _key(call: Call, what: str) -> str:
    assert call.token is not None
    return f"api:{call.token.id}:{what}:{call.headers[IDEMPOTENCY_KEY]}"


_LINES_POSTED: dict[str, Any] = {
    "role": Role.WORKER,
    "path_params": NumberPath,
    "status": 201,
    "errors": (404, 409),
    "headers": (idempotency_key("answers the first response"),),
}
"""A worker's lines posted against an order or a purchase order (picks, receipts): its
number in the path, 201 with the movements written, once per Idempotency-Key."""


@_orders.post("/orders", body=OrderIn, response=OrderOut, status=201, errors=(200, 404, 409))
async def create_order(call: Call) -> web.StreamResponse:
    """Create a customer order: reserve what is available, backorder the rest.

    201 with lines[].reserved and lines[].backordered; 200 when an order with this number and the
    same lines exists; 409 when it exists with other lines, or backorder-not-allowed when a line
    cannot be reserved in full and its product refuses backorders (nothing is created); 404 for an
    unknown SKU; 422 invalid-movement when a SKU is on two lines (one line per SKU).
    """
    body: OrderIn = call.body
    view, created = await call.service.create_order(
        body.number,
        _lines(body.lines),
        priority=body.priority,
        customer=body.customer,
        customer_email=body.customer_email,
    )
    return saved_response(OrderOut.model_validate(view), created)


@_orders.get("/orders", query=StatusQuery, response=Page[OrderOut])
async def list_orders(call: Call) -> web.StreamResponse:
    """List customer orders."""
    query: StatusQuery = call.query
    fetch = functools.partial(call.service.list_orders, status=query.status)
    return json_response(await id_page(OrderOut, query, "order", fetch))


@_orders.get("/orders/{number}", path_params=NumberPath, response=OrderOut)
async def get_order(call: Call) -> web.StreamResponse:
    """One customer order."""
    path: NumberPath = call.path
    return json_response(OrderOut.model_validate(await call.service.get_order(path.number)))


@_orders.post("/orders/{number}/cancel", path_params=NumberPath, response=OrderOut, errors=(409,))
async def cancel_order(call: Call) -> web.StreamResponse:
    """Cancel an order: release its reservations (which may fill other backorders)."""
    path: NumberPath = call.path
    return json_response(OrderOut.model_validate(await call.service.cancel_order(path.number)))


@_orders.post(
    "/orders/{number}/picks", body=StockLinesIn, response=PostedMovements, **_LINES_POSTED
)
async def pick_order(call: Call) -> web.StreamResponse:
    """Pick against an order at a location (consumes its reservations), all or nothing.

    404 for an unknown SKU or location; 409 insufficient-stock beyond what the order has reserved;
    422 invalid-movement when the order is not open or a SKU is not on it.
    """
    path: NumberPath = call.path
    body: StockLinesIn = call.body
    outcomes = await call.service.pick_order(
        path.number, body.location, _lines(body.lines), key=_key(call, "pick"), actor=call.actor
    )
    rows = [MovementOut.model_validate(r) for o in outcomes for r in o.movements]
    headers = {"Idempotent-Replayed": "true"} if all(o.replayed for o in outcomes) else {}
    return json_response(PostedMovements(number=path.number, movements=rows), status=201, **headers)


@_orders.get("/backorders", role=Role.DISPLAY, query=BackorderQuery, response=Page[BackorderOut])
async def list_backorders(call: Call) -> web.StreamResponse:
    """Backorders waiting for stock, in fill order, with expected dates."""
    query: BackorderQuery = call.query
    rows = await call.service.backorders(query.sku)
    start = decode_int_cursor("backorder", query.cursor) or 0
    window = list(enumerate(rows))[start : start + query.limit + 1]
    return json_response(
        page_of(
            Page[BackorderOut],
            window,
            query.limit,
            "backorder",
            lambda item: item[0] + 1,
            lambda item: BackorderOut.model_validate(item[1]),
        )
    )


@_purchase_orders.post(
    "/purchase-orders",
    body=PurchaseOrderIn,
    response=PurchaseOrderOut,
    status=201,
    errors=(200, 404, 409),
)
async def create_purchase_order(call: Call) -> web.StreamResponse:
    """Record a purchase order (expected receipts and date).

    201; 200 when a purchase order with this number and the same lines exists; 409 when it exists
    with other lines; 404 for an unknown SKU; 422 invalid-movement when a SKU is on two lines (one
    line per SKU).
    """
    body: PurchaseOrderIn = call.body
    view, created = await call.service.create_purchase_order(
        body.number, body.expected_date, _lines(body.lines), supplier=body.supplier
    )
    return saved_response(PurchaseOrderOut.model_validate(view), created)


@_purchase_orders.get("/purchase-orders", query=StatusQuery, response=Page[PurchaseOrderOut])
async def list_purchase_orders(call: Call) -> web.StreamResponse:
    """List purchase orders."""
    query: StatusQuery = call.query
    fetch = functools.partial(call.service.list_purchase_orders, status=query.status)
    return json_response(await id_page(PurchaseOrderOut, query, "purchase-order", fetch))


@_purchase_orders.get(
    "/purchase-orders/{number}", path_params=NumberPath, response=PurchaseOrderOut
)
async def get_purchase_order(call: Call) -> web.StreamResponse:
    """One purchase order."""
    path: NumberPath = call.path
    return json_response(
        PurchaseOrderOut.model_validate(await call.service.get_purchase_order(path.number))
    )


@_purchase_orders.patch(
    "/purchase-orders/{number}",
    PurchaseOrderChange,
    PurchaseOrderOut,
    path_params=NumberPath,
    errors=(409,),
)
async def update_purchase_order(call: Call) -> web.StreamResponse:
    """Reschedule an open purchase order (its expected date).

    Waiting backorders the purchase order covers get their new expected dates (a
    backorder.eta_changed event each whose date moves). 409 when the purchase order is no longer
    open.
    """
    path: NumberPath = call.path
    body: PurchaseOrderChange = call.body
    view = await call.service.reschedule_purchase_order(path.number, body.expected_date)
    return json_response(PurchaseOrderOut.model_validate(view))


@_purchase_orders.post(
    "/purchase-orders/{number}/cancel",
    path_params=NumberPath,
    response=PurchaseOrderOut,
    errors=(409,),
)
async def cancel_purchase_order(call: Call) -> web.StreamResponse:
    """Cancel an open purchase order."""
    path: NumberPath = call.path
    view = await call.service.cancel_purchase_order(path.number)
    return json_response(PurchaseOrderOut.model_validate(view))


@_purchase_orders.post(
    "/purchase-orders/{number}/receipts", body=ReceiptIn, response=PostedMovements, **_LINES_POSTED
)
async def receive_purchase_order(call: Call) -> web.StreamResponse:
    """Receive lines against a purchase order at a location, all or nothing.

    Each line may name its lot and the lot's expiry (a lot-tracked product needs a lot); a SKU may
    come on several lines, one per lot. Receipts fill waiting backorders first-in first-out in the
    same transaction. 404 for an unknown SKU or location; 422 invalid-movement when the purchase
    order is not open or a SKU is not on it.
    """
    path: NumberPath = call.path
    body: ReceiptIn = call.body
    outcomes = await call.service.receive_purchase_order(
        path.number,
        body.location,
        _receipt_lines(body.lines),
        key=_key(call, "receipt"),
        actor=call.actor,
    )
    rows = [MovementOut.model_validate(r) for o in outcomes for r in o.movements]
    headers = {"Idempotent-Replayed": "true"} if all(o.replayed for o in outcomes) else {}
    return json_response(PostedMovements(number=path.number, movements=rows), status=201, **headers)


ROUTES = _orders.routes + _purchase_orders.routes
