"""Read models: stock levels and location lookups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from stock_core.errors import UnknownProductError
from stock_core.store import queries as q
from stock_core.store.connection import Connection

__all__ = ["LocationStock", "StockLevel", "find_location", "stock_of"]


@dataclass(frozen=True)
class LocationStock:
    location: str
    lot: str
    expiry: date | None
    on_hand: int
    reserved: int


@dataclass(frozen=True)
class StockLevel:
    sku: str
    locations: tuple[LocationStock, ...]

    @property
    def on_hand(self) -> int:
        return sum(loc.on_hand for loc in self.locations)

    @property
    def reserved(self) -> int:
        return sum(loc.reserved for loc in self.locations)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


async def stock_of(conn: Connection, sku: str) -> StockLevel:
    rows = await conn.fetch(q.STOCK_OF_SKU, sku)
    if not rows:
        raise UnknownProductError(sku)
    return StockLevel(
        sku=sku,
        locations=tuple(
            LocationStock(r["location"], r["lot"], r["expiry"], r["on_hand"], r["reserved"])
            for r in rows
            if r["location"] is not None
        ),
    )


async def find_location(conn: Connection, code_or_gln: str) -> str | None:
    """The location code for a code or a GLN, or ``None``."""
    row = await conn.fetchrow(q.FIND_LOCATION, code_or_gln)
    return None if row is None else str(row["code"])
