"""The set-based batch planner: decisions in order, never negative, figures per row."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from stock_core.domain.batch import PlanItem
from stock_core.domain.batch import PlannedRow
from stock_core.domain.batch import ProductFacts
from stock_core.domain.batch import StockFacts
from stock_core.domain.batch import is_plain
from stock_core.domain.batch import plan_batch
from stock_core.domain.batch import products_named
from stock_core.domain.movement import Adjust
from stock_core.domain.movement import Count
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Line
from stock_core.domain.movement import Move
from stock_core.domain.movement import MovementKind
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.movement import Return
from stock_core.domain.movement import Scrap
from stock_core.domain.movement import Undo
from stock_core.errors import InsufficientStockError
from stock_core.errors import QuarantinedStockError
from stock_core.errors import UnknownLocationError
from stock_core.errors import UnknownProductError
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import OrderNumber
from stock_core.types import PurchaseOrderNumber
from stock_core.types import ReasonCode
from stock_core.types import ScannerId
from stock_core.types import Sku
from tests.unit.stock_core.steps import step_command

A = ProductFacts(1, "A", reorder_point=5, on_hand=0, reserved=0)
SHELF = (10, "SHELF")
DOCK = (11, "DOCK")
_keys = iter(range(1_000_000))


def _item(
    command: Receive | Pick | Adjust,
    product: ProductFacts | None = A,
    location: tuple[int, str] | None = SHELF,
    pack: int = 1,
) -> PlanItem:
    return PlanItem(Envelope(IdempotencyKey(f"k{next(_keys)}"), command), product, pack, location)


def _receive(n: int, lot: str | None = None, expiry: date | None = None) -> Receive:
    return Receive(ProductRef(sku=Sku("A")), LocationCode("SHELF"), n, lot=lot, expiry=expiry)


def _pick(n: int, lot: str | None = None) -> Pick:
    return Pick(ProductRef(sku=Sku("A")), LocationCode("SHELF"), n, lot=lot)


def _rows(outcome: object) -> list[PlannedRow]:
    assert isinstance(outcome, list)
    return outcome


def test_only_plain_commands_are_planned_set_wise() -> None:
    ref = ProductRef(sku=Sku("A"))
    loc = LocationCode("SHELF")
    assert is_plain(Envelope(IdempotencyKey("a"), Receive(ref, loc, 1)))
    assert is_plain(Envelope(IdempotencyKey("b"), Pick(ref, loc, 1)))
    assert is_plain(Envelope(IdempotencyKey("c"), Adjust(ref, loc, -1)))
    po = Receive(ref, loc, 1, purchase_order=PurchaseOrderNumber("PO-1"))
    assert not is_plain(Envelope(IdempotencyKey("d"), po))
    assert not is_plain(Envelope(IdempotencyKey("e"), Pick(ref, loc, 1, order=OrderNumber("O"))))
    assert not is_plain(Envelope(IdempotencyKey("f"), Count(loc, (Line(ref, 1),))))
    assert not is_plain(Envelope(IdempotencyKey("g"), Undo(scanner=ScannerId("s"))))


def test_a_receive_then_a_pick_in_one_batch_see_each_other() -> None:
    plan = plan_batch([_item(_receive(5)), _item(_pick(3))], [A], [])
    receive, pick = (_rows(o) for o in plan.outcomes)
    assert [(r.kind, r.delta, r.on_hand_after) for r in receive] == [(MovementKind.RECEIVE, 5, 5)]
    assert [(r.kind, r.delta, r.on_hand_after) for r in pick] == [(MovementKind.PICK, -3, 2)]
    assert pick[0].product_on_hand == 2
    assert pick[0].location_available == 2
    assert plan.deltas == {(1, 10, ""): 2}
    assert plan.available == {1: 2}
    assert plan.received == {1}
    assert plan.new_rows == {(1, 10, "")}


def test_a_pick_below_zero_is_refused_alone_and_changes_nothing() -> None:
    rows = [StockFacts(1, 10, "", None, 4, 1)]
    plan = plan_batch([_item(_pick(4)), _item(_pick(3))], [A], rows)
    refused, taken = plan.outcomes
    assert isinstance(refused, InsufficientStockError)
    assert (refused.requested, refused.available) == (4, 3)
    assert _rows(taken)[0].on_hand_after == 1
    assert plan.deltas == {(1, 10, ""): -3}
    assert plan.received == set()
    assert plan.new_rows == set()


def test_a_pick_without_a_lot_draws_first_expiry_first_across_lots() -> None:
    rows = [
        StockFacts(1, 10, "LATE", date(2031, 1, 1), 5, 0),
        StockFacts(1, 10, "SOON", date(2030, 1, 1), 2, 0),
        StockFacts(1, 10, "", None, 9, 0),
    ]
    plan = plan_batch([_item(_pick(4))], [A], rows)
    picked = _rows(plan.outcomes[0])
    assert [(r.lot, r.delta, r.expiry, r.part) for r in picked] == [
        ("SOON", -2, date(2030, 1, 1), 0),
        ("LATE", -2, date(2031, 1, 1), 1),
    ]
    assert picked[-1].location_on_hand == 12


def test_a_pick_with_a_lot_names_the_lot_in_its_refusal() -> None:
    plan = plan_batch([_item(_pick(1, lot="X"))], [A], [StockFacts(1, 10, "Y", None, 5, 0)])
    refusal = plan.outcomes[0]
    assert isinstance(refusal, InsufficientStockError)
    assert refusal.location == "SHELF lot X"


def test_a_case_barcode_counts_its_pack_of_units() -> None:
    plan = plan_batch([_item(_receive(2), pack=12)], [A], [])
    assert _rows(plan.outcomes[0])[0].delta == 24


def test_a_receive_keeps_the_first_expiry_a_lot_was_given() -> None:
    first, second = date(2030, 1, 1), date(2032, 1, 1)
    plan = plan_batch([_item(_receive(1, "L", first)), _item(_receive(1, "L", second))], [A], [])
    assert plan.expiries == {(1, 10, "L"): first}
    assert _rows(plan.outcomes[1])[0].expiry == second  # the ledger row records what was said


def test_adjustments_go_both_ways_and_never_below_zero() -> None:
    down = Adjust(ProductRef(sku=Sku("A")), LocationCode("SHELF"), -2)
    up = Adjust(ProductRef(sku=Sku("A")), LocationCode("SHELF"), 3)
    plan = plan_batch([_item(down), _item(up), _item(down)], [A], [])
    assert isinstance(plan.outcomes[0], InsufficientStockError)
    assert [r.on_hand_after for r in _rows(plan.outcomes[1])] == [3]
    assert [r.on_hand_after for r in _rows(plan.outcomes[2])] == [1]


def test_unknown_products_and_locations_are_refused_by_name() -> None:
    by_barcode = Receive(ProductRef(barcode="00000000000017"), LocationCode("NOWHERE"), 1)
    plan = plan_batch([_item(by_barcode, product=None), _item(_receive(1), location=None)], [A], [])
    unknown_product, unknown_location = plan.outcomes
    assert isinstance(unknown_product, UnknownProductError)
    assert unknown_product.code == "00000000000017"
    assert isinstance(unknown_location, UnknownLocationError)
    assert unknown_location.code == "SHELF"


def test_rows_that_end_where_they_began_are_not_written() -> None:
    product = ProductFacts(1, "A", 0, on_hand=3, reserved=0)
    rows = [StockFacts(1, SHELF[0], "", date(2030, 1, 1), 3, 0)]
    plan = plan_batch([_item(_receive(2), product), _item(_pick(2), product)], [product], rows)
    assert plan.deltas == {}
    assert plan.available == {1: 3}


def test_a_row_the_batch_creates_is_written_even_back_at_zero() -> None:
    """As posting one by one leaves it: an empty row that keeps its first expiry."""
    plan = plan_batch([_item(_receive(2, expiry=date(2030, 1, 1))), _item(_pick(2))], [A], [])
    assert plan.deltas == {(1, SHELF[0], ""): 0}
    assert plan.new_rows == {(1, SHELF[0], "")}
    assert plan.expiries == {(1, SHELF[0], ""): date(2030, 1, 1)}
    assert plan.available == {1: 0}


def test_an_empty_row_given_its_first_expiry_is_written() -> None:
    product = ProductFacts(1, "A", 0, on_hand=0, reserved=0)
    rows = [StockFacts(1, SHELF[0], "", None, 0, 0)]
    batch = [_item(_receive(2, expiry=date(2030, 1, 1)), product), _item(_pick(2), product)]
    plan = plan_batch(batch, [product], rows)
    assert plan.deltas == {(1, SHELF[0], ""): 0}
    assert plan.new_rows == set()
    assert plan.expiries == {(1, SHELF[0], ""): date(2030, 1, 1)}


def test_product_totals_count_other_locations_and_reservations() -> None:
    product = ProductFacts(1, "A", 0, on_hand=10, reserved=4)
    rows = [StockFacts(1, 11, "", None, 10, 4)]
    plan = plan_batch([_item(_receive(1), product=product)], [product], rows)
    row = _rows(plan.outcomes[0])[0]
    assert (row.location_on_hand, row.location_available) == (1, 1)
    assert (row.product_on_hand, row.product_available) == (11, 7)


_ops = st.lists(
    st.tuples(
        st.sampled_from(["receive", "pick", "adjust"]),
        st.integers(1, 6),
        st.sampled_from([None, "L1", "L2"]),
        st.sampled_from([SHELF, DOCK]),
    ),
    max_size=30,
)


@given(_ops, st.lists(st.integers(0, 5), min_size=3, max_size=3))
def test_a_plan_equals_posting_one_by_one_and_never_goes_negative(
    ops: list[tuple[str, int, str | None, tuple[int, str]]], start: list[int]
) -> None:
    lots = ["", "L1", "L2"]
    rows = [StockFacts(1, SHELF[0], lot, None, n, 0) for lot, n in zip(lots, start, strict=True)]
    model = {(SHELF[0], lot): n for lot, n in zip(lots, start, strict=True)}
    product = ProductFacts(1, "A", 0, on_hand=sum(start), reserved=0)
    items = []
    for kind, n, lot, location in ops:
        ref, code = ProductRef(sku=Sku("A")), LocationCode(location[1])
        items.append(
            _item(step_command(kind, ref, code, n, lot), product=product, location=location)
        )
    plan = plan_batch(items, [product], rows)
    for (kind, n, lot, location), outcome in zip(ops, plan.outcomes, strict=True):
        here = {k: v for k, v in model.items() if k[0] == location[0] and v > 0}
        if kind == "receive":
            key = (location[0], lot or "")
            model[key] = model.get(key, 0) + n
            assert _rows(outcome)[0].on_hand_after == model[key]
        elif lot is not None or kind == "adjust":
            key = (location[0], lot or "")
            if model.get(key, 0) < n:
                assert isinstance(outcome, InsufficientStockError)
                continue
            model[key] -= n
            assert _rows(outcome)[0].on_hand_after == model[key]
        elif sum(here.values()) < n:
            assert isinstance(outcome, InsufficientStockError)
        else:
            assert sum(r.delta for r in _rows(outcome)) == -n
            for row in _rows(outcome):
                model[(location[0], row.lot)] += row.delta
                assert model[(location[0], row.lot)] == row.on_hand_after >= 0
    final = {k: v for k, v in model.items() if v}
    start_map = {(SHELF[0], lot): n for lot, n in zip(lots, start, strict=True)}
    for (pid, lid, lot), delta in plan.deltas.items():
        assert pid == 1
        assert start_map.get((lid, lot), 0) + delta == model[(lid, lot)]
    assert all(v >= 0 for v in final.values())


TODAY = date(2026, 12, 7)


def test_a_pick_without_a_lot_skips_expired_lots() -> None:
    rows = [
        StockFacts(1, 10, "OLD", date(2026, 12, 6), 5, 0),
        StockFacts(1, 10, "NEW", date(2027, 3, 1), 5, 0),
    ]
    plan = plan_batch([_item(_pick(3))], [A], rows, TODAY)
    assert [(r.lot, r.delta) for r in _rows(plan.outcomes[0])] == [("NEW", -3)]


def test_a_lot_is_good_through_the_day_it_expires() -> None:
    rows = [StockFacts(1, 10, "LAST", TODAY, 5, 0), StockFacts(1, 10, "NEW", None, 5, 0)]
    plan = plan_batch([_item(_pick(3))], [A], rows, TODAY)
    assert [(r.lot, r.delta) for r in _rows(plan.outcomes[0])] == [("LAST", -3)]


def test_expired_stock_is_not_available_to_pick_but_can_be_written_off() -> None:
    rows = [StockFacts(1, 10, "OLD", date(2026, 1, 1), 5, 0)]
    down = Adjust(ProductRef(sku=Sku("A")), LocationCode("SHELF"), -5, lot="OLD")
    plan = plan_batch([_item(_pick(1)), _item(_pick(1, lot="OLD")), _item(down)], [A], rows, TODAY)
    fefo, by_lot, write_off = plan.outcomes
    assert isinstance(fefo, InsufficientStockError)
    assert fefo.available == 0
    assert isinstance(by_lot, InsufficientStockError)
    assert by_lot.location == "SHELF lot OLD (expired 2026-01-01)"
    assert _rows(write_off)[0].on_hand_after == 0


def test_location_figures_come_from_the_totals_given_not_only_the_rows_read() -> None:
    # 40 units in other lots at SHELF were not read (a receive names only its lot)
    at = {(1, 10): (40, 5, 0)}
    product = ProductFacts(1, "A", 0, on_hand=40, reserved=5)
    plan = plan_batch([_item(_receive(2, lot="NEW"), product=product)], [product], [], None, at)
    row = _rows(plan.outcomes[0])[0]
    assert (row.on_hand_after, row.location_on_hand, row.location_available) == (2, 42, 37)
    assert plan.new_rows == {(1, 10, "NEW")}


def test_expired_units_are_counted_apart_from_available() -> None:
    # OLD expired with 2 of its 5 units reserved before it did; NEW is good
    rows = [
        StockFacts(1, 10, "OLD", date(2026, 12, 1), 5, 2),
        StockFacts(1, 10, "NEW", date(2027, 3, 1), 4, 0),
    ]
    product = ProductFacts(1, "A", 0, on_hand=9, reserved=2, expired=3)
    plan = plan_batch([_item(_pick(1), product=product)], [product], rows, TODAY)
    row = _rows(plan.outcomes[0])[0]
    assert (row.lot, row.location_on_hand, row.location_available) == ("NEW", 8, 3)
    assert (row.product_on_hand, row.product_available) == (8, 3)
    assert (plan.available, plan.expired) == ({1: 3}, {1: 3})


def test_receiving_an_expired_lot_adds_to_expired_and_writing_it_off_takes_it_away() -> None:
    receive = _item(_receive(4, lot="GONE", expiry=date(2026, 11, 30)))
    write_off = _item(Adjust(ProductRef(sku=Sku("A")), LocationCode("SHELF"), -4, lot="GONE"))
    plan = plan_batch([receive], [A], [], TODAY)
    row = _rows(plan.outcomes[0])[0]
    assert (row.on_hand_after, row.location_available, row.product_available) == (4, 0, 0)
    assert plan.expired == {1: 4}
    rows = [StockFacts(1, 10, "GONE", date(2026, 11, 30), 4, 0)]
    gone = ProductFacts(1, "A", 5, on_hand=4, reserved=0, expired=4)
    plan = plan_batch([write_off], [gone], rows, TODAY)
    assert plan.expired == {1: 0}
    assert _rows(plan.outcomes[0])[0].product_available == 0


_dated_ops = st.lists(
    st.tuples(
        st.sampled_from(["receive", "pick", "adjust"]),
        st.integers(1, 6),
        st.sampled_from([None, "OLD", "TODAY", "NEW"]),
    ),
    max_size=30,
)


@given(_dated_ops, st.lists(st.integers(0, 5), min_size=3, max_size=3))
def test_available_never_counts_expired_units(
    ops: list[tuple[str, int, str | None]], start: list[int]
) -> None:
    expiries = {"OLD": date(2026, 12, 6), "TODAY": TODAY, "NEW": date(2027, 1, 1), "": None}
    rows = [
        StockFacts(1, SHELF[0], lot, expiries[lot], n, 0)
        for lot, n in zip(["OLD", "TODAY", "NEW"], start, strict=True)
    ]
    model = dict(zip(["OLD", "TODAY", "NEW"], start, strict=True))
    product = ProductFacts(1, "A", 0, on_hand=sum(start), reserved=0, expired=start[0])
    items = []
    for kind, n, lot in ops:
        command: Receive | Pick | Adjust
        if kind == "receive":
            command = _receive(n, lot=lot, expiry=expiries[lot or ""])
        elif kind == "pick":
            command = _pick(n, lot=lot)
        else:
            command = Adjust(ProductRef(sku=Sku("A")), LocationCode("SHELF"), -n, lot=lot)
        items.append(_item(command, product=product))
    plan = plan_batch(items, [product], rows, TODAY)
    for outcome in plan.outcomes:
        if isinstance(outcome, InsufficientStockError):
            continue
        for row in _rows(outcome):
            model[row.lot] = model.get(row.lot, 0) + row.delta
            good = sum(v for lot, v in model.items() if lot != "OLD")
            assert row.product_available == row.location_available == good
            assert row.product_on_hand == good + model["OLD"]
            assert not (row.lot == "OLD" and row.kind is MovementKind.PICK)
    assert plan.expired.get(1, start[0]) == model["OLD"]


# -- quarantine ----------------------------------------------------------------------

CAGE = (12, "CAGE")


def test_returns_and_scrap_are_posted_one_by_one_but_name_their_product() -> None:
    ref, loc = ProductRef(sku=Sku("A")), LocationCode("CAGE")
    for command in (
        Return(ref, loc, 1, ReasonCode("damaged")),
        Scrap(ref, loc, 1, ReasonCode("lost")),
    ):
        envelope = Envelope(IdempotencyKey("r"), command)
        assert not is_plain(envelope)
        assert products_named(envelope) == ("A",)


def test_a_pick_at_a_quarantine_location_is_refused_with_or_without_a_lot() -> None:
    rows = [StockFacts(1, CAGE[0], "L1", None, 5, 0, quarantined=True)]
    product = ProductFacts(1, "A", 0, on_hand=5, reserved=0, quarantined=5)
    plan = plan_batch(
        [_item(_pick(1), product, CAGE), _item(_pick(1, lot="L1"), product, CAGE)], [product], rows
    )
    for outcome in plan.outcomes:
        assert isinstance(outcome, QuarantinedStockError)
        assert outcome.location == "CAGE"
    assert plan.deltas == {}


def test_a_receive_into_quarantine_is_on_hand_but_not_available_nor_a_refill() -> None:
    plan = plan_batch(
        [_item(_receive(4), A, CAGE), _item(_receive(2), A, SHELF)], [A], [], quarantine={CAGE[0]}
    )
    cage, shelf = (_rows(o)[0] for o in plan.outcomes)
    assert (cage.location_on_hand, cage.location_available) == (4, 0)
    assert (cage.product_on_hand, cage.product_available) == (4, 0)
    assert (shelf.product_on_hand, shelf.product_available) == (6, 2)
    assert plan.received == {1}  # the shelf's receipt, not the cage's
    assert plan.available == {1: 2}


def test_writing_off_in_quarantine_takes_from_what_is_quarantined() -> None:
    rows = [StockFacts(1, CAGE[0], "", date(2020, 1, 1), 3, 0, quarantined=True)]
    product = ProductFacts(1, "A", 0, on_hand=3, reserved=0, quarantined=3)
    adjust = Adjust(ProductRef(sku=Sku("A")), LocationCode("CAGE"), -2)
    plan = plan_batch([_item(adjust, product, CAGE)], [product], rows, TODAY)
    [row] = _rows(plan.outcomes[0])
    assert (row.on_hand_after, row.product_available, row.location_available) == (1, 0, 0)
    assert plan.expired == {1: 0}  # expired units in quarantine count as quarantined


@given(_ops, st.lists(st.integers(0, 5), min_size=2, max_size=2))
def test_available_never_counts_quarantined_units(
    ops: list[tuple[str, int, str | None, tuple[int, str]]], start: list[int]
) -> None:
    # SHELF is storage, DOCK stands for a quarantine location here
    rows = [
        StockFacts(1, SHELF[0], "", None, start[0], 0),
        StockFacts(1, DOCK[0], "", None, start[1], 0, quarantined=True),
    ]
    product = ProductFacts(1, "A", 0, on_hand=sum(start), reserved=0, quarantined=start[1])
    held = {SHELF[0]: start[0], DOCK[0]: start[1]}
    items = []
    for kind, n, _lot, location in ops:
        ref, code = ProductRef(sku=Sku("A")), LocationCode(location[1])
        items.append(_item(step_command(kind, ref, code, n), product=product, location=location))
    plan = plan_batch(items, [product], rows)
    for (kind, _n, _lot, location), outcome in zip(ops, plan.outcomes, strict=True):
        if kind == "pick" and location == DOCK:
            assert isinstance(outcome, QuarantinedStockError)
            continue
        if isinstance(outcome, InsufficientStockError):
            continue
        for row in _rows(outcome):
            held[row.location_id] += row.delta
            assert row.product_available == held[SHELF[0]]
            assert row.product_on_hand == held[SHELF[0]] + held[DOCK[0]]
            if row.location_id == DOCK[0]:
                assert row.location_available == 0
    assert plan.available.get(1, start[0]) == held[SHELF[0]]


def test_counts_and_moves_name_each_line_and_an_undo_none() -> None:
    ref, other = ProductRef(sku=Sku("A")), ProductRef(barcode="05012345678900")
    loc = LocationCode("SHELF")
    count = Envelope(IdempotencyKey("c"), Count(loc, (Line(ref, 1), Line(other, 2))))
    assert products_named(count) == ("A", "barcode 05012345678900")
    move = Envelope(IdempotencyKey("m"), Move(loc, LocationCode("CAGE"), (Line(ref, 1),)))
    assert products_named(move) == ("A",)
    assert products_named(Envelope(IdempotencyKey("u"), Undo(scanner=ScannerId("s")))) == ()
