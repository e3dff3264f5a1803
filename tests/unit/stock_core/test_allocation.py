"""FEFO allocation, count totals and count reconciliation (pure)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stock_core.domain.allocation import CountChange
from stock_core.domain.allocation import CountedLine
from stock_core.domain.allocation import CountTotal
from stock_core.domain.allocation import Draw
from stock_core.domain.allocation import LotStock
from stock_core.domain.allocation import Reservation
from stock_core.domain.allocation import ReservationTake
from stock_core.domain.allocation import allocate_fefo
from stock_core.domain.allocation import counted_by_product
from stock_core.domain.allocation import reconcile_count
from stock_core.domain.allocation import release_reserved
from stock_core.domain.allocation import take_reserved
from stock_core.domain.allocation import total_available
from stock_core.domain.allocation import total_counted
from stock_core.errors import CountBelowReservedError

JAN = date(2030, 1, 1)
FEB = date(2030, 2, 1)
MAR = date(2030, 3, 1)


def lot(name: str, expiry: date | None, on_hand: int, reserved: int = 0) -> LotStock:
    return LotStock(name, expiry, on_hand, reserved)


def test_available_is_on_hand_less_reserved() -> None:
    assert lot("L", None, 10, 3).available == 7


@pytest.mark.parametrize(
    ("lots", "expected"),
    [
        ([], 0),
        ([lot("A", None, 5)], 5),
        ([lot("A", None, 5, 2), lot("B", JAN, 4)], 7),
        ([lot("A", None, 1, 3), lot("B", JAN, 4)], 4),  # an over-reserved lot adds nothing
    ],
)
def test_total_available_never_counts_negative_lots(lots: list[LotStock], expected: int) -> None:
    assert total_available(lots) == expected


@pytest.mark.parametrize(
    ("lots", "quantity", "plan"),
    [
        ([lot("LATE", MAR, 5), lot("EARLY", JAN, 5)], 7, [("EARLY", 5), ("LATE", 2)]),
        ([lot("NONE", None, 9), lot("FEB", FEB, 2)], 3, [("FEB", 2), ("NONE", 1)]),
        ([lot("B", None, 2), lot("A", None, 2)], 3, [("A", 2), ("B", 1)]),  # then by lot
        ([lot("B", JAN, 2), lot("A", JAN, 2)], 2, [("A", 2)]),
        ([lot("EARLY", JAN, 4, 4), lot("LATE", FEB, 3)], 3, [("LATE", 3)]),  # all reserved
        ([lot("EARLY", JAN, 2, 5), lot("LATE", FEB, 3)], 3, [("LATE", 3)]),  # over-reserved
        ([lot("ONLY", JAN, 5)], 5, [("ONLY", 5)]),
        ([lot("A", JAN, 5), lot("B", FEB, 5)], 5, [("A", 5)]),  # stops when done
    ],
)
def test_allocate_fefo_takes_first_expiry_first(
    lots: list[LotStock], quantity: int, plan: list[tuple[str, int]]
) -> None:
    assert allocate_fefo(lots, quantity) == plan


@pytest.mark.parametrize(
    ("lots", "quantity"),
    [
        ([], 1),
        ([lot("A", JAN, 2), lot("B", None, 2)], 5),
        ([lot("A", JAN, 5, 1)], 5),
    ],
)
def test_allocate_fefo_gives_nothing_when_short(lots: list[LotStock], quantity: int) -> None:
    assert allocate_fefo(lots, quantity) == []


@pytest.mark.parametrize("quantity", [0, -1])
def test_allocate_fefo_refuses_non_positive_quantities(quantity: int) -> None:
    with pytest.raises(ValueError, match="quantity must be positive"):
        allocate_fefo([lot("A", None, 5)], quantity)


_lots = st.lists(
    st.builds(
        LotStock,
        lot=st.text(alphabet="ABCDEFGH", min_size=1, max_size=3),
        expiry=st.none() | st.dates(min_value=date(2025, 1, 1), max_value=date(2035, 1, 1)),
        on_hand=st.integers(min_value=0, max_value=50),
        reserved=st.integers(min_value=0, max_value=60),
    ),
    max_size=8,
    unique_by=lambda s: s.lot,
)


@given(_lots, st.integers(min_value=1, max_value=300))
def test_allocate_fefo_never_over_allocates_and_drains_earliest_first(
    lots: list[LotStock], quantity: int
) -> None:
    plan = allocate_fefo(lots, quantity)
    by_lot = {s.lot: s for s in lots}
    if total_available(lots) < quantity:
        assert plan == []
        return
    assert sum(units for _, units in plan) == quantity
    assert len({name for name, _ in plan}) == len(plan)
    for name, units in plan:
        assert 0 < units <= by_lot[name].available
    # Every lot that expires strictly before one we drew from was emptied first.
    order = [(s.expiry is None, s.expiry or date.min, s.lot) for s in lots]
    taken = dict(plan)
    key = dict(zip([s.lot for s in lots], order, strict=True))
    for name in taken:
        for other in lots:
            if key[other.lot] < key[name] and other.available > 0:
                assert taken.get(other.lot) == other.available
    # Only the last lot drawn may be partly used.
    for name, units in plan[:-1]:
        assert units == by_lot[name].available


def test_total_counted_adds_lines_per_product_and_lot_in_first_seen_order() -> None:
    lines = [
        CountedLine(2, "GADGET", "", 3),
        CountedLine(1, "WIDGET", "", 24),
        CountedLine(2, "GADGET", "", 1),
        CountedLine(1, "WIDGET", "L1", 5),
        CountedLine(1, "WIDGET", "", 3),
    ]
    assert list(total_counted(lines).items()) == [
        ((2, ""), ("GADGET", 4)),
        ((1, ""), ("WIDGET", 27)),
        ((1, "L1"), ("WIDGET", 5)),
    ]


def test_total_counted_of_nothing_is_empty() -> None:
    assert total_counted([]) == {}


def test_allocate_fefo_skips_lots_that_expired_before_today() -> None:
    lots = [lot("OLD", date(2026, 1, 1), 5), lot("TODAY", date(2026, 12, 7), 1), lot("N", None, 9)]
    today = date(2026, 12, 7)
    assert allocate_fefo(lots, 3, today) == [("TODAY", 1), ("N", 2)]
    assert total_available(lots, today) == 10
    assert allocate_fefo(lots, 3) == [("OLD", 3)]  # without a day, nothing is expired


LOTS = [lot("L1", date(2030, 1, 1), 5), lot("L2", date(2031, 1, 1), 3)]


def test_a_plain_count_in_a_lot_location_that_matches_changes_nothing() -> None:
    assert reconcile_count(LOTS, {"": 8}, "W at A") == [CountChange("", None, 0, 0)]


def test_a_plain_count_short_of_the_lots_takes_the_first_expiry_first() -> None:
    assert reconcile_count(LOTS, {"": 6}, "W at A") == [CountChange("L1", date(2030, 1, 1), 5, 3)]


def test_a_plain_count_over_the_lots_puts_the_surplus_in_the_blank_lot() -> None:
    assert reconcile_count(LOTS, {"": 10}, "W at A") == [CountChange("", None, 0, 2)]


def test_lots_not_scanned_when_lots_are_counted_are_gone() -> None:
    assert reconcile_count(LOTS, {"L2": 3}, "W at A") == [
        CountChange("L2", date(2031, 1, 1), 3, 3),
        CountChange("L1", date(2030, 1, 1), 5, 0),
    ]


def test_a_count_never_goes_below_what_is_reserved() -> None:
    held = [lot("L1", None, 5, reserved=4)]
    with pytest.raises(CountBelowReservedError, match="W at A lot L1 but 4 are reserved"):
        reconcile_count(held, {"L1": 3}, "W at A")
    with pytest.raises(CountBelowReservedError, match="counted 2 of W at A but 4"):
        reconcile_count(held, {"": 2}, "W at A")
    assert reconcile_count(held, {"": 4}, "W at A") == [CountChange("L1", None, 5, 4)]


@given(
    st.lists(st.tuples(st.sampled_from(["", "A", "B", "C"]), st.integers(0, 9)), max_size=4),
    st.dictionaries(st.sampled_from(["", "A", "B", "D"]), st.integers(0, 20), min_size=1),
)
def test_after_a_count_the_location_holds_what_was_counted(
    start: list[tuple[str, int]], counted: dict[str, int]
) -> None:
    held = dict(start)
    rows = [lot(name, None, n) for name, n in held.items()]
    after = dict(held)
    for change in reconcile_count(rows, counted, "W at A"):
        assert after.get(change.lot, 0) == change.before
        after[change.lot] = change.after
    assert sum(after.values()) == sum(counted.values())
    assert all(after[name] == n for name, n in counted.items() if name)
    assert all(n >= 0 for n in after.values())


def test_a_fefo_plan_is_made_of_draws() -> None:
    plan = allocate_fefo([lot("A", FEB, 3), lot("B", JAN, 2)], 4)
    assert plan == [Draw("B", 2), Draw("A", 2)]
    assert [(d.lot, d.units) for d in plan] == [("B", 2), ("A", 2)]


def test_counts_are_grouped_per_product_then_lot_in_scan_order() -> None:
    lines = [
        CountedLine(2, "B", "", 1),
        CountedLine(1, "A", "L2", 4),
        CountedLine(2, "B", "", 2),
        CountedLine(1, "A", "L1", 5),
    ]
    assert total_counted(lines)[(2, "")] == CountTotal("B", 3)
    grouped = counted_by_product(lines)
    assert grouped == {2: {"": 3}, 1: {"L2": 4, "L1": 5}}
    assert list(grouped) == [2, 1]
    assert list(grouped[1]) == ["L2", "L1"]


HELD = [
    Reservation(7, "L1", JAN, 3),  # at the pick location, first expiry first
    Reservation(7, "L2", FEB, 4),
    Reservation(9, "L1", JAN, 5),  # elsewhere
]


def test_a_pick_takes_what_is_held_where_it_picks() -> None:
    assert take_reserved(HELD, 7, None, 5) == [
        ReservationTake(7, "L1", JAN, 3),
        ReservationTake(7, "L2", FEB, 2),
    ]


def test_a_pick_of_a_lot_takes_only_that_lot_and_never_more_than_is_held() -> None:
    assert take_reserved(HELD, 7, "L2", 10) == [ReservationTake(7, "L2", FEB, 4)]
    assert take_reserved(HELD, 8, None, 2) == []


def test_picking_from_free_stock_lets_go_of_as_much_held_anywhere() -> None:
    assert release_reserved(HELD, 9) == [
        ReservationTake(7, "L1", JAN, 3),
        ReservationTake(7, "L2", FEB, 4),
        ReservationTake(9, "L1", JAN, 2),
    ]
    assert release_reserved(HELD, 0) == []
