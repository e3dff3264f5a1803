"""What the scanner gateways and handhelds need: events, scanner and gateway
states, spool exceptions, the simulation catalog, a health ping."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from stock_core import model
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.errors import DatabaseUnavailableError
from stock_core.errors import StockRejection
from stock_core.service.base import ServiceBase
from stock_core.service.base import on_connection
from stock_core.service.base import pokes
from stock_core.store import failover
from stock_core.store import gateway
from stock_core.store import handheld
from stock_core.store import stock
from stock_core.store.catalog import products
from stock_core.store.database import PING

__all__ = ["GatewayUseCases"]


class GatewayUseCases(ServiceBase):
    simulation_catalog = on_connection(stock.simulation_catalog)

    async def ping(self) -> bool:
        """True when PostgreSQL answers within two seconds."""
        try:
            async with self._connection() as conn:
                await conn.fetchval(PING, timeout=2)
        except (DatabaseUnavailableError, TimeoutError):
            return False
        return True

    async def product_tracking(
        self, product: ProductRef, *, deadline: float | None = None
    ) -> str | None:
        """``none``, ``lot`` or ``serial`` for the product a scan names (``None``: no
        such product); ``deadline`` bounds it as :meth:`post_batch`'s."""
        async with self._connection(deadline) as conn:
            return await products.product_tracking(conn, product.barcode, product.sku)

    async def find_location(
        self, code_or_gln: str, *, deadline: float | None = None, warehouse: str | None = None
    ) -> str | None:
        """The location's code; ``deadline`` bounds it as :meth:`post_batch`'s. With
        ``warehouse`` (the scanner's), a location of another warehouse raises
        :class:`~stock_core.errors.WrongWarehouseError`."""
        if deadline is not None:
            async with failover.bounded(self.pool, deadline) as conn:
                return await stock.find_location(conn, code_or_gln, warehouse)
        async with self._connection() as conn:
            return await stock.find_location(conn, code_or_gln, warehouse)

    @pokes
    async def append_events(
        self,
        events: Sequence[tuple[str, dict[str, Any]]],
        *,
        origins: Sequence[str | None] | None = None,
        deadline: float | None = None,
    ) -> None:
        """Write events to the outbox; see :func:`stock_core.store.gateway.append_events`."""
        async with self._connection(deadline) as conn:
            await gateway.append_events(conn, events, origins)

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

    gateway_states = on_connection(gateway.gateway_states)
    handheld_session = on_connection(handheld.handheld_session)
    handheld_reply = on_connection(handheld.handheld_reply)
    save_handheld_scan = on_connection(handheld.save_handheld_scan, poke=True)
    save_handheld_status = on_connection(handheld.save_handheld_status, poke=True)
    list_spool_exceptions = on_connection(gateway.list_spool_exceptions)
