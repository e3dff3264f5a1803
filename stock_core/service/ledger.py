"""Posting movements (group commit), stock levels, the floor snapshot and the feed."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

from stock_core import model
from stock_core.domain.lineage import Lineage
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import MovementOutcome
from stock_core.domain.movement import Outcome
from stock_core.domain.movement import Return
from stock_core.domain.movement import Scrap
from stock_core.domain.returns import check_reason
from stock_core.errors import StockRejection
from stock_core.errors import UnknownOperatorError
from stock_core.service.base import ServiceBase
from stock_core.service.base import on_connection
from stock_core.store import failover
from stock_core.store import ledger
from stock_core.store import operators
from stock_core.store import outbox
from stock_core.store import stock
from stock_core.store import transfers
from stock_core.store.serials.view import serial_view
from stock_core.store.warehouses import require_warehouse

__all__ = ["LedgerUseCases"]


class LedgerUseCases(ServiceBase):
    transfer = on_connection(transfers.transfer_by_number)
    """A transfer between warehouses with its lines (shipping and receiving one are
    ledger commands: :class:`~stock_core.domain.movement.ShipTransfer`,
    :class:`~stock_core.domain.movement.ReceiveTransfer`, given to :meth:`post`)."""
    list_transfers = on_connection(transfers.list_transfers)
    """Transfers in the order they were opened, with their lines, by status and warehouse."""

    async def post(self, envelope: Envelope) -> MovementOutcome:
        """Post one command; raises its :class:`~stock_core.errors.StockRejection`.

        Concurrent posts are committed together (group commit), so API writes grow
        cheaper per request as load rises. A return or scrap must name a listed reason,
        and a named operator must be known.
        """
        if isinstance(envelope.command, Return | Scrap):
            check_reason(envelope.command.reason, self.reasons)
        if envelope.operator is not None:
            await self.check_operator(envelope.operator)
        outcome = await self._group.submit(envelope)
        if isinstance(outcome, StockRejection):
            raise outcome
        return outcome

    async def post_batch(
        self,
        envelopes: Sequence[Envelope],
        *,
        deadline: float | None = None,
        epoch: int | None = None,
    ) -> list[Outcome]:
        """Group commit: one transaction, one outcome per envelope (rejections as values).

        ``deadline`` bounds it (connecting included) by dropping the connection, and
        ``epoch`` refuses a failover the caller has not caught up with (see
        :func:`stock_core.store.ledger.post_batch`)."""
        outcomes = await ledger.post_batch(
            self.pool, envelopes, self._locations, deadline=deadline, epoch=epoch
        )
        self._poke()
        return outcomes

    async def _post_bounded(self, envelopes: Sequence[Envelope]) -> list[Outcome]:
        return await self.post_batch(envelopes, deadline=self.write_deadline)

    def lineage_epoch(self) -> int | None:
        """A number that changes at each failover this pool's connections saw
        (``None``: the pool does not follow failovers)."""
        connector = failover.connector_of(self.pool)
        return None if connector is None else connector.epoch

    def on_failover(self, listener: Callable[[Lineage | None, Lineage], None]) -> None:
        """Call ``listener(old, new)`` when a connection finds PostgreSQL on a new
        timeline or another system (a failover)."""
        connector = failover.connector_of(self.pool)
        if connector is not None:
            connector.on_new_lineage(listener)

    def drop_connections(self) -> int:
        """Close every connection of the pool at once (after an outage: the next ones
        are made afresh, host by host, and find the new primary)."""
        connector = failover.connector_of(self.pool)
        return 0 if connector is None else connector.terminate_all()

    async def serial(self, sku: str, serial: str) -> model.SerialView | None:
        """Where a serial of ``sku`` is and its history (``None``: never in stock)."""
        async with self._connection() as conn:
            return await serial_view(conn, sku, serial)

    async def stock_of(self, sku: str) -> model.StockLevel:
        async with self.pool.acquire() as conn:
            return await stock.stock_of(conn, sku)

    async def floor_snapshot(self, warehouse: str | None = None) -> dict[str, Any]:
        """What a floor display shows (of one ``warehouse``: unknown is
        :class:`~stock_core.errors.UnknownWarehouseError`)."""
        async with self._connection() as conn:
            if warehouse is not None:
                await require_warehouse(conn, warehouse)
            return await stock.floor_snapshot(conn, warehouse=warehouse)

    events_after = on_connection(outbox.events_after)
    feed_bounds = on_connection(outbox.feed_bounds)
    find_operator = on_connection(operators.find_operator)

    async def check_operator(self, code: str) -> None:
        """Raise :class:`UnknownOperatorError` unless ``code`` names an operator."""
        if await self.find_operator(code) is None:
            raise UnknownOperatorError(code)
