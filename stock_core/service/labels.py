"""Labels to print for products, locations and scanner commands."""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from typing import Protocol
from typing import TypeVar

from stock_core import model
from stock_core.domain.labels import MAX_LABELS
from stock_core.domain.labels import Label
from stock_core.domain.labels import LabelError
from stock_core.domain.labels import LabelKind
from stock_core.domain.labels import LabelRequest
from stock_core.domain.labels import LocationEntry
from stock_core.domain.labels import ProductEntry
from stock_core.domain.labels import command_labels
from stock_core.domain.labels import location_labels
from stock_core.domain.labels import product_labels
from stock_core.errors import NotFoundError
from stock_core.errors import UnknownLocationError
from stock_core.errors import UnknownProductError
from stock_core.service.base import ServiceBase
from stock_core.service.base import required
from stock_core.store import stock
from stock_core.store.catalog import locations
from stock_core.store.catalog import products
from stock_core.store.connection import Connection

__all__ = ["LabelUseCases"]


class LabelUseCases(ServiceBase):
    async def labels(self, request: LabelRequest) -> list[Label]:
        """The labels ``request`` selects (``stockd labels``, ``GET /api/v1/labels/{kind}``).

        Locations and products are read in one connection. An unknown location code or
        SKU raises :class:`UnknownLocationError` or :class:`UnknownProductError`, a zone
        without locations :class:`NotFoundError`, the rest :class:`LabelError`.
        """
        if request.kind is LabelKind.COMMANDS:
            return command_labels(request)
        async with self._connection() as conn:
            if request.kind is LabelKind.LOCATIONS:
                places = await _label_locations(conn, request)
                entries = [LocationEntry(p.code, p.name, p.zone) for p in places]
                return location_labels(request, entries)
            products = await _label_products(conn, request)
        return product_labels(
            request,
            [
                ProductEntry(p.sku, p.name, tuple((b.code, b.pack_size) for b in p.barcodes))
                for p in products
            ],
        )


class _Keyed(Protocol):
    @property
    def id(self) -> int: ...


_K = TypeVar("_K", bound=_Keyed)


async def _every(page: Callable[[int, int], Awaitable[list[_K]]]) -> list[_K]:
    """Every row of a keyset-paginated read, or one more than a label request may print."""
    found: list[_K] = []
    after = 0
    while len(found) <= MAX_LABELS:
        rows = await page(after, 500)
        found += rows
        if len(rows) < 500:
            break
        after = rows[-1].id
    return found


async def _label_locations(conn: Connection, request: LabelRequest) -> list[model.Location]:
    if not request.codes:
        found = await _every(
            lambda after, limit: locations.list_locations(
                conn, zone=request.zone, after=after, limit=limit
            )
        )
        if not found and request.zone is not None:
            raise NotFoundError(f"no location is in zone {request.zone!r}")
        return found
    return [
        await required(conn, locations.location_by_code, code, UnknownLocationError)
        for code in request.codes
    ]


async def _label_products(conn: Connection, request: LabelRequest) -> list[model.Product]:
    skus = request.codes
    if request.zone is not None:
        if not await locations.list_locations(conn, zone=request.zone, after=0, limit=1):
            raise NotFoundError(f"no location is in zone {request.zone!r}")
        stocked = await _every(
            lambda after, limit: stock.list_stock(conn, zone=request.zone, after=after, limit=limit)
        )
        skus = tuple(s.sku for s in stocked)
        if not skus:
            raise LabelError(f"no product is in stock in zone {request.zone!r}")
    if not skus:
        return await _every(
            lambda after, limit: products.list_products(
                conn, category=None, after=after, limit=limit
            )
        )
    return [await required(conn, products.product_by_sku, sku, UnknownProductError) for sku in skus]
