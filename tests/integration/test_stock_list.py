"""One product's stock (``GET /api/v1/stock/{sku}``) reads the figures the list gives.

The one-SKU read has its own statement (PostgreSQL keeps one plan for it, where the
list's statement is planned afresh on every call): both must say the same."""

from __future__ import annotations

import itertools
from datetime import date

from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.orders import OrderLineRequest as L
from stock_core.service import StockService
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku

_keys = itertools.count()


def post(command: Receive | Pick) -> Envelope:
    return Envelope(IdempotencyKey(f"sl{next(_keys)}"), command)


async def test_one_sku_reads_what_the_list_says(service: StockService) -> None:
    widget = ProductRef(sku=Sku("WIDGET"))
    await service.post(post(Receive(widget, LocationCode("A-01"), 5)))
    await service.post(post(Receive(widget, LocationCode("A-02"), 4, lot="L1")))
    expired = Receive(widget, LocationCode("A-02"), 2, lot="OLD", expiry=date(2020, 1, 1))
    await service.post(post(expired))
    await service.post(post(Pick(widget, LocationCode("A-01"), 1)))
    await service.create_order("SO-SL", [L("WIDGET", 20)])  # reserves 8, backorders 12

    (one,) = await service.list_stock(sku="WIDGET", limit=1)
    searched = [p for p in await service.list_stock(search="WIDGET") if p.sku == "WIDGET"]
    assert [one] == searched
    assert (one.backordered, one.product_available) == (12, 0)
    assert sum(r.on_hand for r in one.locations) == 10
    assert await service.list_stock(sku="NO-SUCH-SKU", limit=1) == []
