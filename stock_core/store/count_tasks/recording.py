"""A count of a location in an open count task is kept on the task, not posted."""

from __future__ import annotations

import json
from collections.abc import Mapping

from stock_core.store.connection import Connection
from stock_core.store.count_tasks import sql as q

__all__ = ["open_task_at", "record_count"]


async def open_task_at(conn: Connection, location_id: int) -> int | None:
    """The open task counting ``location_id`` (its row locked against confirmation)."""
    row = await conn.fetchrow(q.OPEN_TASK_AT_LOCATION, location_id)
    return None if row is None else int(row["id"])


async def record_count(
    conn: Connection,
    task_id: int,
    location: tuple[int, str],
    counted: Mapping[tuple[int, str], int],
    key: str,
    actor: str,
    scanner: str | None,
) -> None:
    """Replace the task's count of ``location`` with ``counted`` (units per product, lot);
    ``key`` (the scan's or request's) is noted as one kept on a task (no ledger rows)."""
    await conn.execute(q.NOTE_KEY, key, task_id, location[0])
    await conn.execute(q.DROP_LOCATION_COUNTS, task_id, location[0])
    keys = list(counted)
    await conn.execute(
        q.INSERT_LOCATION_COUNTS,
        task_id,
        location[0],
        [product for product, _ in keys],
        [lot for _, lot in keys],
        [counted[k] for k in keys],
    )
    await conn.execute(q.MARK_COUNTED, task_id, location[0], actor)
    payload = {
        "task_id": task_id,
        "location": location[1],
        "lines": len(keys),
        "units": sum(counted.values()),
        "scanner": scanner,
        "actor": actor,
    }
    await conn.execute(q.INSERT_EVENT, "count_task.counted", json.dumps(payload))
