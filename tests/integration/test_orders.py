from __future__ import annotations

import asyncio
import itertools
import json
from datetime import date

import pytest

from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.orders import OrderLineRequest as L
from stock_core.errors import ConflictError
from stock_core.errors import InsufficientStockError
from stock_core.errors import InvalidMovementError
from stock_core.errors import NotFoundError
from stock_core.errors import UnknownProductError
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import OrderNumber
from stock_core.types import Sku

_keys = itertools.count()
A1 = LocationCode("A-01")
A2 = LocationCode("A-02")


def receive(sku: str, n: int, at: LocationCode = A1) -> Envelope:
    return Envelope(IdempotencyKey(f"o{next(_keys)}"), Receive(ProductRef(sku=Sku(sku)), at, n))


def pick(sku: str, n: int, order: str | None = None, at: LocationCode = A1) -> Envelope:
    return Envelope(
        IdempotencyKey(f"o{next(_keys)}"),
        Pick(ProductRef(sku=Sku(sku)), at, n, order=OrderNumber(order) if order else None),
    )


async def events(pool: Pool, type_: str) -> list[dict[str, object]]:
    rows = await pool.fetch("SELECT payload::text FROM outbox WHERE type = $1 ORDER BY id", type_)
    return [json.loads(r["payload"]) for r in rows]


async def test_an_order_never_reserves_expired_stock(service: StockService) -> None:
    old = Receive(ProductRef(sku=Sku("WIDGET")), A1, 4, lot="OLD", expiry=date(2020, 1, 1))
    await service.post(Envelope(IdempotencyKey("old"), old))
    await service.post(receive("WIDGET", 1))
    order, _ = await service.create_order("SO-EXP", [L("WIDGET", 3)])
    assert (order.lines[0].reserved, order.lines[0].backordered) == (1, 2)


async def test_reserving_and_releasing_stock_tell_the_floor_what_is_available(
    service: StockService, pool: Pool
) -> None:
    await service.post(receive("WIDGET", 7))
    await service.create_order("SO-AV", [L("WIDGET", 4)])
    reserved = [e for e in await events(pool, "stock.changed") if e["kind"] == "reserve"]
    assert [(e["location"], e["delta"], e["reserved_delta"]) for e in reserved] == [("A-01", 0, 4)]
    assert (reserved[0]["on_hand"], reserved[0]["available"]) == (7, 3)
    assert reserved[0]["movement_id"] is None
    await service.cancel_order("SO-AV")
    released = [e for e in await events(pool, "stock.changed") if e["kind"] == "unreserve"]
    assert [(e["available"], e["reserved_delta"]) for e in released] == [(7, -4)]


async def test_order_reserves_what_is_available_and_backorders_the_rest(
    service: StockService, pool: Pool
) -> None:
    await service.post(receive("WIDGET", 7))
    order, created = await service.create_order("SO-1", [L("WIDGET", 10), L("GADGET", 2)])
    assert created
    assert [(x.sku, x.reserved, x.backordered) for x in order.lines] == [
        ("WIDGET", 7, 3),
        ("GADGET", 0, 2),
    ]
    level = await service.stock_of("WIDGET")
    assert (level.on_hand, level.reserved, level.available, level.backordered) == (7, 7, 0, 3)
    # a plain pick cannot take reserved stock
    with pytest.raises(InsufficientStockError):
        await service.post(pick("WIDGET", 1))
    assert [e["quantity"] for e in await events(pool, "backorder.created")] == [3, 2]
    assert (await service.verify()).ok


async def test_same_order_again_is_the_first_and_different_lines_conflict(
    service: StockService,
) -> None:
    await service.create_order("SO-2", [L("WIDGET", 1)])
    again, created = await service.create_order("SO-2", [L("WIDGET", 1)])
    assert not created
    assert again.number == "SO-2"
    with pytest.raises(ConflictError):
        await service.create_order("SO-2", [L("WIDGET", 2)])


@pytest.mark.parametrize(
    ("number", "lines", "error"),
    [
        ("bad number!", [L("WIDGET", 1)], InvalidMovementError),
        ("SO-3", [], InvalidMovementError),
        ("SO-3", [L("WIDGET", 0)], InvalidMovementError),
        ("SO-3", [L("WIDGET", 1), L("WIDGET", 2)], InvalidMovementError),
        ("SO-3", [L("NOPE", 1)], UnknownProductError),
    ],
)
async def test_bad_orders_are_refused_and_change_nothing(
    service: StockService, pool: Pool, number: str, lines: list[L], error: type[Exception]
) -> None:
    with pytest.raises(error):
        await service.create_order(number, lines)
    assert await pool.fetchval("SELECT count(*) FROM orders") == 0


async def test_receipts_fill_backorders_first_in_first_out_partially(
    service: StockService, pool: Pool
) -> None:
    await service.create_order("SO-A", [L("BOLT", 5)])
    await service.create_order("SO-B", [L("BOLT", 5)])
    await service.create_order("SO-C", [L("BOLT", 5)])
    await service.post(receive("BOLT", 7))
    a, b, c = [await service.get_order(n) for n in ("SO-A", "SO-B", "SO-C")]
    assert [(o.lines[0].reserved, o.lines[0].backordered) for o in (a, b, c)] == [
        (5, 0),
        (2, 3),
        (0, 5),
    ]
    filled = await events(pool, "backorder.filled")
    assert [(e["order"], e["quantity"], e["remaining"]) for e in filled] == [
        ("SO-A", 5, 0),
        ("SO-B", 2, 3),
    ]
    queue = await service.backorders("BOLT")
    assert [(x.order, x.quantity, x.position) for x in queue] == [("SO-B", 3, 1), ("SO-C", 5, 2)]
    assert (await service.verify()).ok


async def test_priority_jumps_the_queue(service: StockService) -> None:
    await service.create_order("SO-LOW", [L("NUT", 3)])
    await service.create_order("SO-RUSH", [L("NUT", 3)], priority=10)
    await service.post(receive("NUT", 3))
    rush = await service.get_order("SO-RUSH")
    low = await service.get_order("SO-LOW")
    assert rush.lines[0].reserved == 3
    assert low.lines[0].reserved == 0


async def test_new_order_does_not_jump_waiting_backorders(service: StockService) -> None:
    await service.create_order("SO-1", [L("NUT", 5)])
    await service.post(receive("NUT", 2))  # fills 2 of SO-1's 5
    await service.create_order("SO-2", [L("NUT", 1)])
    assert (await service.get_order("SO-2")).lines[0].backordered == 1
    assert (await service.verify()).ok


async def test_picking_against_an_order_consumes_its_reservation(
    service: StockService, pool: Pool
) -> None:
    await service.post(receive("GADGET", 5))
    await service.create_order("SO-P", [L("GADGET", 3)])
    with pytest.raises(InsufficientStockError):
        await service.post(pick("GADGET", 4, order="SO-P"))
    with pytest.raises(InvalidMovementError):
        await service.post(pick("WIDGET", 1, order="SO-P"))
    await service.post(pick("GADGET", 2, order="SO-P"))
    await service.post(pick("GADGET", 1, order="SO-P"))
    order = await service.get_order("SO-P")
    assert order.status == "complete"
    assert order.lines[0].picked == 3
    level = await service.stock_of("GADGET")
    assert (level.on_hand, level.reserved) == (2, 0)
    assert [e["order"] for e in await events(pool, "order.completed")] == ["SO-P"]
    with pytest.raises(InvalidMovementError):
        await service.post(pick("GADGET", 1, order="SO-P"))
    assert (await service.verify()).ok


async def test_order_pick_elsewhere_moves_the_reservation(service: StockService) -> None:
    await service.post(receive("GADGET", 2, at=A1))
    await service.create_order("SO-X", [L("GADGET", 2)])
    await service.post(receive("GADGET", 2, at=A2))
    await service.post(pick("GADGET", 2, order="SO-X", at=A2))
    level = await service.stock_of("GADGET")
    assert {(x.location, x.on_hand, x.reserved) for x in level.locations} == {("A-01", 2, 0)}
    assert (await service.verify()).ok


async def test_cancel_releases_and_fills_the_next_backorder(service: StockService) -> None:
    await service.post(receive("SPROCKET", 4))
    await service.create_order("SO-1", [L("SPROCKET", 4)])
    await service.create_order("SO-2", [L("SPROCKET", 3)])
    cancelled = await service.cancel_order("SO-1")
    assert cancelled.status == "cancelled"
    assert (await service.get_order("SO-2")).lines[0].reserved == 3
    with pytest.raises(ConflictError):
        await service.cancel_order("SO-1")
    with pytest.raises(NotFoundError):
        await service.cancel_order("SO-404")
    assert (await service.verify()).ok


async def test_purchase_orders_give_backorders_expected_dates_and_receipts_count(
    service: StockService, pool: Pool
) -> None:
    await service.create_order("SO-1", [L("WIDGET", 6)])
    await service.create_order("SO-2", [L("WIDGET", 6)])
    await service.create_purchase_order("PO-1", date(2031, 1, 10), [L("WIDGET", 8)])
    await service.create_purchase_order("PO-2", date(2031, 2, 1), [L("WIDGET", 10)])
    queue = await service.backorders("WIDGET")
    assert [(x.order, x.expected_date) for x in queue] == [
        ("SO-1", date(2031, 1, 10)),
        ("SO-2", date(2031, 2, 1)),
    ]
    assert (await service.stock_of("WIDGET")).on_order == 18
    await service.receive_purchase_order("PO-1", "DOCK-1", [L("WIDGET", 8)], key="r1")
    po = await service.get_purchase_order("PO-1")
    assert (po.status, po.lines[0].received) == ("received", 8)
    again = await service.receive_purchase_order("PO-1", "DOCK-1", [L("WIDGET", 8)], key="r1")
    assert all(o.replayed for o in again)
    assert (await service.get_order("SO-1")).lines[0].reserved == 6
    assert (await service.get_order("SO-2")).lines[0].reserved == 2
    with pytest.raises(InvalidMovementError):
        await service.receive_purchase_order("PO-2", "DOCK-1", [L("GADGET", 1)], key="r2")
    assert (await service.get_purchase_order("PO-2")).lines[0].received == 0
    assert (await service.verify()).ok


async def test_concurrent_orders_never_over_reserve_and_receipts_fill_in_fifo(
    service: StockService, pool: Pool
) -> None:
    await service.post(receive("GADGET", 20))

    async def client(n: int) -> None:
        for i in range(6):
            await service.create_order(f"C{n}-{i}", [L("GADGET", 1 + (n + i) % 3)])

    async def receiver() -> None:
        for _ in range(10):
            await service.post(receive("GADGET", 3))
            await asyncio.sleep(0.01)

    await asyncio.gather(*(client(n) for n in range(16)), receiver())
    level = await service.stock_of("GADGET")
    assert level.reserved <= level.on_hand == 50
    lines = await pool.fetch(
        """SELECT ol.quantity, ol.reserved, ol.backordered FROM order_lines ol
           JOIN orders o ON o.id = ol.order_id ORDER BY o.priority DESC, o.created_at, ol.id"""
    )
    assert sum(r["reserved"] for r in lines) == level.reserved == 50
    # strict FIFO: fully reserved lines, then at most one partial, then waiting ones
    states = [
        "full" if r["reserved"] == r["quantity"] else "none" if r["reserved"] == 0 else "part"
        for r in lines
    ]
    boundary = states.index("none") if "none" in states else len(states)
    assert all(s == "full" for s in states[: max(0, boundary - 1)])
    assert all(s == "none" for s in states[boundary:])
    report = await service.verify()
    assert report.ok, report.render()
