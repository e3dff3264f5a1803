"""A small catalog loaded through the real importer, for integration tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from stock_core.domain.movement import Envelope
from stock_core.service import StockService
from stock_core.types import IdempotencyKey

__all__ = [
    "LOCATIONS_CSV",
    "PRODUCTS_CSV",
    "QUARANTINE_CSV",
    "keyed_envelopes",
    "load_sample_catalog",
]

PRODUCTS_CSV = (
    (
        b"sku,name,barcodes,category,unit_cost,weight_g,length_mm,width_mm,height_mm,"
        b"reorder_point,reorder_qty,lead_time_days,safety_stock\n"
    )
    + b"""WIDGET,Widget,05012345678900|15012345678907*12,hardware,2.50,120,50,40,30,10,100,7,5
GADGET,Gadget,4006381333931|GAD-ALIAS,hardware,7.25,300,100,80,60,5,50,14,2
SPROCKET,Sprocket,96385074,parts,0.40,15,,,,0,0,0,0
BOLT,Bolt M6,,parts,0.05,5,,,,100,1000,3,50
NUT,Nut M6,00012345678905,parts,0.03,3,,,,100,1000,3,50
"""
)

LOCATIONS_CSV = b"""code,zone,name,gln
A-01,A,Aisle A bay 1,
A-02,A,Aisle A bay 2,
B-01,B,Aisle B bay 1,4012345000009
DOCK-1,DOCK,Receiving dock,
"""


QUARANTINE_CSV = b"code,zone,name,gln,type\nQ-01,Q,Returns cage,,quarantine\n"
"""One quarantine location, Q-01, for returns and held stock."""


async def load_sample_catalog(service: StockService, *, quarantine: bool = False) -> None:
    """The sample locations and products; with ``quarantine``, Q-01 too."""
    await service.import_locations(LOCATIONS_CSV)
    await service.import_products(PRODUCTS_CSV)
    if quarantine:
        await service.import_locations(QUARANTINE_CSV)


def keyed_envelopes(prefix: str) -> Callable[[object], Envelope]:
    """A function that wraps a command in an envelope keyed ``PREFIX0``, ``PREFIX1``, ...
    (a new key each call)."""
    keys = itertools.count()

    def env(command: object) -> Envelope:
        return Envelope(IdempotencyKey(f"{prefix}{next(keys)}"), command)  # type: ignore[arg-type]

    return env
