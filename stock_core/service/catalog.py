"""The HTTP API's reads and edits: products, locations, stock, movements, scanners,
alerts and spool exceptions."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from collections.abc import Mapping
from collections.abc import Sequence
from decimal import Decimal

from stock_core import model
from stock_core.domain.movement import MovementRecord
from stock_core.errors import UnknownLocationError
from stock_core.errors import UnknownProductError
from stock_core.service.base import ServiceBase
from stock_core.service.base import on_connection
from stock_core.service.base import required
from stock_core.store import alerts
from stock_core.store import availability
from stock_core.store import capacity
from stock_core.store import gateway
from stock_core.store import stock
from stock_core.store import warehouses
from stock_core.store.catalog import locations
from stock_core.store.catalog import products
from stock_core.store.ledger import movements

__all__ = ["CatalogUseCases"]


class CatalogUseCases(ServiceBase):
    availability = on_connection(availability.availability_of)

    async def list_products(
        self, *, category: str | None = None, after: int = 0, limit: int = 100
    ) -> list[model.Product]:
        async with self._connection() as conn:
            return await products.list_products(conn, category=category, after=after, limit=limit)

    async def product(self, sku: str) -> model.Product:
        """The product with ``sku``; raises :class:`UnknownProductError`."""
        async with self._connection() as conn:
            return await required(conn, products.product_by_sku, sku, UnknownProductError)

    create_product = on_connection(products.create_product)
    update_product = on_connection(products.update_product)

    async def list_locations(
        self,
        *,
        zone: str | None = None,
        after: int = 0,
        limit: int = 100,
        warehouse: str | None = None,
    ) -> list[model.Location]:
        async with self._connection() as conn:
            if warehouse is not None:
                await warehouses.require_warehouse(conn, warehouse)
            return await locations.list_locations(
                conn, zone=zone, after=after, limit=limit, warehouse=warehouse
            )

    async def list_warehouses(self, *, after: str = "", limit: int = 100) -> list[model.Warehouse]:
        async with self._connection() as conn:
            return await warehouses.list_warehouses(conn, after=after, limit=limit)

    async def warehouse(self, code: str) -> model.Warehouse:
        """The warehouse with ``code``; raises :class:`UnknownWarehouseError`."""
        async with self._connection() as conn:
            return await warehouses.require_warehouse(conn, code)

    async def save_warehouse(self, code: str, name: str) -> tuple[model.Warehouse, bool]:
        """Create or rename a warehouse (its rules checked before:
        :func:`stock_core.domain.warehouse.check_warehouse`); ``True`` when created."""
        async with self._connection() as conn:
            return await warehouses.save_warehouse(conn, code, name)

    async def location(self, code: str) -> model.Location:
        """The location with ``code``; raises :class:`UnknownLocationError`."""
        async with self._connection() as conn:
            return await required(conn, locations.location_by_code, code, UnknownLocationError)

    async def set_location_limits(
        self, code: str, changes: Mapping[str, Decimal | None]
    ) -> model.Location:
        """Set or remove (``None``) ``max_weight_g`` and ``max_volume_cm3``; others stay."""
        async with self._connection() as conn:
            if not await capacity.set_limits(conn, code, **changes):
                raise UnknownLocationError(code)
            found = await locations.location_by_code(conn, code)
        assert found is not None
        return found

    create_location = on_connection(locations.create_location)

    list_stock = on_connection(stock.list_stock)

    async def list_movements(
        self,
        filters: model.MovementFilter,
        *,
        after: int | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> list[MovementRecord]:
        async with self._connection() as conn:
            if filters.warehouse is not None:
                await warehouses.require_warehouse(conn, filters.warehouse)
            return await movements.list_movements(
                conn, filters, after=after, limit=limit, newest_first=newest_first
            )

    movement = on_connection(movements.movement_by_id)

    @contextlib.asynccontextmanager
    async def export_movements(
        self, filters: model.MovementFilter
    ) -> AsyncIterator[AsyncIterator[Sequence[MovementRecord]]]:
        """Batches of matching movements from one cursor; holds a connection until exit."""
        if filters.warehouse is not None:
            await self.warehouse(filters.warehouse)
        async with (
            self._report_connection() as conn,
            contextlib.aclosing(movements.export_movements(conn, filters)) as batches,
        ):
            yield batches

    async def list_scanners(
        self, live: Sequence[model.ScannerState] = (), *, after: str | None = None, limit: int = 100
    ) -> list[model.ScannerView]:
        """Stored scanner states, overridden by ``live`` ones (a gateway in this process)."""
        async with self._connection() as conn:
            stored = await gateway.list_scanner_states(conn)
        merged = {view.state.id: view for view in stored}
        for state in live:
            merged[state.id] = model.ScannerView(state, updated_at=None, live=True)
        ids = sorted(i for i in merged if after is None or i > after)
        return [merged[i] for i in ids[:limit]]

    list_alerts = on_connection(alerts.list_alerts)
    alert = on_connection(alerts.alert_by_id)
    acknowledge_alert = on_connection(alerts.acknowledge_alert, poke=True)
    spool_exception = on_connection(gateway.spool_exception_by_id)
    resolve_spool_exception = on_connection(gateway.resolve_spool_exception, poke=True)
