"""Capacity under concurrency: writers adding different products to one limited
location, each in its own transaction, never overfill it together."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Line
from stock_core.domain.movement import Move
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.errors import CapacityExceededError
from stock_core.model import LocationSpec
from stock_core.service import StockService
from stock_core.store import ledger
from stock_core.store.connection import Pool
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku

# WIDGET 120 g, GADGET 300 g, SPROCKET 15 g (the sample catalog).
WEIGHT = {"WIDGET": 120, "GADGET": 300, "SPROCKET": 15}


async def test_concurrent_receipts_and_moves_never_overfill_a_location(
    service: StockService, pool: Pool
) -> None:
    await service.create_location(LocationSpec("BIN-C", max_weight_g=Decimal(2000)))
    stocked = [
        Envelope(
            IdempotencyKey(f"seed-{sku}"),
            Receive(ProductRef(sku=Sku(sku)), LocationCode("A-01"), 50),
        )
        for sku in WEIGHT
    ]
    await ledger.post_batch(pool, stocked)
    skus = list(WEIGHT) * 12
    bin_c = LocationCode("BIN-C")

    async def one(n: int, sku: str) -> object:
        ref = ProductRef(sku=Sku(sku))
        command: Receive | Move
        if n % 3 == 0:
            command = Move(LocationCode("A-01"), bin_c, (Line(ref, 1),))
        else:
            command = Receive(ref, bin_c, 1)
        (outcome,) = await ledger.post_batch(pool, [Envelope(IdempotencyKey(f"c{n}"), command)])
        return outcome

    outcomes = await asyncio.gather(*(one(n, sku) for n, sku in enumerate(skus)))
    refused = [o for o in outcomes if isinstance(o, CapacityExceededError)]
    assert refused  # 36 units of 435 g per three: more than 2000 g was asked
    assert all(
        isinstance(o, CapacityExceededError) or not isinstance(o, Exception) for o in outcomes
    )
    held = {
        sku: sum(
            x.on_hand for x in (await service.stock_of(sku)).locations if x.location == "BIN-C"
        )
        for sku in WEIGHT
    }
    total = sum(WEIGHT[sku] * n for sku, n in held.items())
    assert total <= 2000
    assert total > 2000 - max(WEIGHT.values())  # refused only when the next one did not fit
    assert (await service.verify()).ok
