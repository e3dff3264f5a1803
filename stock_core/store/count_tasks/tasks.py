"""Opening, showing, confirming and approving count tasks (each one transaction)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from asyncpg import Record

from stock_core.domain.count_task import ABC_CLASSES
from stock_core.domain.count_task import CountLine
from stock_core.domain.count_task import CountPosting
from stock_core.domain.count_task import CountTaskLineView
from stock_core.domain.count_task import CountTaskView
from stock_core.domain.count_task import HeldRow
from stock_core.domain.count_task import LineStatus
from stock_core.domain.count_task import TaskStatus
from stock_core.domain.count_task import abc_classes
from stock_core.domain.count_task import count_lines
from stock_core.domain.count_task import needs_approval
from stock_core.domain.movement import Envelope
from stock_core.errors import ConflictError
from stock_core.errors import CountTaskStateError
from stock_core.errors import InvalidCountTaskError
from stock_core.errors import NotFoundError
from stock_core.errors import UnknownLocationError
from stock_core.store.connection import Connection
from stock_core.store.count_tasks import sql as q
from stock_core.store.ledger import post_count_task_lines
from stock_core.store.ledger import post_in
from stock_core.types import IdempotencyKey

__all__ = [
    "approve_task",
    "confirm_task",
    "count_for_task",
    "list_tasks",
    "open_task",
    "task_view",
]

_NAMED_SEPARATOR = "\x1e"


async def _scope_locations(
    conn: Connection, locations: Sequence[str] | None, zone: str | None, abc_class: str | None
) -> list[Record]:
    if sum(x is not None for x in (locations, zone, abc_class)) != 1:
        raise InvalidCountTaskError("name exactly one of locations, zone or abc_class")
    if locations is not None:
        rows = await conn.fetch(q.FIND_LOCATIONS_BY_CODE, list(dict.fromkeys(locations)))
        for row in rows:
            if row["id"] is None:
                raise UnknownLocationError(row["asked"])
        found = rows
    elif zone is not None:
        found = await conn.fetch(q.LOCATIONS_OF_ZONE, zone)
    else:
        if abc_class not in ABC_CLASSES:
            raise InvalidCountTaskError(f"abc_class is one of {', '.join(ABC_CLASSES)}")
        values = {r["id"]: Decimal(r["value"]) for r in await conn.fetch(q.ABC_VALUES)}
        chosen = [p for p, c in abc_classes(values).items() if c == abc_class]
        found = await conn.fetch(q.LOCATIONS_HOLDING, chosen)
    if not found:
        raise InvalidCountTaskError("no locations to count: the task would be empty")
    return found


async def open_task(
    conn: Connection,
    *,
    locations: Sequence[str] | None,
    zone: str | None,
    abc_class: str | None,
    blind: bool,
    actor: str,
) -> CountTaskView:
    """Open a task for the locations named, a zone's, or those holding an ABC class."""
    async with conn.transaction():
        found = await _scope_locations(conn, locations, zone, abc_class)
        ids = [r["id"] for r in found]
        busy = await conn.fetch(q.BUSY_LOCATIONS, ids)
        if busy:
            raise ConflictError(
                f"{busy[0]['code']} is already being counted in count task {busy[0]['task_id']}"
            )
        scope: dict[str, Any] = {}
        if locations is not None:
            scope["locations"] = [r["code"] for r in found]
        if zone is not None:
            scope["zone"] = zone
        if abc_class is not None:
            scope["abc_class"] = abc_class
        task_id = await conn.fetchval(q.INSERT_TASK, blind, json.dumps(scope), actor)
        await conn.execute(q.ADD_TASK_LOCATIONS, task_id, ids)
        await _emit(
            conn,
            "count_task.opened",
            {
                "task_id": task_id,
                "blind": blind,
                "locations": sorted(r["code"] for r in found),
                **scope,
                "actor": actor,
            },
        )
        return await task_view(conn, task_id)


async def _emit(conn: Connection, type_: str, payload: dict[str, Any]) -> None:
    await conn.execute(q.INSERT_EVENT, type_, json.dumps(payload, default=str))


def _view(
    row: Record, locations: Sequence[Record], lines: Sequence[CountTaskLineView]
) -> CountTaskView:
    return CountTaskView(
        id=row["id"],
        status=row["status"],
        blind=row["blind"],
        scope=json.loads(row["scope"]),
        locations=tuple(r["code"] for r in locations),
        counted_locations=tuple(r["code"] for r in locations if r["counted_at"] is not None),
        created_by=row["created_by"],
        created_at=row["created_at"],
        confirmed_at=row["confirmed_at"],
        approved_at=row["approved_at"],
        lines=tuple(lines),
    )


def _named(line: CountLine) -> str:
    if line.named_lots is None:
        return ""
    return _NAMED_SEPARATOR + _NAMED_SEPARATOR.join(sorted(line.named_lots))


async def _lines_now(
    conn: Connection, task_id: int, counted_at: dict[int, str]
) -> tuple[list[tuple[int, CountLine]], dict[int, str]]:
    """Each counted location's lines against its stock now: (location id, line) and SKUs."""
    counts: dict[int, dict[tuple[int, str], int]] = defaultdict(dict)
    skus: dict[int, str] = {}
    for r in await conn.fetch(q.COUNTED_AT_TASK, task_id):
        counts[r["location_id"]][(r["product_id"], r["lot"])] = int(r["quantity"])
        skus[r["product_id"]] = r["sku"]
    held: dict[int, list[HeldRow]] = defaultdict(list)
    for r in await conn.fetch(q.STOCK_AT, list(counted_at)):
        held[r["location_id"]].append(HeldRow(r["product_id"], r["lot"], int(r["on_hand"])))
        skus[r["product_id"]] = r["sku"]
    lines = [
        (location_id, line)
        for location_id in sorted(counted_at, key=counted_at.__getitem__)
        for line in count_lines(held[location_id], counts[location_id])
    ]
    return lines, skus


async def task_view(conn: Connection, task_id: int) -> CountTaskView:
    """The task; while open, its lines are the counts so far against stock now."""
    row = await conn.fetchrow(q.TASK, task_id)
    if row is None:
        raise NotFoundError(f"no count task {task_id}")
    locations = await conn.fetch(q.TASK_LOCATIONS, task_id)
    if row["status"] != TaskStatus.OPEN:
        views = [
            CountTaskLineView(
                r["location"],
                r["sku"],
                r["lot"],
                r["expected"],
                r["counted"],
                r["counted"] - r["expected"],
                r["status"],
            )
            for r in await conn.fetch(q.TASK_LINES, task_id)
        ]
        return _view(row, locations, views)
    counted_at = {r["location_id"]: r["code"] for r in locations if r["counted_at"] is not None}
    lines, skus = await _lines_now(conn, task_id, counted_at)
    views = [
        CountTaskLineView(
            counted_at[location_id],
            skus[line.product_id],
            line.lot,
            line.expected,
            line.counted,
            line.variance,
            LineStatus.COUNTED.value,
        )
        for location_id, line in lines
    ]
    views.sort(key=lambda v: (v.location, v.sku, v.lot))
    return _view(row, locations, views)


async def list_tasks(
    conn: Connection, *, status: str | None = None, after: int = 0, limit: int = 100
) -> list[CountTaskView]:
    """Tasks in id order (without lines)."""
    views = []
    for row in await conn.fetch(q.LIST_TASKS, after, status, limit):
        views.append(_view(row, await conn.fetch(q.TASK_LOCATIONS, row["id"]), ()))
    return views


async def _lock_task(conn: Connection, task_id: int, status: TaskStatus) -> None:
    row = await conn.fetchrow(q.LOCK_TASK, task_id)
    if row is None:
        raise NotFoundError(f"no count task {task_id}")
    if row["status"] != status:
        raise CountTaskStateError(f"count task {task_id} is {row['status']}, not {status}")


async def _lock_products(conn: Connection, ids: set[int], locked: set[int]) -> None:
    if ids - locked:
        await conn.fetch(q.LOCK_PRODUCTS, sorted(ids - locked))
        locked |= ids


async def confirm_task(
    conn: Connection, task_id: int, approval_percent: float, actor: str
) -> CountTaskView:
    """Make the counts lines (expected: on hand now), post those within the threshold."""
    async with conn.transaction():
        await _lock_task(conn, task_id, TaskStatus.OPEN)
        locations = await conn.fetch(q.TASK_LOCATIONS, task_id)
        counted_at = {r["location_id"]: r["code"] for r in locations if r["counted_at"]}
        # Lock every product the lines can be about, then read the stock under the locks
        # (again, until no product appears that was not locked when it was read).
        locked: set[int] = set()
        while True:
            lines, skus = await _lines_now(conn, task_id, counted_at)
            wanted = {line.product_id for _, line in lines}
            if wanted <= locked:
                break
            await _lock_products(conn, wanted, locked)
        pending = [(loc, line) for loc, line in lines if needs_approval(line, approval_percent)]
        postings = sorted(
            (
                CountPosting(line.product_id, skus[line.product_id], loc, counted_at[loc], line)
                for loc, line in lines
                if line.variance != 0 and (loc, line) not in pending
            ),
            key=lambda p: (p.product_id, p.location, p.line.lot),
        )
        if postings:
            key = IdempotencyKey(f"count-task:{task_id}:confirm")
            await post_count_task_lines(conn, key, actor, postings)
        status_of = [
            (LineStatus.PENDING_APPROVAL if (loc, line) in pending else LineStatus.POSTED).value
            for loc, line in lines
        ]
        await conn.execute(
            q.INSERT_LINES,
            task_id,
            [loc for loc, _ in lines],
            [line.product_id for _, line in lines],
            [line.lot for _, line in lines],
            [line.expected for _, line in lines],
            [line.counted for _, line in lines],
            [_named(line) for _, line in lines],
            status_of,
        )
        await conn.execute(q.CLOSE_TASK_LOCATIONS, task_id)
        status = TaskStatus.PENDING_APPROVAL if pending else TaskStatus.CLOSED
        await conn.execute(q.SET_TASK_STATUS, task_id, status.value, True, actor)
        await _emit(
            conn,
            "count_task.confirmed",
            {
                "task_id": task_id,
                "status": status.value,
                "posted": len(lines) - len(pending),
                "pending_approval": len(pending),
                "actor": actor,
            },
        )
        return await task_view(conn, task_id)


async def approve_task(conn: Connection, task_id: int, actor: str) -> CountTaskView:
    """Post the lines that waited for approval; the task is closed."""
    async with conn.transaction():
        await _lock_task(conn, task_id, TaskStatus.PENDING_APPROVAL)
        rows = await conn.fetch(q.PENDING_LINES, task_id)
        await _lock_products(conn, {r["product_id"] for r in rows}, set())
        postings = [
            CountPosting(
                r["product_id"],
                r["sku"],
                r["location_id"],
                r["location"],
                CountLine(
                    r["product_id"],
                    r["lot"],
                    int(r["expected"]),
                    int(r["counted"]),
                    None if r["named_lots"] is None else frozenset(r["named_lots"]),
                ),
            )
            for r in rows
        ]
        if postings:
            key = IdempotencyKey(f"count-task:{task_id}:approve")
            await post_count_task_lines(conn, key, actor, postings)
        await conn.execute(q.POST_PENDING_LINES, task_id)
        await conn.execute(q.SET_TASK_STATUS, task_id, TaskStatus.CLOSED.value, False, actor)
        await _emit(
            conn,
            "count_task.approved",
            {
                "task_id": task_id,
                "status": TaskStatus.CLOSED.value,
                "posted": len(rows),
                "actor": actor,
            },
        )
        return await task_view(conn, task_id)


async def count_for_task(conn: Connection, task_id: int, envelope: Envelope) -> CountTaskView:
    """Record a count (an envelope with a ``Count``) of one of an open task's locations."""
    command = envelope.command
    location = str(getattr(command, "location", ""))
    async with conn.transaction():
        found = await conn.fetchrow(q.FIND_LOCATIONS_BY_CODE, [location])
        if found is None or found["id"] is None:
            raise UnknownLocationError(location)
        row = await conn.fetchrow(q.TASK, task_id)
        if row is None:
            raise NotFoundError(f"no count task {task_id}")
        at = await conn.fetchrow(q.OPEN_TASK_AT_LOCATION, found["id"])
        if at is None or at["id"] != task_id:
            if row["status"] != TaskStatus.OPEN:
                raise CountTaskStateError(f"count task {task_id} is {row['status']}, not open")
            raise ConflictError(f"{found['code']} is not a location of count task {task_id}")
        await post_in(conn, envelope)
        return await task_view(conn, task_id)
