"""The storefront's availability rule, the order queue's moved dates and the shop role."""

from __future__ import annotations

from datetime import date

import pytest

from stock_core.domain.availability import AvailabilityStatus
from stock_core.domain.availability import ProductSupply
from stock_core.domain.availability import availability
from stock_core.domain.orders import WaitingLine
from stock_core.domain.orders import moved_dates
from stock_core.domain.token import Role

MARCH, APRIL = date(2031, 3, 1), date(2031, 4, 1)


def _supply(available: int, waiting: list[int], allowed: bool = True) -> ProductSupply:
    return ProductSupply("SKU", available, 10, allowed, waiting, [(APRIL, 5), (MARCH, 3)])


@pytest.mark.parametrize(
    ("available", "status"),
    [(11, AvailabilityStatus.IN_STOCK), (10, AvailabilityStatus.LOW), (1, AvailabilityStatus.LOW)],
)
def test_free_stock_is_in_stock_above_the_reorder_point_and_low_at_or_below_it(
    available: int, status: AvailabilityStatus
) -> None:
    found = availability(_supply(available, []))
    assert (found.status, found.available, found.expected_date) == (status, available, None)


def test_no_stock_with_backorders_allowed_dates_the_next_unit_behind_the_queue() -> None:
    assert availability(_supply(0, [])).expected_date == MARCH
    assert availability(_supply(0, [2])).expected_date == MARCH
    found = availability(_supply(0, [3]))
    assert (found.status, found.expected_date) == (AvailabilityStatus.BACKORDER, APRIL)
    assert availability(_supply(0, [3, 5])).expected_date is None


def test_stock_with_a_queue_waiting_is_still_a_backorder() -> None:
    found = availability(_supply(4, [2]))
    assert (found.status, found.available) == (AvailabilityStatus.BACKORDER, 4)


def test_no_stock_and_backorders_refused_is_out_of_stock_with_the_restock_date() -> None:
    found = availability(_supply(-2, [], allowed=False))
    assert found.status == AvailabilityStatus.OUT_OF_STOCK
    assert (found.available, found.expected_date, found.backorder_allowed) == (0, MARCH, False)


def test_moved_dates_lists_lines_whose_date_is_not_the_one_announced() -> None:
    supply = [(MARCH, 3), (APRIL, 5)]
    lines = [WaitingLine(2, MARCH), WaitingLine(2, MARCH), WaitingLine(9, None)]
    assert moved_dates(lines, supply) == [(1, APRIL, True)]
    new = [WaitingLine(1, None, new=True), *lines]
    assert moved_dates(new, supply) == [(0, MARCH, False), (2, APRIL, True)]
    assert moved_dates([], supply) == []


def test_shop_stands_apart_from_the_role_ladder() -> None:
    assert all(role.allows(Role.SHOP) for role in Role)
    assert [r for r in Role if Role.SHOP.allows(r)] == [Role.SHOP]
    assert Role.ADMIN.allows(Role.DISPLAY)
    assert not Role.DISPLAY.allows(Role.WORKER)
    assert Role.SHOP.rank == -1
