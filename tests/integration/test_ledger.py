from __future__ import annotations

import asyncio
import itertools
from datetime import date

import asyncpg
import pytest

from stock_core.domain.movement import Adjust
from stock_core.domain.movement import Count
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Line
from stock_core.domain.movement import Move
from stock_core.domain.movement import MovementKind
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.movement import Undo
from stock_core.errors import CountBelowReservedError
from stock_core.errors import IdempotencyConflictError
from stock_core.errors import InsufficientStockError
from stock_core.errors import InvalidMovementError
from stock_core.errors import NothingToUndoError
from stock_core.errors import StockRejection
from stock_core.errors import UnknownLocationError
from stock_core.errors import UnknownProductError
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import MovementId
from stock_core.types import ScannerId
from stock_core.types import Sku
from tests.integration.catalog_fixture import PRODUCTS_CSV

_keys = itertools.count()

WIDGET = ProductRef(sku=Sku("WIDGET"))
A1 = LocationCode("A-01")
A2 = LocationCode("A-02")


def env(command: object, key: str | None = None, scanner: str | None = None) -> Envelope:
    return Envelope(
        key=IdempotencyKey(key or f"k{next(_keys)}"),
        command=command,  # type: ignore[arg-type]
        actor="test",
        scanner=ScannerId(scanner) if scanner else None,
        scan_seq=1 if scanner else None,
    )


async def on_hand(service: StockService, sku: str = "WIDGET") -> int:
    return (await service.stock_of(sku)).on_hand


async def receive_lots(service: StockService, *lots: tuple[str, int, date]) -> None:
    """WIDGET received at A-01 lot by lot, in the order given: ``(lot, units, expiry)``."""
    for lot, units, expiry in lots:
        await service.post(env(Receive(WIDGET, A1, units, lot=lot, expiry=expiry)))


async def test_receive_adds_stock_and_writes_ledger_and_event(
    service: StockService, pool: Pool
) -> None:
    outcome = await service.post(env(Receive(WIDGET, A1, 5)))
    (row,) = outcome.movements
    assert (row.kind, row.sku, row.location, row.delta, row.on_hand_after) == (
        MovementKind.RECEIVE,
        "WIDGET",
        "A-01",
        5,
        5,
    )
    event = await pool.fetchrow(
        "SELECT type, payload::text FROM outbox WHERE type = 'stock.changed'"
    )
    assert event is not None
    assert event["type"] == "stock.changed"
    assert '"on_hand": 5' in event["payload"]
    assert await on_hand(service) == 5


async def test_low_stock_alert_rises_and_clears_with_hysteresis(
    service: StockService, pool: Pool
) -> None:
    # WIDGET: reorder point 10, margin 1
    await service.post(env(Receive(WIDGET, A1, 12)))
    assert await pool.fetchval("SELECT count(*) FROM alerts") == 0
    await service.post(env(Pick(WIDGET, A1, 2)))
    assert await pool.fetchval("SELECT kind FROM alerts WHERE cleared_at IS NULL") == "low_stock"
    await service.post(env(Receive(WIDGET, A1, 1)))  # 11: within the margin, stays
    assert await pool.fetchval("SELECT count(*) FROM alerts WHERE cleared_at IS NULL") == 1
    await service.post(env(Pick(WIDGET, A1, 11)))  # 0: out of stock too
    kinds = await pool.fetch("SELECT kind FROM alerts WHERE cleared_at IS NULL ORDER BY kind")
    assert [r["kind"] for r in kinds] == ["low_stock", "out_of_stock"]
    await service.post(env(Receive(WIDGET, A1, 12)))  # 12 > 10 + 1: both clear
    assert await pool.fetchval("SELECT count(*) FROM alerts WHERE cleared_at IS NULL") == 0
    types = [r["type"] for r in await pool.fetch("SELECT type FROM outbox ORDER BY id")]
    assert types.count("alert.raised") == 2
    assert types.count("alert.cleared") == 2


async def _active_alerts(pool: Pool) -> list[str]:
    rows = await pool.fetch("SELECT kind FROM alerts WHERE cleared_at IS NULL ORDER BY kind")
    return [r["kind"] for r in rows]


async def test_a_new_reorder_point_raises_and_clears_low_stock_at_once(
    service: StockService, pool: Pool
) -> None:
    await service.post(env(Receive(WIDGET, A1, 15)))  # reorder point 10
    assert await _active_alerts(pool) == []
    await service.update_product("WIDGET", {"reorder_point": 20})
    assert await _active_alerts(pool) == ["low_stock"]
    csv = PRODUCTS_CSV.replace(b",10,100,7,5", b",5,100,7,5")  # WIDGET's point back to 5
    await service.import_products(csv)
    assert await _active_alerts(pool) == []
    raised = await pool.fetchval("SELECT count(*) FROM outbox WHERE type = 'alert.raised'")
    cleared = await pool.fetchval("SELECT count(*) FROM outbox WHERE type = 'alert.cleared'")
    assert (raised, cleared) == (1, 1)


async def test_case_barcode_counts_its_pack_size(service: StockService) -> None:
    await service.post(env(Receive(ProductRef(barcode="15012345678907"), A1, 2)))
    assert await on_hand(service) == 24


async def test_pick_below_zero_is_rejected_with_the_shortfall(service: StockService) -> None:
    await service.post(env(Receive(WIDGET, A1, 3)))
    with pytest.raises(InsufficientStockError) as info:
        await service.post(env(Pick(WIDGET, A1, 5)))
    assert (info.value.requested, info.value.available, info.value.shortfall) == (5, 3, 2)
    assert await on_hand(service) == 3


async def test_unknown_product_and_location_are_rejected(service: StockService) -> None:
    with pytest.raises(UnknownProductError):
        await service.post(env(Receive(ProductRef(barcode="99999999999999"), A1, 1)))
    with pytest.raises(UnknownLocationError):
        await service.post(env(Receive(WIDGET, LocationCode("NOPE"), 1)))
    assert (await service.verify()).checked["movements"] == 0


async def test_location_by_gln(service: StockService) -> None:
    outcome = await service.post(env(Receive(WIDGET, LocationCode("4012345000009"), 1)))
    assert outcome.movements[0].location == "B-01"


async def test_replayed_key_returns_first_outcome_and_changes_nothing(
    service: StockService,
) -> None:
    first = await service.post(env(Receive(WIDGET, A1, 4), key="same"))
    again = await service.post(env(Receive(WIDGET, A1, 4), key="same"))
    assert again.replayed
    assert [m.id for m in again.movements] == [m.id for m in first.movements]
    assert await on_hand(service) == 4


async def test_replayed_rejection_is_rejected_again_even_after_stock_arrives(
    service: StockService,
) -> None:
    with pytest.raises(InsufficientStockError):
        await service.post(env(Pick(WIDGET, A1, 1), key="pick-1"))
    await service.post(env(Receive(WIDGET, A1, 10)))
    with pytest.raises(InsufficientStockError):
        await service.post(env(Pick(WIDGET, A1, 1), key="pick-1"))
    assert await on_hand(service) == 10


async def test_same_key_different_request_is_a_conflict(service: StockService) -> None:
    await service.post(env(Receive(WIDGET, A1, 4), key="k-conflict"))
    with pytest.raises(IdempotencyConflictError):
        await service.post(env(Receive(WIDGET, A1, 5), key="k-conflict"))
    assert await on_hand(service) == 4


async def test_pick_without_lot_draws_first_expiry_first(service: StockService) -> None:
    await receive_lots(service, ("LATE", 5, date(2031, 1, 1)), ("EARLY", 5, date(2030, 1, 1)))
    outcome = await service.post(env(Pick(WIDGET, A1, 7)))
    assert [(m.lot, m.delta) for m in outcome.movements] == [("EARLY", -5), ("LATE", -2)]
    assert await on_hand(service) == 3


async def test_a_pick_skips_an_expired_lot_and_a_pick_of_that_lot_is_refused(
    service: StockService,
) -> None:
    await receive_lots(service, ("OLD", 5, date(2020, 1, 1)), ("NEW", 5, date(2099, 1, 1)))
    outcome = await service.post(env(Pick(WIDGET, A1, 3)))
    assert [(m.lot, m.delta) for m in outcome.movements] == [("NEW", -3)]
    with pytest.raises(InsufficientStockError, match=r"lot OLD \(expired 2020-01-01\)"):
        await service.post(env(Pick(WIDGET, A1, 1, lot="OLD")))
    with pytest.raises(InsufficientStockError, match="only 2 of WIDGET"):
        await service.post(env(Pick(WIDGET, A1, 3)))
    await service.post(env(Adjust(WIDGET, A1, -5, lot="OLD")))  # written off
    assert await on_hand(service) == 2


async def test_a_plain_count_in_a_lot_location_counts_the_location_once(
    service: StockService,
) -> None:
    await receive_lots(service, ("L1", 5, date(2090, 1, 1)), ("L2", 3, date(2091, 1, 1)))
    same = await service.post(env(Count(A1, (Line(WIDGET, 8),))))
    assert [(m.lot, m.delta) for m in same.movements] == [("", 0)]
    assert await on_hand(service) == 8
    short = await service.post(env(Count(A1, (Line(WIDGET, 6),))))
    assert [(m.lot, m.delta, m.on_hand_after) for m in short.movements] == [("L1", -2, 3)]
    assert await on_hand(service) == 6
    report = await service.verify()
    assert report.ok


async def test_move_is_two_rows_in_one_transaction(service: StockService) -> None:
    await service.post(env(Receive(WIDGET, A1, 5)))
    outcome = await service.post(env(Move(A1, A2, (Line(WIDGET, 3),))))
    assert [(m.kind, m.location, m.delta) for m in outcome.movements] == [
        (MovementKind.MOVE_OUT, "A-01", -3),
        (MovementKind.MOVE_IN, "A-02", 3),
    ]


async def test_move_refused_moves_nothing(service: StockService) -> None:
    await service.post(env(Receive(WIDGET, A1, 5)))
    gadget = ProductRef(sku=Sku("GADGET"))
    with pytest.raises(InsufficientStockError):
        await service.post(env(Move(A1, A2, (Line(WIDGET, 3), Line(gadget, 1)))))
    level = await service.stock_of("WIDGET")
    assert [(loc.location, loc.on_hand) for loc in level.locations] == [("A-01", 5)]


async def test_count_sets_on_hand_adding_case_and_unit_scans(service: StockService) -> None:
    await service.post(env(Receive(WIDGET, A1, 50)))
    lines = (
        Line(ProductRef(barcode="15012345678907"), 2),
        Line(ProductRef(barcode="05012345678900"), 3),
    )
    outcome = await service.post(env(Count(A1, lines)))
    (row,) = outcome.movements
    assert (row.kind, row.delta, row.on_hand_after) == (MovementKind.COUNT, -23, 27)


async def test_count_below_reserved_is_refused(service: StockService, pool: Pool) -> None:
    await service.post(env(Receive(WIDGET, A1, 10)))
    await pool.execute("UPDATE stock SET reserved = 6")
    with pytest.raises(CountBelowReservedError):
        await service.post(env(Count(A1, (Line(WIDGET, 5),))))


async def test_undo_reverses_the_scanners_last_command(service: StockService) -> None:
    await service.post(env(Receive(WIDGET, A1, 5), scanner="s1"))
    await service.post(env(Move(A1, A2, (Line(WIDGET, 2),)), scanner="s1"))
    undo = await service.post(env(Undo(scanner=ScannerId("s1"))))
    assert sorted(m.delta for m in undo.movements) == [-2, 2]
    level = await service.stock_of("WIDGET")
    assert [(loc.location, loc.on_hand) for loc in level.locations] == [("A-01", 5)]
    await service.post(env(Undo(scanner=ScannerId("s1"))))
    assert await on_hand(service) == 0
    with pytest.raises(NothingToUndoError):
        await service.post(env(Undo(scanner=ScannerId("s1"))))
    assert (await service.verify()).ok


async def test_undo_of_an_undo_is_refused(service: StockService) -> None:
    await service.post(env(Receive(WIDGET, A1, 5)))
    undo = await service.post(env(Undo(movement_id=MovementId(1))))
    with pytest.raises(InvalidMovementError):
        await service.post(env(Undo(movement_id=undo.movements[0].id)))
    with pytest.raises(NothingToUndoError):
        await service.post(env(Undo(movement_id=MovementId(1))))


async def test_adjust_both_ways(service: StockService) -> None:
    await service.post(env(Adjust(WIDGET, A1, 7, note="found")))
    await service.post(env(Adjust(WIDGET, A1, -2, note="damaged")))
    with pytest.raises(InsufficientStockError):
        await service.post(env(Adjust(WIDGET, A1, -6)))
    assert await on_hand(service) == 5


@pytest.mark.parametrize(
    "command",
    [
        Receive(WIDGET, A1, 0),
        Receive(WIDGET, A1, 100_001),
        Pick(WIDGET, A1, -1),
        Adjust(WIDGET, A1, 0),
        Move(A1, A1, (Line(WIDGET, 1),)),
        Count(A1, ()),
        Receive(WIDGET, A1, 1, lot="x" * 21),
    ],
)
async def test_invalid_commands_change_nothing(service: StockService, command: object) -> None:
    with pytest.raises(InvalidMovementError):
        await service.post(env(command))
    report = await service.verify()
    assert report.checked["movements"] == 0


async def test_group_commit_gives_each_envelope_its_own_outcome(service: StockService) -> None:
    outcomes = await service.post_batch(
        [
            env(Receive(WIDGET, A1, 2)),
            env(Pick(WIDGET, A1, 5)),
            env(Pick(WIDGET, A1, 1)),
            env(Receive(ProductRef(barcode="nope"), A1, 1)),
        ]
    )
    assert [type(o).__name__ for o in outcomes] == [
        "MovementOutcome",
        "InsufficientStockError",
        "MovementOutcome",
        "UnknownProductError",
    ]
    assert await on_hand(service) == 1
    assert (await service.verify()).ok


async def test_a_batch_leaves_the_stock_rows_posting_one_by_one_leaves(
    service: StockService, pool: Pool
) -> None:
    """A row created and emptied in one batch stays, empty, with its first expiry: a
    later receipt into it keeps that expiry, whichever way the first two were posted."""
    first, later = date(2030, 1, 1), date(2031, 6, 1)
    await service.post_batch([env(Receive(WIDGET, A1, 3, expiry=first)), env(Pick(WIDGET, A1, 3))])
    await service.post(env(Receive(WIDGET, A2, 3, expiry=first)))
    await service.post(env(Pick(WIDGET, A2, 3)))
    for location in (A1, A2):
        await service.post(env(Receive(WIDGET, location, 1, expiry=later)))
    rows = await pool.fetch(
        "SELECT l.code, s.on_hand, s.expiry FROM stock s JOIN locations l ON l.id = s.location_id "
        "JOIN products p ON p.id = s.product_id WHERE p.sku = 'WIDGET' ORDER BY l.code"
    )
    assert [tuple(r) for r in rows] == [("A-01", 1, first), ("A-02", 1, first)]
    assert (await service.verify()).ok


async def test_ledger_rejects_update_and_delete(
    service: StockService, pool: Pool, admin_database_url: str
) -> None:
    await service.post(env(Receive(WIDGET, A1, 2)))
    # the app's role may not even try; the schema's owner meets the append-only trigger
    for statement in ("UPDATE movements SET delta = 3", "DELETE FROM movements"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await pool.execute(statement)
    owner = await asyncpg.connect(admin_database_url)
    try:
        with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
            await owner.execute("UPDATE movements SET delta = 3")
        with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
            await owner.execute("DELETE FROM movements")
    finally:
        await owner.close()


async def test_verify_reports_a_tampered_stock_row(service: StockService, pool: Pool) -> None:
    await service.post(env(Receive(WIDGET, A1, 2)))
    await pool.execute("UPDATE stock SET on_hand = 9")
    report = await service.verify()
    assert not report.ok
    assert "ledger sums to 2 but on-hand is 9" in report.render()


async def test_concurrent_writers_are_exact(service: StockService, pool: Pool) -> None:
    """32 connections x 500 mixed movements on 5 rows: exact totals, no deadlock leaks."""
    skus = ["WIDGET", "GADGET", "SPROCKET", "BOLT", "NUT"]
    for sku in skus:
        await service.post(env(Receive(ProductRef(sku=Sku(sku)), A1, 1000)))
    expected = dict.fromkeys(skus, 1000)
    keys: list[Envelope] = []

    async def worker(n: int) -> list[tuple[Envelope, object]]:
        results: list[tuple[Envelope, object]] = []
        for i in range(500):
            sku = skus[(n + i) % 5]
            ref = ProductRef(sku=Sku(sku))
            cmd = Receive(ref, A1, 1 + i % 3) if (n + i) % 2 else Pick(ref, A1, 1 + i % 4)
            envelope = env(cmd, key=f"c{n}-{i}")
            try:
                results.append((envelope, await service.post(envelope)))
            except StockRejection as exc:
                results.append((envelope, exc))
        return results

    all_results = await asyncio.gather(*(worker(n) for n in range(32)))
    for results in all_results:
        for envelope, outcome in results:
            keys.append(envelope)
            if isinstance(outcome, StockRejection):
                assert isinstance(outcome, InsufficientStockError)
                continue
            command = envelope.command
            assert isinstance(command, Receive | Pick)
            assert command.product.sku is not None
            sign = 1 if isinstance(command, Receive) else -1
            expected[command.product.sku] += sign * command.quantity
    for sku in skus:
        assert await on_hand(service, sku) == expected[sku]
    assert (await service.verify()).ok
    before = await pool.fetchval("SELECT count(*) FROM movements")
    gate = asyncio.Semaphore(32)

    async def replay(envelope: Envelope) -> object:
        async with gate:
            (outcome,) = await service.post_batch([envelope])
            return outcome

    replays = await asyncio.gather(*(replay(e) for e in keys))  # every key of the run
    assert len(replays) == 32 * 500
    assert all(isinstance(o, StockRejection) or getattr(o, "replayed", False) for o in replays)
    assert await pool.fetchval("SELECT count(*) FROM movements") == before
    for sku in skus:
        assert await on_hand(service, sku) == expected[sku]
