"""``/api/v1/movements``: the ledger (list, filter, CSV export) and manual movements.

``POST`` needs an ``Idempotency-Key`` header. The key is scoped to the calling token
(``api:<token id>:<key>``) and travels to ``StockService.post`` with the command: a
replay answers the first response (same status and body, header
``Idempotent-Replayed: true``) and changes nothing; the same key with a different body
is 409 ``idempotency-conflict``. Refused picks are 409 ``insufficient-stock`` and are
replayed as such. Any body may name the ``operator`` who did it (a known badge code);
the actor stays the token.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated
from typing import Final
from typing import Literal

from aiohttp import web
from pydantic import AwareDatetime
from pydantic import Field
from pydantic import RootModel
from pydantic import model_validator
from pydantic.json_schema import SkipJsonSchema

from stock_core.domain.movement import MAX_QUANTITY
from stock_core.domain.movement import Adjust
from stock_core.domain.movement import Command
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Line
from stock_core.domain.movement import Move
from stock_core.domain.movement import MovementKind
from stock_core.domain.movement import MovementRecord
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.movement import Return
from stock_core.domain.movement import Scrap
from stock_core.domain.token import Role
from stock_core.model import MovementFilter
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import OperatorCode
from stock_core.types import ReasonCode
from stock_core.types import Sku
from web_ui.api.route import API
from web_ui.api.route import Call
from web_ui.api.route import Header
from web_ui.api.route import Page
from web_ui.api.route import PageQuery
from web_ui.api.route import Route
from web_ui.api.route import decode_int_cursor
from web_ui.api.route import json_response
from web_ui.api.route import page_of
from web_ui.api.shape import BodyModel
from web_ui.api.shape import IdPath
from web_ui.api.shape import OutModel
from web_ui.api.types import PRINTABLE
from web_ui.api.types import ExpiryDate
from web_ui.api.types import LocationCodeText
from web_ui.api.types import LotText
from web_ui.api.types import NoteText
from web_ui.api.types import OperatorCodeText
from web_ui.api.types import ReasonText
from web_ui.api.types import SerialText
from web_ui.api.types import SkuText
from web_ui.api.types import WarehouseCodeText
from web_ui.csv_cell import defuse
from web_ui.keys import EXPORTS
from web_ui.problem import ProblemError

__all__ = ["CSV_COLUMNS", "CSV_NUMERIC", "ROUTES", "MovementIn", "MovementOut", "MovementPosted"]

IDEMPOTENCY_KEY = "Idempotency-Key"
CSV_NUMERIC = frozenset(
    {"id", "ts", "kind", "delta", "on_hand_after", "scan_seq", "reverses", "reason"}
)
"""Columns written as they are (numbers, a timestamp, a kind); every other cell is text,
defused against formula injection (``web_ui.csv_cell``)."""

Quantity = Annotated[
    int, Field(ge=1, le=MAX_QUANTITY, description="Units (pack sizes do not apply).")
]


class MovementOut(OutModel):
    """One ledger row (SPEC's ``GET /api/v1/movements`` items)."""

    id: int
    ts: datetime
    kind: MovementKind
    sku: str
    location: str
    lot: str
    delta: int
    on_hand_after: int
    scanner: str | None
    scan_seq: int | None
    actor: str
    note: str | None
    reverses: int | None = Field(description="The movement an undo reverses.")
    operator: str | None = Field(
        None, description="The worker signed in on the scanner (USR:) or named by the request."
    )
    reason: str | None = Field(None, description="Why: the reason of a return or a scrap.")
    serial: str | None = Field(
        None, description="The serial this row moved (one unit), for a serial-tracked product."
    )
    warehouse: str | None = Field(None, description="The warehouse of the location.")


CSV_COLUMNS: Final = tuple(MovementOut.model_fields)
"""The export's header: a movement's fields, in the order the JSON item has them."""


class MovementPosted(MovementOut):
    """The movement (the first row written) and every row the command wrote."""

    movements: list[MovementOut] = Field(
        description="Every ledger row written: one, or two for a move (more when a pick or "
        "move without a lot spans lots)."
    )


class _MovementBody(BodyModel):
    sku: SkuText
    location: LocationCodeText
    lot: LotText | None = None
    note: NoteText | None = None
    operator: OperatorCodeText | None = None

    def _product(self) -> ProductRef:
        return ProductRef(sku=Sku(self.sku))


class _UnitsBody(_MovementBody):
    """A movement of units: ``quantity``, or ``serials`` (one unit each) for a
    serial-tracked product, whose number the quantity then is."""

    quantity: Quantity | SkipJsonSchema[None] = Field(
        None, description="Units (pack sizes do not apply); with serials, their number."
    )
    serials: (
        Annotated[list[SerialText], Field(min_length=1, max_length=MAX_QUANTITY)]
        | SkipJsonSchema[None]
    ) = Field(
        None,
        description="The serials moved, each once, for a serial-tracked product (one unit "
        "each); the quantity may be left out.",
    )

    @model_validator(mode="after")
    def _units(self) -> _UnitsBody:
        if self.quantity is None and not self.serials:
            raise ValueError("give the quantity (or, for a serial-tracked product, serials)")
        return self

    @property
    def units(self) -> int:
        return self.quantity if self.quantity is not None else len(self.serials or ())

    @property
    def serial_tuple(self) -> tuple[str, ...]:
        return tuple(self.serials or ())


class ReceiveIn(_UnitsBody):
    kind: Literal["receive"]
    expiry: ExpiryDate | None = None

    def to_command(self) -> Command:
        return Receive(
            self._product(),
            LocationCode(self.location),
            self.units,
            self.lot,
            self.expiry,
            note=self.note,
            serials=self.serial_tuple,
        )


class PickIn(_UnitsBody):
    kind: Literal["pick"]

    def to_command(self) -> Command:
        return Pick(
            self._product(),
            LocationCode(self.location),
            self.units,
            self.lot,
            note=self.note,
            serials=self.serial_tuple,
        )


class AdjustIn(_MovementBody):
    kind: Literal["adjust"]
    quantity: int = Field(
        ge=-MAX_QUANTITY,
        le=MAX_QUANTITY,
        description="Signed change in units, not zero: negative removes (damage), positive "
        "adds (found stock).",
    )

    def to_command(self) -> Command:
        return Adjust(
            self._product(), LocationCode(self.location), self.quantity, self.lot, self.note
        )


class MoveIn(_UnitsBody):
    kind: Literal["move"]
    to_location: LocationCodeText

    def to_command(self) -> Command:
        line = Line(self._product(), self.units, self.lot, serials=self.serial_tuple)
        return Move(LocationCode(self.location), LocationCode(self.to_location), (line,), self.note)


class ReturnBody(_UnitsBody):
    kind: Literal["return"]
    reason: ReasonText
    expiry: ExpiryDate | None = None

    def to_command(self) -> Command:
        return Return(
            self._product(),
            LocationCode(self.location),
            self.units,
            ReasonCode(self.reason.lower()),
            self.lot,
            self.expiry,
            note=self.note,
            serials=self.serial_tuple,
        )


class ScrapBody(_UnitsBody):
    kind: Literal["scrap"]
    reason: ReasonText

    def to_command(self) -> Command:
        return Scrap(
            self._product(),
            LocationCode(self.location),
            self.units,
            ReasonCode(self.reason.lower()),
            self.lot,
            note=self.note,
            serials=self.serial_tuple,
        )


class MovementIn(
    RootModel[
        Annotated[
            ReceiveIn | PickIn | AdjustIn | MoveIn | ReturnBody | ScrapBody,
            Field(discriminator="kind"),
        ]
    ]
):
    """A manual movement (SPEC's ``POST /api/v1/movements`` body)."""


class MovementQuery(PageQuery):
    sku: str | None = Field(None, max_length=64, pattern=PRINTABLE)
    location: str | None = Field(None, max_length=64, pattern=PRINTABLE)
    kind: MovementKind | None = None
    scanner: str | None = Field(None, max_length=100, pattern=PRINTABLE)
    since: AwareDatetime | None = Field(None, alias="from", description="ts ≥ this.")
    until: AwareDatetime | None = Field(None, alias="to", description="ts < this.")
    order: Literal["asc", "desc"] = Field("asc", description="By id: ledger order or newest first.")
    format: Literal["json", "csv"] = Field("json", description="csv: as GET /movements.csv.")
    operator: str | None = Field(None, max_length=64, pattern=PRINTABLE)
    warehouse: WarehouseCodeText | None = Field(
        None, description="Only movements at this warehouse's locations."
    )

    def filters(self) -> MovementFilter:
        return MovementFilter(
            sku=self.sku,
            location=self.location,
            kind=None if self.kind is None else self.kind.value,
            scanner=self.scanner,
            since=self.since,
            until=self.until,
            operator=self.operator,
            warehouse=self.warehouse,
        )


class ExportQuery(MovementQuery):
    """The list's filters; the export is the whole ledger that matches, in id order."""


async def list_movements(call: Call) -> web.StreamResponse:
    query: MovementQuery = call.query
    if query.format == "csv":
        return await _export(call, query)
    rows = await call.service.list_movements(
        query.filters(),
        after=decode_int_cursor("movement", query.cursor),
        limit=query.limit + 1,
        newest_first=query.order == "desc",
    )
    page = page_of(
        Page[MovementOut], rows, query.limit, "movement", lambda r: r.id, MovementOut.model_validate
    )
    return json_response(page)


async def export_movements_csv(call: Call) -> web.StreamResponse:
    query: ExportQuery = call.query
    return await _export(call, query)


_SLICE = 200
"""Rows formatted between two yields to the event loop (about 2 ms of work): while an
export fills the socket's buffers it must not keep API requests waiting."""


def _csv_chunk(rows: Sequence[MovementRecord]) -> bytes:
    """CSV lines for ``rows``: numbers as they are, text defused (the export's hot loop:
    one tuple per row, no per-cell dispatch)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    text = defuse
    writer.writerows(
        (
            r.id,
            r.ts.isoformat(),
            r.kind.value,
            text(r.sku),
            text(r.location),
            text(r.lot),
            r.delta,
            r.on_hand_after,
            text(r.scanner or ""),
            "" if r.scan_seq is None else r.scan_seq,
            text(r.actor),
            text(r.note or ""),
            "" if r.reverses is None else r.reverses,
            text(r.operator or ""),
            r.reason or "",
            text(r.serial or ""),
            r.warehouse or "",
        )
        for r in rows
    )
    return buffer.getvalue().encode()


async def _export(call: Call, query: MovementQuery) -> web.StreamResponse:
    """Stream every matching row from one server-side cursor, a batch at a time.

    Each export holds a database connection until its last byte is sent (a slow
    client, a slow export): at most ``WebConfig.max_exports`` run at once per node,
    more are answered 503 ``busy``.
    """
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="movements.csv"',
        }
    )
    gone = False
    with call.request.app[EXPORTS].take("CSV exports"):
        async with call.service.export_movements(query.filters()) as batches:
            await response.prepare(call.request)
            try:
                await response.write((",".join(CSV_COLUMNS) + "\r\n").encode())
                async for rows in batches:
                    for start in range(0, len(rows), _SLICE):
                        await response.write(_csv_chunk(rows[start : start + _SLICE]))
                        await asyncio.sleep(0)  # a write into free buffer space does not yield
            except ConnectionError:  # the client left: stop reading (not a database error)
                gone = True
        if not gone:
            await response.write_eof()
    return response


async def get_movement(call: Call) -> web.StreamResponse:
    path: IdPath = call.path
    record = await call.service.movement(path.id)
    if record is None:
        raise ProblemError("not-found", f"no movement {path.id}")
    return json_response(MovementOut.model_validate(record))


async def post_movement(call: Call) -> web.StreamResponse:
    body: MovementIn = call.body
    assert call.token is not None
    key = IdempotencyKey(f"api:{call.token.id}:{call.headers[IDEMPOTENCY_KEY]}")
    operator = None if body.root.operator is None else OperatorCode(body.root.operator)
    envelope = Envelope(
        key=key, command=body.root.to_command(), actor=call.actor, operator=operator
    )
    outcome = await call.service.post(envelope)
    rows = [MovementOut.model_validate(r) for r in outcome.movements]
    if not rows:
        raise ProblemError("conflict", "the movement wrote no ledger rows")
    posted = MovementPosted(**rows[0].model_dump(), movements=rows)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return json_response(posted, status=201, **headers)


_KEY_HEADER = Header(
    IDEMPOTENCY_KEY,
    "Makes the request happen at most once: a replay answers the first response.",
    required=True,
)

ROUTES = (
    Route(
        "GET",
        f"{API}/movements",
        list_movements,
        "List movements (the ledger), filtered and paginated",
        "movements",
        Role.MANAGER,
        query=MovementQuery,
        response=Page[MovementOut],
        also_csv=True,
        errors=(404,),
        description="404 when warehouse= names no warehouse.",
    ),
    Route(
        "GET",
        f"{API}/movements.csv",
        export_movements_csv,
        "Export movements as CSV (streamed; every matching row)",
        "movements",
        Role.MANAGER,
        query=ExportQuery,
        media_type="text/csv",
        errors=(404,),
        description="Columns: "
        + ",".join(CSV_COLUMNS)
        + ". cursor= and limit= are ignored. Text cells that a spreadsheet would run as a "
        "formula (starting with =, +, -, @, tab or CR) are written with a leading ' "
        "(numbers such as a delta of -3 are not). 503 busy when this node already streams "
        "its most exports at once.",
    ),
    Route(
        "GET",
        f"{API}/movements/{{id}}",
        get_movement,
        "One movement",
        "movements",
        Role.MANAGER,
        path_params=IdPath,
        response=MovementOut,
    ),
    Route(
        "POST",
        f"{API}/movements",
        post_movement,
        "Post a manual receive, pick, adjust, move, return or scrap",
        "movements",
        Role.WORKER,
        body=MovementIn,
        response=MovementPosted,
        status=201,
        errors=(404, 409, 422),
        headers=(_KEY_HEADER,),
        description="Replaying an Idempotency-Key answers the first response (status and "
        "body, plus header Idempotent-Replayed: true) and changes nothing. 404 for an unknown "
        "SKU or location; 409 for a refused pick (insufficient-stock) or a key reused with "
        "another body (idempotency-conflict); 422 invalid-movement for a move whose "
        "to_location is its location, serials whose number is not the quantity, or a "
        "movement the product's tracking refuses (tracking-required: a serial-tracked product "
        "without serials, serials for another product, a lot-tracked product received "
        "without a lot); 409 serial-conflict for a serial received while in stock (or in "
        "transit) or taken from a location it is not at. A receive may name the lot's expiry. "
        "A return brings units into stock at a quarantine location (409 not-quarantine for a "
        "storage location); a scrap writes units off (409 insufficient-stock); both need a "
        "reason from the configured list (422 unknown-reason). A pick at a quarantine "
        "location is 409 quarantined-stock. operator names who did it (422 "
        "unknown-operator when no operator has that code).",
    ),
)
