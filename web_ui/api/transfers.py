"""``/api/v1/transfers``: stock shipped from one warehouse to another.

``POST /transfers`` ships its lines at once from a location (the units leave it and are
in transit, counted apart); ``POST /transfers/{number}/receipts`` receives some or all of
them at a location of the destination. Both are ledger movements (``transfer_out``,
``transfer_in``), take an ``Idempotency-Key`` like ``POST /movements`` and answer the
transfer as it stands with the movements written.
"""

from __future__ import annotations

import functools
from datetime import date
from datetime import datetime
from typing import Annotated
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic import Field

from stock_core.domain.movement import MAX_QUANTITY
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Line
from stock_core.domain.movement import MovementOutcome
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import ReceiveTransfer
from stock_core.domain.movement import ShipTransfer
from stock_core.domain.token import Role
from stock_core.domain.warehouse import TransferStatus
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import OperatorCode
from stock_core.types import Sku
from stock_core.types import TransferNumber
from stock_core.types import WarehouseCode
from web_ui.api.movements import IDEMPOTENCY_KEY
from web_ui.api.movements import MovementOut
from web_ui.api.route import Call
from web_ui.api.route import Family
from web_ui.api.route import Page
from web_ui.api.route import PageQuery
from web_ui.api.route import id_page
from web_ui.api.route import idempotency_key
from web_ui.api.route import json_response
from web_ui.api.shape import AtLocation
from web_ui.api.shape import BodyModel
from web_ui.api.shape import OutModel
from web_ui.api.types import LocationCodeText
from web_ui.api.types import LotText
from web_ui.api.types import NoteText
from web_ui.api.types import OperatorCodeText
from web_ui.api.types import SerialText
from web_ui.api.types import SkuText
from web_ui.api.types import WarehouseCodeText

__all__ = ["ROUTES", "TransferIn", "TransferOut", "TransferReceiptIn"]

_transfers = Family("transfers", Role.WORKER)

TransferNumberText = LocationCodeText  # the same shape: 1-64 of [A-Za-z0-9._/-]
Quantity = Annotated[
    int, Field(ge=1, le=MAX_QUANTITY, description="Units (pack sizes do not apply).")
]


class TransferLineIn(BodyModel):
    sku: SkuText
    quantity: Quantity
    lot: LotText | None = Field(
        None, description="Only this lot; without it lots go earliest expiry first."
    )
    serials: list[SerialText] | None = Field(
        None,
        max_length=MAX_QUANTITY,
        description="The units' serials, one each, for a serial-tracked product (its line "
        "needs them: 422 tracking-required without, and for serials of a product not "
        "serial-tracked); shipped, each must be at from_location, received, in transit on "
        "this transfer (409 serial-conflict).",
    )

    def to_line(self) -> Line:
        return Line(ProductRef(sku=Sku(self.sku)), self.quantity, self.lot, None, self.serials_)

    @property
    def serials_(self) -> tuple[str, ...]:
        return tuple(self.serials or ())


class TransferIn(BodyModel):
    """SPEC's ``POST /api/v1/transfers`` body."""

    number: TransferNumberText
    from_location: LocationCodeText
    to_warehouse: WarehouseCodeText
    lines: list[TransferLineIn] = Field(
        max_length=500,
        description="What ships now. May be empty: the transfer is opened for scanners to "
        "ship against (TRF:<number> in pick mode).",
    )
    note: NoteText | None = None
    operator: OperatorCodeText | None = None


class TransferReceiptIn(AtLocation):
    """SPEC's ``POST /api/v1/transfers/{number}/receipts`` body."""

    lines: list[TransferLineIn] = Field(min_length=1, max_length=500)
    note: NoteText | None = None
    operator: OperatorCodeText | None = None


class TransferLotOut(OutModel):
    lot: str
    expiry: date | None
    quantity: int = Field(description="Units shipped.")
    received: int


class TransferLineOut(OutModel):
    sku: str
    quantity: int = Field(description="Units shipped.")
    received: int
    in_transit: int = Field(description="quantity - received: on the way, in no location.")
    lots: list[TransferLotOut]


class TransferOut(OutModel):
    """SPEC's ``GET /api/v1/transfers/{number}`` shape."""

    number: str
    status: str = Field(
        description="in_transit until the first receipt, partial while units are still on "
        "their way, received once every unit shipped has arrived."
    )
    from_warehouse: str
    to_warehouse: str
    from_location: str = Field(description="Where the transfer was first shipped from.")
    created_by: str
    created_at: datetime
    received_at: datetime | None
    lines: list[TransferLineOut]


class TransferPosted(TransferOut):
    movements: list[MovementOut] = Field(
        description="The ledger rows this request wrote (transfer_out or transfer_in, one per lot)."
    )


class NumberPath(BaseModel):
    number: TransferNumberText


def _envelope(
    call: Call, what: str, command: ShipTransfer | ReceiveTransfer, operator: str | None
) -> Envelope:
    assert call.token is not None
    key = IdempotencyKey(f"api:{call.token.id}:{what}:{call.headers[IDEMPOTENCY_KEY]}")
    who = None if operator is None else OperatorCode(operator)
    return Envelope(key=key, command=command, actor=call.actor, operator=who)


async def _answer(call: Call, number: str, outcome: MovementOutcome) -> web.StreamResponse:
    transfer = TransferOut.model_validate(await call.service.transfer(number))
    posted = TransferPosted(
        **transfer.model_dump(),
        movements=[MovementOut.model_validate(r) for r in outcome.movements],
    )
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return json_response(posted, status=201, **headers)


_POSTED: dict[str, Any] = {
    "status": 201,
    "errors": (404, 409),
    "headers": (idempotency_key("answers the first movements"),),
}
"""A shipment or a receipt: 201 with its movements, once per Idempotency-Key."""


@_transfers.post("/transfers", body=TransferIn, response=TransferPosted, **_POSTED)
async def ship_transfer(call: Call) -> web.StreamResponse:
    """Ship stock to another warehouse: it leaves at once and is in transit.

    Every line leaves from_location at once (transfer_out movements; without a lot, earliest expiry
    first) and is in transit, in no location, until received at a location of to_warehouse. All or
    nothing. 404 for an unknown SKU, location (unknown-location) or warehouse (unknown-warehouse);
    409 conflict when a transfer has this number, insufficient-stock or quarantined-stock for a line
    that cannot leave, serial-conflict for a serial not at from_location; 422 invalid-movement when
    to_warehouse is the location's own, tracking-required for a serial-tracked product without
    serials. A replayed Idempotency-Key answers the first movements (Idempotent-Replayed: true) with
    the transfer as it stands.
    """
    body: TransferIn = call.body
    command = ShipTransfer(
        TransferNumber(body.number),
        LocationCode(body.from_location),
        tuple(line.to_line() for line in body.lines),
        WarehouseCode(body.to_warehouse),
        body.note,
    )
    outcome = await call.service.post(_envelope(call, "transfer", command, body.operator))
    return await _answer(call, body.number, outcome)


@_transfers.post(
    "/transfers/{number}/receipts",
    path_params=NumberPath,
    body=TransferReceiptIn,
    response=TransferPosted,
    **_POSTED,
)
async def receive_transfer(call: Call) -> web.StreamResponse:
    """Receive a transfer's units (some or all) at a location of its destination.

    transfer_in movements; each line takes at most what is still in transit of its SKU (of its lot,
    if named), earliest expiry first. Units that arrive fill waiting backorders first-in first-out,
    as any receipt does. All or nothing. 404 unknown-transfer, unknown SKU or location; 409
    not-in-transit (more than is on its way, or a SKU not on the transfer), wrong-warehouse (the
    location is not in the destination), capacity-exceeded, serial-conflict (a serial not in transit
    on this transfer).
    """
    path: NumberPath = call.path
    body: TransferReceiptIn = call.body
    command = ReceiveTransfer(
        TransferNumber(path.number),
        LocationCode(body.location),
        tuple(line.to_line() for line in body.lines),
        body.note,
    )
    outcome = await call.service.post(_envelope(call, "transfer-receipt", command, body.operator))
    return await _answer(call, path.number, outcome)


class TransferQuery(PageQuery):
    status: TransferStatus | None = Field(
        None, description="Only transfers in this status (in_transit: none received yet)."
    )
    warehouse: WarehouseCodeText | None = Field(
        None, description="Only transfers from or to this warehouse."
    )


@_transfers.get(
    "/transfers", role=Role.MANAGER, query=TransferQuery, response=Page[TransferOut], errors=(404,)
)
async def list_transfers(call: Call) -> web.StreamResponse:
    """List transfers in the order they were opened, with their lines.

    status= and warehouse= narrow it (what is still on its way to a warehouse: status=in_transit
    and status=partial). 404 unknown-warehouse when warehouse= names no warehouse.
    """
    query: TransferQuery = call.query
    fetch = functools.partial(
        call.service.list_transfers, status=query.status, warehouse=query.warehouse
    )
    return json_response(await id_page(TransferOut, query, "transfer", fetch))


@_transfers.get(
    "/transfers/{number}", role=Role.MANAGER, path_params=NumberPath, response=TransferOut
)
async def get_transfer(call: Call) -> web.StreamResponse:
    """One transfer: its status and, per SKU, units shipped, received and in transit."""
    path: NumberPath = call.path
    return json_response(TransferOut.model_validate(await call.service.transfer(path.number)))


ROUTES = _transfers.routes
