"""Alert rules: when low_stock and out_of_stock rise and clear (pure)."""

from __future__ import annotations

import pytest

from stock_core.domain.alerts import EXPIRED
from stock_core.domain.alerts import LOW_STOCK
from stock_core.domain.alerts import OUT_OF_STOCK
from stock_core.domain.alerts import AlertChange
from stock_core.domain.alerts import evaluate
from stock_core.domain.alerts import evaluate_expired
from stock_core.domain.alerts import margin


@pytest.mark.parametrize(
    ("reorder_point", "expected"), [(0, 1), (5, 1), (10, 1), (20, 2), (95, 10)]
)
def test_the_margin_is_a_tenth_of_the_reorder_point_and_at_least_one(
    reorder_point: int, expected: int
) -> None:
    assert margin(reorder_point) == expected


def test_nothing_in_stock_raises_out_of_stock_and_low_stock() -> None:
    assert evaluate(0, 10, set()) == AlertChange((OUT_OF_STOCK, LOW_STOCK), ())
    assert evaluate(0, 0, set()) == AlertChange((OUT_OF_STOCK,), ())
    assert not evaluate(0, 10, {OUT_OF_STOCK, LOW_STOCK})


def test_out_of_stock_clears_only_once_the_margin_is_back() -> None:
    assert not evaluate(1, 20, {OUT_OF_STOCK, LOW_STOCK})  # one unit in: no flap
    assert evaluate(2, 20, {OUT_OF_STOCK, LOW_STOCK}) == AlertChange((), (OUT_OF_STOCK,))


def test_without_a_reorder_point_out_of_stock_clears_with_the_first_unit() -> None:
    assert evaluate(1, 0, {OUT_OF_STOCK}) == AlertChange((), (OUT_OF_STOCK,))


def test_low_stock_rises_at_the_reorder_point_and_clears_past_the_margin() -> None:
    assert evaluate(10, 10, set()) == AlertChange((LOW_STOCK,), ())
    assert not evaluate(11, 10, {LOW_STOCK})
    assert evaluate(12, 10, {LOW_STOCK}) == AlertChange((), (LOW_STOCK,))
    assert not evaluate(11, 10, set())


def test_expired_rises_with_expired_units_and_clears_when_none_are_left() -> None:
    assert evaluate_expired(3, set()) == AlertChange((EXPIRED,), ())
    assert not evaluate_expired(3, {EXPIRED})
    assert evaluate_expired(0, {EXPIRED, LOW_STOCK}) == AlertChange((), (EXPIRED,))
    assert not evaluate_expired(0, {LOW_STOCK})
