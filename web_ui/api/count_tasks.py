"""``/api/v1/count-tasks``: cycle counts a manager opens, workers count and a manager confirms.

While a task is open, a count of one of its locations (a scanner in count mode ending
with ``CMD:DONE``, the handheld page, or ``POST …/counts``) is kept on the task instead
of changing stock. ``POST …/confirm`` turns the counts into lines (expected: on hand at
confirmation); lines whose variance is beyond ``[counts] approval_percent`` wait for
``POST …/approve``, the others post at once as ``count`` movements. A worker's view of a
``blind`` task leaves ``expected`` and ``variance`` out (null).
"""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Annotated
from typing import Any
from typing import Literal

from aiohttp import web
from pydantic import Field

from stock_core.domain.count_task import CountTaskView
from stock_core.domain.count_task import LineStatus
from stock_core.domain.count_task import TaskStatus
from stock_core.domain.movement import MAX_QUANTITY
from stock_core.domain.movement import Count
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Line
from stock_core.domain.movement import ProductRef
from stock_core.domain.token import Role
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from web_ui.api.route import Call
from web_ui.api.route import Family
from web_ui.api.route import Page
from web_ui.api.route import PageQuery
from web_ui.api.route import id_page
from web_ui.api.route import idempotency_key
from web_ui.api.route import json_response
from web_ui.api.shape import AtLocation
from web_ui.api.shape import BodyModel
from web_ui.api.shape import IdPath
from web_ui.api.shape import OutModel
from web_ui.api.types import LocationCodeText
from web_ui.api.types import LotText
from web_ui.api.types import SkuText
from web_ui.keys import CONFIG

__all__ = ["ROUTES", "CountTaskIn", "CountTaskOut", "CountsIn"]

_count_tasks = Family("count-tasks", Role.MANAGER)

_IDEMPOTENCY_KEY = "Idempotency-Key"


class CountTaskIn(BodyModel):
    locations: list[LocationCodeText] | None = Field(
        None, min_length=1, max_length=10_000, description="Location codes to count."
    )
    zone: Annotated[str, Field(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = Field(
        None, description="Every location of this zone."
    )
    abc_class: Literal["A", "B", "C"] | None = Field(
        None,
        description="Every location holding stock of a product of this ABC class (A: the "
        "products making the first 80 % of the year's outbound value, B: the next 15 %, "
        "C: the rest).",
    )
    blind: bool = Field(False, description="Hide expected quantities from workers.")


class CountLineIn(BodyModel):
    sku: SkuText
    quantity: int = Field(ge=0, le=MAX_QUANTITY, description="Units counted (0: none there).")
    lot: LotText | None = None


class CountsIn(AtLocation):
    lines: list[CountLineIn] = Field(min_length=1, max_length=10_000)


class CountTaskLineOut(OutModel):
    location: str
    sku: str
    lot: str
    expected: int | None = Field(description="On hand (null: hidden from workers, blind task).")
    counted: int
    variance: int | None = Field(description="counted - expected (null when hidden).")
    status: LineStatus = Field(description="counted: not confirmed yet (against stock now).")


class CountTaskOut(OutModel):
    id: int
    status: TaskStatus
    blind: bool
    scope: dict[str, Any]
    locations: list[str]
    counted_locations: list[str]
    created_by: str
    created_at: datetime
    confirmed_at: datetime | None
    approved_at: datetime | None
    lines: list[CountTaskLineOut]


def _task_out(view: CountTaskView, call: Call) -> CountTaskOut:
    """The task as ``call``'s token may see it (a worker: a blind task's figures hidden)."""
    assert call.token is not None
    if call.token.role.rank < Role.MANAGER.rank:
        view = view.for_worker()
    return CountTaskOut.model_validate(view)


class TaskQuery(PageQuery):
    status: TaskStatus | None = None


@_count_tasks.post(
    "/count-tasks", body=CountTaskIn, response=CountTaskOut, status=201, errors=(404, 409)
)
async def open_count_task(call: Call) -> web.StreamResponse:
    """Open a count task.

    Name exactly one of locations, zone or abc_class (else 422 invalid-count-task, also when they
    name no location). 404 unknown-location; 409 conflict when a location is already in another open
    task.
    """
    body: CountTaskIn = call.body
    view = await call.service.open_count_task(
        locations=body.locations,
        zone=body.zone,
        abc_class=body.abc_class,
        blind=body.blind,
        actor=call.actor,
    )
    return json_response(_task_out(view, call), status=201)


@_count_tasks.get("/count-tasks", role=Role.WORKER, query=TaskQuery, response=Page[CountTaskOut])
async def list_count_tasks(call: Call) -> web.StreamResponse:
    """List count tasks (without lines)."""
    query: TaskQuery = call.query
    fetch = functools.partial(call.service.list_count_tasks, status=query.status)
    page = await id_page(CountTaskOut, query, "count_task", fetch, lambda v: _task_out(v, call))
    return json_response(page)


@_count_tasks.get("/count-tasks/{id}", role=Role.WORKER, path_params=IdPath, response=CountTaskOut)
async def get_count_task(call: Call) -> web.StreamResponse:
    """One count task with its lines.

    While open, lines are the counts so far against stock now (status counted). Workers see a blind
    task's expected and variance as null.
    """
    path: IdPath = call.path
    return json_response(_task_out(await call.service.count_task(path.id), call))


@_count_tasks.post(
    "/count-tasks/{id}/counts",
    role=Role.WORKER,
    path_params=IdPath,
    body=CountsIn,
    response=CountTaskOut,
    errors=(409,),
    headers=(idempotency_key("changes nothing", required=False),),
)
async def post_counts(call: Call) -> web.StreamResponse:
    """Record a count of one of the task's locations.

    The location's latest count replaces an earlier one. 404 for an unknown task, location or SKU;
    409 conflict when the location is not in the task, count-task-state when the task is no longer
    open, count-below-reserved never (a count is only checked at confirmation).
    """
    path: IdPath = call.path
    body: CountsIn = call.body
    assert call.token is not None
    given = call.headers.get(_IDEMPOTENCY_KEY) or uuid.uuid4().hex
    key = IdempotencyKey(f"api:{call.token.id}:{given}")
    lines = tuple(Line(ProductRef(sku=Sku(x.sku)), x.quantity, x.lot) for x in body.lines)
    envelope = Envelope(key, Count(LocationCode(body.location), lines), actor=call.actor)
    view = await call.service.count_for_task(path.id, envelope)
    return json_response(_task_out(view, call))


@_count_tasks.post(
    "/count-tasks/{id}/confirm", path_params=IdPath, response=CountTaskOut, errors=(409,)
)
async def confirm_count_task(call: Call) -> web.StreamResponse:
    """Confirm a count task.

    Every product expected in a counted location and not counted counts as zero. Expected is on hand
    now. Lines whose |variance| exceeds approval_percent of expected ([counts] approval_percent,
    default 10) wait (pending_approval); the others post as count movements. 409 count-task-state
    when the task is not open; count-below-reserved when a count is below what orders hold (nothing
    posted).
    """
    path: IdPath = call.path
    percent = call.request.app[CONFIG].count_approval_percent
    view = await call.service.confirm_count_task(
        path.id, approval_percent=percent, actor=call.actor
    )
    return json_response(_task_out(view, call))


@_count_tasks.post(
    "/count-tasks/{id}/approve", path_params=IdPath, response=CountTaskOut, errors=(409,)
)
async def approve_count_task(call: Call) -> web.StreamResponse:
    """Approve a count task's waiting lines.

    Posts every pending_approval line (on hand becomes the count) and closes the task. 409
    count-task-state unless the task is pending_approval.
    """
    path: IdPath = call.path
    view = await call.service.approve_count_task(path.id, actor=call.actor)
    return json_response(_task_out(view, call))


ROUTES = _count_tasks.routes
