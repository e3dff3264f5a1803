"""Location capacity: limits locked and loads read for writers, and space per zone.

The rules are :mod:`stock_core.domain.capacity`'s. A writer that adds stock to a
location with a limit locks the location's row first (:func:`limits`), then reads what
it holds (:func:`loads`): two writers adding to one location decide one after the
other. Locations without a limit are never locked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from stock_core.domain.capacity import Capacity
from stock_core.domain.capacity import Load
from stock_core.domain.capacity import UnitSize
from stock_core.domain.capacity import load_of
from stock_core.domain.capacity import unit_size
from stock_core.domain.space import SpaceLine
from stock_core.domain.space import space_lines
from stock_core.store.capacity import sql as q
from stock_core.store.connection import Connection

__all__ = ["limits", "loads", "set_limits", "sizes", "space"]

_UNSET = object()


async def limits(conn: Connection, location_ids: Iterable[int]) -> dict[int, Capacity]:
    """The limited locations among ``location_ids``, locked against other writers."""
    rows = await conn.fetch(q.LOCK_LIMITED_LOCATIONS, sorted(set(location_ids)))
    return {r["id"]: Capacity(r["code"], r["max_weight_g"], r["max_volume_cm3"]) for r in rows}


async def loads(conn: Connection, location_ids: Iterable[int]) -> dict[int, Load]:
    """What each location holds now (call after :func:`limits`)."""
    contents: dict[int, list[tuple[UnitSize, int]]] = defaultdict(list)
    ids = sorted(set(location_ids))
    for r in await conn.fetch(q.LOCATION_CONTENTS, ids):
        size = unit_size(r["weight_g"], r["length_mm"], r["width_mm"], r["height_mm"])
        contents[r["location_id"]].append((size, int(r["units"])))
    return {i: load_of(contents.get(i, ())) for i in ids}


async def sizes(conn: Connection, product_ids: Iterable[int]) -> dict[int, UnitSize]:
    rows = await conn.fetch(q.PRODUCT_SIZE, sorted(set(product_ids)))
    return {
        r["id"]: unit_size(r["weight_g"], r["length_mm"], r["width_mm"], r["height_mm"])
        for r in rows
    }


async def space(conn: Connection, warehouse: str | None) -> list[SpaceLine]:
    """Weight and volume used and allowed per zone (of one warehouse, or all)."""
    contents: dict[str, list[tuple[UnitSize, int]]] = defaultdict(list)
    for r in await conn.fetch(q.SPACE_CONTENTS, warehouse):
        size = unit_size(r["weight_g"], r["length_mm"], r["width_mm"], r["height_mm"])
        contents[r["zone"]].append((size, int(r["units"])))
    limits_of: dict[str, tuple[Decimal | None, Decimal | None]] = {
        r["zone"]: (r["max_weight_g"], r["max_volume_cm3"])
        for r in await conn.fetch(q.SPACE_LIMITS, warehouse)
    }
    return space_lines(contents, limits_of)


async def set_limits(
    conn: Connection,
    code: str,
    *,
    max_weight_g: Decimal | object | None = _UNSET,
    max_volume_cm3: Decimal | object | None = _UNSET,
) -> bool:
    """Set (``None``: remove) a location's limits; those not given stay. False: no such
    location. A limit below what the location holds refuses further receipts only."""
    found = await conn.fetchval(
        q.SET_LOCATION_LIMITS,
        code,
        max_weight_g is not _UNSET,
        None if max_weight_g is _UNSET else max_weight_g,
        max_volume_cm3 is not _UNSET,
        None if max_volume_cm3 is _UNSET else max_volume_cm3,
    )
    return found is not None
