"""Count tasks: open, count against, confirm and approve."""

from __future__ import annotations

from collections.abc import Sequence

from stock_core.domain.count_task import DEFAULT_APPROVAL_PERCENT
from stock_core.domain.count_task import CountTaskView
from stock_core.domain.movement import Envelope
from stock_core.service.base import ServiceBase
from stock_core.service.base import on_connection
from stock_core.service.base import pokes
from stock_core.store._boundary import with_retries
from stock_core.store.connection import Connection
from stock_core.store.count_tasks import tasks as count_tasks

__all__ = ["CountTaskUseCases"]


class CountTaskUseCases(ServiceBase):
    @pokes
    async def open_count_task(
        self,
        *,
        locations: Sequence[str] | None = None,
        zone: str | None = None,
        abc_class: str | None = None,
        blind: bool = False,
        actor: str = "system",
    ) -> CountTaskView:
        """Open a count task for locations named, a zone's, or an ABC class's."""

        async def work(conn: Connection) -> CountTaskView:
            return await count_tasks.open_task(
                conn, locations=locations, zone=zone, abc_class=abc_class, blind=blind, actor=actor
            )

        return await with_retries(self.pool, work)

    count_task = on_connection(count_tasks.task_view)
    list_count_tasks = on_connection(count_tasks.list_tasks)

    @pokes
    async def count_for_task(self, task_id: int, envelope: Envelope) -> CountTaskView:
        """Record a count of one of an open task's locations (``envelope``: a Count)."""

        async def work(conn: Connection) -> CountTaskView:
            return await count_tasks.count_for_task(conn, task_id, envelope)

        return await with_retries(self.pool, work)

    @pokes
    async def confirm_count_task(
        self,
        task_id: int,
        *,
        approval_percent: float = DEFAULT_APPROVAL_PERCENT,
        actor: str = "system",
    ) -> CountTaskView:
        """Lines from the counts; those within ``approval_percent`` post at once."""

        async def work(conn: Connection) -> CountTaskView:
            return await count_tasks.confirm_task(conn, task_id, approval_percent, actor)

        return await with_retries(self.pool, work)

    @pokes
    async def approve_count_task(self, task_id: int, *, actor: str = "system") -> CountTaskView:
        async def work(conn: Connection) -> CountTaskView:
            return await count_tasks.approve_task(conn, task_id, actor)

        return await with_retries(self.pool, work)
