"""Tracking and serial numbers on real PostgreSQL (issue 17): a serial-tracked product
moves one unit per serial, a serial is in one place at a time, every refusal changes
nothing, undo puts serials back where they were, and verify checks the serial rules."""

from __future__ import annotations

import pytest

from stock_core.domain.movement import Adjust
from stock_core.domain.movement import Count
from stock_core.domain.movement import Line
from stock_core.domain.movement import Move
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.movement import Return
from stock_core.domain.movement import Scrap
from stock_core.domain.movement import Undo
from stock_core.domain.orders import OrderLineRequest
from stock_core.errors import CatalogImportError
from stock_core.errors import ConflictError
from stock_core.errors import InvalidMovementError
from stock_core.errors import SerialConflictError
from stock_core.errors import TrackingError
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.store.verify import verify
from stock_core.types import LocationCode
from stock_core.types import MovementId
from stock_core.types import OrderNumber
from stock_core.types import ReasonCode
from stock_core.types import Sku
from tests.integration.catalog_fixture import keyed_envelopes
from tests.integration.catalog_fixture import load_sample_catalog

A1 = LocationCode("A-01")
A2 = LocationCode("A-02")
Q1 = LocationCode("Q-01")
PHONE = ProductRef(sku=Sku("PHONE"))
PHONE_CASE = ProductRef(barcode="PHONE-CASE")
WIDGET = ProductRef(sku=Sku("WIDGET"))
DAMAGED = ReasonCode("damaged")


env = keyed_envelopes("sn")


@pytest.fixture
async def service(pool: Pool) -> StockService:
    svc = StockService(pool)
    await load_sample_catalog(svc, quarantine=True)
    await svc.import_products(
        b"sku,name,barcodes,category,unit_cost,weight_g,length_mm,width_mm,height_mm,"
        b"reorder_point,reorder_qty,lead_time_days,safety_stock,tracking\n"
        b"PHONE,Phone,PHONE-1|PHONE-CASE*10,phones,300,200,,,,0,0,0,0,serial\n"
        b"MILK,Milk,,food,1,1000,,,,0,0,0,0,lot\n"
    )
    return svc


async def state(pool: Pool) -> tuple[object, ...]:
    """Everything a refused movement must leave as it was."""
    stock = await pool.fetch("SELECT * FROM stock ORDER BY 1, 2, 3")
    serials = await pool.fetch("SELECT product_id, serial, status, location_id FROM serials")
    movements = await pool.fetchval("SELECT count(*) FROM movements")
    outbox = await pool.fetchval("SELECT count(*) FROM outbox")
    return ([tuple(r) for r in stock], sorted(tuple(r) for r in serials), movements, outbox)


async def assert_verified(pool: Pool) -> None:
    async with pool.acquire() as conn:
        report = await verify(conn)
    assert report.ok, report.render()


async def test_receiving_by_serial_writes_one_row_per_serial(
    service: StockService, pool: Pool
) -> None:
    outcome = await service.post(env(Receive(PHONE, A1, 2, serials=("SN-1", "SN-2"))))
    assert [(m.serial, m.delta, m.on_hand_after) for m in outcome.movements] == [
        ("SN-1", 1, 1),
        ("SN-2", 1, 2),
    ]
    view = await service.serial("PHONE", "SN-1")
    assert view is not None
    assert (view.status, view.location, [m.kind for m in view.history]) == (
        "in_stock",
        "A-01",
        ["receive"],
    )
    assert (await service.stock_of("PHONE")).on_hand == 2
    await assert_verified(pool)


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (
            Receive(PHONE, A2, 2, serials=("SN-2", "SN-1")),
            "serial SN-1 of PHONE is already in stock at A-01",
        ),
        (
            Pick(PHONE, A2, 1, serials=("SN-1",)),
            "serial SN-1 of PHONE is not at A-02: it is in stock at A-01",
        ),
        (
            Pick(PHONE, A1, 1, serials=("SN-9",)),
            "serial SN-9 of PHONE is not at A-01: it is not known",
        ),
    ],
    ids=["received-again", "picked-where-it-is-not", "picked-unknown"],
)
async def test_a_serial_conflict_is_refused_with_where_the_serial_is_and_nothing_changes(
    service: StockService, pool: Pool, command: Receive | Pick, reason: str
) -> None:
    await service.post(env(Receive(PHONE, A1, 1, serials=("SN-1",))))
    before = await state(pool)
    with pytest.raises(SerialConflictError) as caught:
        await service.post(env(command))
    assert caught.value.reason == reason
    assert caught.value.http_status == 409
    assert await state(pool) == before


async def test_pick_ships_a_serial_and_a_return_brings_it_back_to_quarantine(
    service: StockService, pool: Pool
) -> None:
    await service.post(env(Receive(PHONE, A1, 2, serials=("SN-1", "SN-2"))))
    await service.post(env(Pick(PHONE, A1, 1, serials=("SN-2",))))
    shipped = await service.serial("PHONE", "SN-2")
    assert shipped is not None
    assert (shipped.status, shipped.location) == ("shipped", None)
    await service.post(env(Return(PHONE, Q1, 1, DAMAGED, serials=("SN-2",))))
    back = await service.serial("PHONE", "SN-2")
    assert back is not None
    assert (back.status, back.location) == ("quarantined", "Q-01")
    assert [m.kind for m in back.history] == ["receive", "pick", "return"]
    with pytest.raises(SerialConflictError):
        await service.post(env(Return(PHONE, Q1, 1, DAMAGED, serials=("SN-1",))))
    await service.post(env(Scrap(PHONE, Q1, 1, DAMAGED, serials=("SN-2",))))
    scrapped = await service.serial("PHONE", "SN-2")
    assert scrapped is not None
    assert scrapped.status == "scrapped"
    await assert_verified(pool)


async def test_a_move_takes_each_serial_from_where_it_is(service: StockService, pool: Pool) -> None:
    await service.post(env(Receive(PHONE, A1, 2, serials=("SN-1", "SN-2"), lot="B7")))
    outcome = await service.post(env(Move(A1, A2, (Line(PHONE, 1, serials=("SN-2",)),))))
    assert [(m.kind, m.location, m.serial, m.lot) for m in outcome.movements] == [
        ("move_out", "A-01", "SN-2", "B7"),
        ("move_in", "A-02", "SN-2", "B7"),
    ]
    moved = await service.serial("PHONE", "SN-2")
    assert moved is not None
    assert moved.location == "A-02"
    before = await state(pool)
    with pytest.raises(SerialConflictError):
        await service.post(env(Move(A1, A2, (Line(PHONE, 1, serials=("SN-2",)),))))
    assert await state(pool) == before
    await assert_verified(pool)


async def test_undo_puts_serials_back_where_they_were(service: StockService, pool: Pool) -> None:
    received = await service.post(env(Receive(PHONE, A1, 1, serials=("SN-1",))))
    moved = await service.post(env(Move(A1, A2, (Line(PHONE, 1, serials=("SN-1",)),))))
    await service.post(env(Undo(movement_id=moved.movements[0].id)))
    view = await service.serial("PHONE", "SN-1")
    assert view is not None
    assert (view.status, view.location) == ("in_stock", "A-01")
    picked = await service.post(env(Pick(PHONE, A1, 1, serials=("SN-1",))))
    await service.post(env(Undo(movement_id=picked.movements[0].id)))
    view = await service.serial("PHONE", "SN-1")
    assert view is not None
    assert (view.status, view.location) == ("in_stock", "A-01")
    await service.post(env(Undo(movement_id=MovementId(received.movements[0].id))))
    assert await service.serial("PHONE", "SN-1") is None  # it never was
    await assert_verified(pool)


async def test_a_count_by_serial_finds_and_misses_serials(
    service: StockService, pool: Pool
) -> None:
    await service.post(env(Receive(PHONE, A1, 2, serials=("SN-1", "SN-2"))))
    outcome = await service.post(env(Count(A1, (Line(PHONE, 2, serials=("SN-2", "SN-3")),))))
    assert sorted((m.serial, m.delta) for m in outcome.movements) == [("SN-1", -1), ("SN-3", 1)]
    missing = await service.serial("PHONE", "SN-1")
    assert missing is not None
    assert missing.status == "missing"
    assert (await service.stock_of("PHONE")).on_hand == 2
    await service.post(env(Count(A1, (Line(PHONE, 0),))))
    assert (await service.stock_of("PHONE")).on_hand == 0
    await assert_verified(pool)


async def test_tracking_refusals_change_nothing(service: StockService, pool: Pool) -> None:
    await service.post(env(Receive(PHONE, A1, 1, serials=("SN-1",))))
    before = await state(pool)
    refused = [
        Receive(PHONE, A1, 1),  # plain: the set-based path refuses it
        Pick(PHONE, A1, 1),
        Adjust(PHONE, A1, 1),
        Receive(ProductRef(sku=Sku("MILK")), A1, 1),  # lot-tracked, no lot
        Receive(WIDGET, A1, 1, serials=("W-1",)),
        Receive(PHONE_CASE, A1, 1, serials=("SN-5",)),  # a pack of 10 is not one serial
        Count(A1, (Line(PHONE, 1),)),
    ]
    for command in refused:
        with pytest.raises(TrackingError):
            await service.post(env(command))
    with pytest.raises(InvalidMovementError):
        await service.post(env(Receive(PHONE, A1, 2, serials=("SN-7",))))
    with pytest.raises(InvalidMovementError):
        await service.post(env(Receive(PHONE, A1, 2, serials=("SN-7", "SN-7"))))
    assert await state(pool) == before
    lot = await service.post(env(Receive(ProductRef(sku=Sku("MILK")), A1, 1, lot="L1")))
    assert lot.movements[0].lot == "L1"


async def test_a_batch_of_serial_scans_replays_once(service: StockService, pool: Pool) -> None:
    first = env(Receive(PHONE, A1, 1, serials=("SN-1",)))
    outcomes = await service.post_batch([first, env(Receive(WIDGET, A1, 3))])
    assert not any(isinstance(o, Exception) for o in outcomes)
    again = await service.post_batch([first])
    assert not isinstance(again[0], Exception)
    assert again[0].replayed
    assert again[0].movements[0].serial == "SN-1"
    assert (await service.stock_of("PHONE")).on_hand == 1
    await assert_verified(pool)


async def test_tracking_changes_only_while_a_product_has_no_stock(
    service: StockService, pool: Pool
) -> None:
    await service.post(env(Receive(WIDGET, A1, 3)))
    with pytest.raises(ConflictError):
        await service.update_product("WIDGET", {"tracking": "serial"})
    with pytest.raises(CatalogImportError) as caught:
        await service.import_products(
            b"sku,name,barcodes,category,unit_cost,weight_g,length_mm,width_mm,height_mm,"
            b"reorder_point,reorder_qty,lead_time_days,safety_stock,tracking\n"
            b"WIDGET,Widget,,hardware,2.5,120,,,,10,100,7,5,serial\n"
        )
    assert "3 units on hand" in caught.value.problems[0].reason
    assert (await service.product("GADGET")).tracking == "none"
    changed = await service.update_product("GADGET", {"tracking": "lot"})
    assert changed.tracking == "lot"


async def test_verify_finds_serials_that_do_not_match_stock(
    service: StockService, pool: Pool
) -> None:
    await service.post(env(Receive(PHONE, A1, 2, serials=("SN-1", "SN-2"))))
    await pool.execute(
        "UPDATE serials SET status = 'shipped', location_id = NULL WHERE serial = 'SN-2'"
    )
    async with pool.acquire() as conn:
        report = await verify(conn)
    assert not report.ok
    assert any("PHONE" in failure and "serial" in failure for failure in report.failures)


async def test_count_tasks_leave_serial_tracked_products_to_serial_counts(
    service: StockService, pool: Pool
) -> None:
    await service.post(env(Receive(PHONE, A1, 2, serials=("SN-1", "SN-2"))))
    await service.post(env(Receive(WIDGET, A1, 4)))
    task = await service.open_count_task(locations=["A-01"])
    with pytest.raises(TrackingError):
        await service.count_for_task(task.id, env(Count(A1, (Line(PHONE, 1, serials=("SN-1",)),))))
    with pytest.raises(TrackingError):
        await service.count_for_task(task.id, env(Count(A1, (Line(PHONE, 2),))))
    await service.count_for_task(task.id, env(Count(A1, (Line(WIDGET, 3),))))
    confirmed = await service.confirm_count_task(task.id, approval_percent=50)
    assert [(x.sku, x.expected, x.counted) for x in confirmed.lines] == [("WIDGET", 4, 3)]
    assert (await service.stock_of("PHONE")).on_hand == 2  # not zeroed by the task
    await assert_verified(pool)


async def test_a_pick_against_an_order_takes_the_serials_it_names(
    service: StockService, pool: Pool
) -> None:
    await service.post(env(Receive(PHONE, A1, 3, serials=("SN-1", "SN-2", "SN-3"))))
    order, _ = await service.create_order("SO-9", [OrderLineRequest("PHONE", 2)])
    assert order.lines[0].reserved == 2
    pick = Pick(PHONE, A1, 2, order=OrderNumber("SO-9"), serials=("SN-3", "SN-1"))
    outcome = await service.post(env(pick))
    assert [(m.serial, m.delta) for m in outcome.movements] == [("SN-3", -1), ("SN-1", -1)]
    done = await service.get_order("SO-9")
    assert (done.status, done.lines[0].picked) == ("complete", 2)
    for serial in ("SN-1", "SN-3"):
        view = await service.serial("PHONE", serial)
        assert view is not None
        assert view.status == "shipped"
    await assert_verified(pool)
