"""What the scanner gateways and handhelds need: events, scanner and gateway
states, spool exceptions, the simulation catalog, a health ping."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from stock_core import model
from stock_core.domain.movement import Envelope
from stock_core.errors import DatabaseUnavailableError, StockRejection
from stock_core.service.base import ServiceBase, pokes
from stock_core.store import failover, gateway, handheld, stock
from stock_core.store.database import PING

__all__ = ["GatewayUseCases"]


class GatewayUseCases(ServiceBase):
    async def simulation_catalog(self, limit: int = 200) -> tuple[list[str], list[str]]:
        async with self._connection() as conn:
            return await stock.simulation_catalog(conn, limit)

    async def ping(self) -> bool:
        """True when PostgreSQL answers within two seconds."""
        try:
            async with self._connection() as conn:
                await conn.fetchval(PING, timeout=2)
        except (DatabaseUnavailableError, TimeoutError):
            return False
        return True

    async def find_location(self, code_or_gln: str, *, deadline: float | None = None) -> str | None:
        """The location's code; ``deadline`` bounds it as :meth:`post_batch`'s."""
        if deadline is not None:
            async with failover.bounded(self.pool, deadline) as conn:
                return await stock.find_location(conn, code_or_gln)
        async with self._connection() as conn:
            return await stock.find_location(conn, code_or_gln)

    @pokes
    async def append_events(
        self, events: Sequence[tuple[str, dict[str, Any]]], *, deadline: float | None = None
    ) -> None:
        async with self._connection(deadline) as conn:
            await gateway.append_events(conn, events)

    @pokes
    async def record_spool_exceptions(
        self,
        failures: Sequence[tuple[Envelope, StockRejection, datetime | None]],
        *,
        deadline: float | None = None,
    ) -> None:
        async with self._connection(deadline) as conn:
            await gateway.record_spool_exceptions(conn, failures)

    async def save_scanner_states(
        self, states: Sequence[model.ScannerState], *, deadline: float | None = None
    ) -> None:
        async with self._connection(deadline) as conn:
            await gateway.save_scanner_states(conn, states)

    async def save_gateway_state(
        self, name: str, spool: dict[str, Any], *, deadline: float | None = None
    ) -> None:
        """A gateway's own state (its spool), for every node to show."""
        async with self._connection(deadline) as conn:
            await gateway.save_gateway_state(conn, name, spool)

    async def gateway_states(self) -> list[model.GatewayState]:
        async with self._connection() as conn:
            return await gateway.gateway_states(conn)

    async def handheld_session(self, scanner: str) -> handheld.HandheldSession | None:
        """What is kept of a handheld scanner (its session, its last scan), if anything."""
        async with self._connection() as conn:
            return await handheld.handheld_session(conn, scanner)

    async def handheld_reply(self, scanner: str, seq: int) -> dict[str, Any] | None:
        """The reply a handheld's scan ``seq`` got, while it is kept."""
        async with self._connection() as conn:
            return await handheld.handheld_reply(conn, scanner, seq)

    @pokes
    async def save_handheld_scan(
        self,
        state: model.ScannerState,
        session: dict[str, Any],
        seq: int,
        reply: dict[str, Any],
        worker: str | None,
        events: Sequence[tuple[str, dict[str, Any]]] = (),
        refused_late: Sequence[tuple[Envelope, StockRejection, datetime | None]] = (),
    ) -> None:
        """A handheld took scan ``seq``: its session, reply, state, events and (a scan taken
        offline and refused now) its spool exception, together."""
        async with self._connection() as conn:
            await handheld.save_handheld_scan(
                conn, state, session, seq, reply, worker, events, refused_late
            )

    @pokes
    async def save_handheld_status(
        self, state: model.ScannerState, event: tuple[str, dict[str, Any]]
    ) -> None:
        async with self._connection() as conn:
            await handheld.save_handheld_status(conn, state, event)

    async def list_spool_exceptions(
        self, *, include_resolved: bool = False, after: int = 0, limit: int = 100
    ) -> list[model.SpoolException]:
        async with self._connection() as conn:
            return await gateway.list_spool_exceptions(
                conn, include_resolved=include_resolved, after=after, limit=limit
            )
