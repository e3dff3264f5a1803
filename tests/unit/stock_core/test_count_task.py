"""Count tasks' pure rules: lines from counts, approval threshold, ABC classes."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from stock_core.domain.allocation import LotStock
from stock_core.domain.allocation import reconcile_count
from stock_core.domain.count_task import CountLine
from stock_core.domain.count_task import CountTaskLineView
from stock_core.domain.count_task import CountTaskView
from stock_core.domain.count_task import HeldRow
from stock_core.domain.count_task import abc_classes
from stock_core.domain.count_task import count_lines
from stock_core.domain.count_task import covers
from stock_core.domain.count_task import needs_approval


def test_a_product_held_and_not_counted_counts_as_zero() -> None:
    held = [HeldRow(1, "", 5), HeldRow(2, "", 3), HeldRow(3, "", 0)]
    lines = count_lines(held, {(1, ""): 4})
    assert lines == [CountLine(1, "", 5, 4, frozenset()), CountLine(2, "", 3, 0)]
    assert [line.variance for line in lines] == [-1, -3]


def test_named_lots_have_lines_and_a_plain_count_stands_for_the_other_lots() -> None:
    held = [HeldRow(1, "L1", 5), HeldRow(1, "L2", 2), HeldRow(1, "", 1)]
    lines = count_lines(held, {(1, "L1"): 5, (1, ""): 4})
    assert lines == [
        CountLine(1, "L1", 5, 5),
        CountLine(1, "", 3, 4, frozenset({"L1"})),
    ]
    assert covers(lines[1], "L2")
    assert covers(lines[1], "")
    assert not covers(lines[1], "L1")
    assert covers(lines[0], "L1")
    assert not covers(lines[0], "L2")


def test_lots_not_named_when_only_lots_were_counted_count_as_zero() -> None:
    held = [HeldRow(1, "L1", 5), HeldRow(1, "L2", 2), HeldRow(1, "", 1)]
    lines = count_lines(held, {(1, "L1"): 6, (1, "L9"): 1})
    assert lines == [
        CountLine(1, "L1", 5, 6),
        CountLine(1, "L9", 0, 1),
        CountLine(1, "", 1, 0),
        CountLine(1, "L2", 2, 0),
    ]
    assert covers(lines[2], "")
    assert not covers(lines[2], "L2")


def test_variance_beyond_the_threshold_waits() -> None:
    assert not needs_approval(CountLine(1, "", 100, 110), 10)
    assert needs_approval(CountLine(1, "", 100, 111), 10)
    assert needs_approval(CountLine(1, "", 100, 89), 10)
    assert not needs_approval(CountLine(1, "", 0, 0), 0)
    assert needs_approval(CountLine(1, "", 0, 1), 1000)
    assert not needs_approval(CountLine(1, "", 5, 5), 0)


def test_abc_classes_split_the_yearly_outbound_value_80_15_5() -> None:
    values = {1: Decimal(70), 2: Decimal(15), 3: Decimal(10), 4: Decimal(5), 5: Decimal(0)}
    assert abc_classes(values) == {1: "A", 2: "A", 3: "B", 4: "C", 5: "C"}
    assert abc_classes({1: Decimal(0)}) == {1: "C"}
    assert abc_classes({}) == {}


def test_a_workers_view_of_a_blind_task_hides_expected() -> None:
    line = CountTaskLineView("A-01", "W", "", 5, 4, -1, "counted")
    now = datetime(2031, 1, 1, tzinfo=UTC)
    task = CountTaskView(1, "open", True, {}, ("A-01",), ("A-01",), "m", now, lines=(line,))
    assert task.for_worker().lines[0] == CountTaskLineView(
        "A-01", "W", "", None, 4, None, "counted"
    )
    seen = CountTaskView(1, "open", False, {}, ("A-01",), (), "m", now, lines=(line,))
    assert seen.for_worker() is seen


_LOTS = st.sampled_from(["", "L1", "L2", "L3"])
_HELD = st.dictionaries(st.tuples(st.integers(1, 3), _LOTS), st.integers(0, 20), max_size=8)
_COUNTED = st.dictionaries(st.tuples(st.integers(1, 3), _LOTS), st.integers(0, 20), max_size=6)


@given(_HELD, _COUNTED)
def test_posting_every_line_leaves_the_counted_units_and_touches_each_row_once(
    held_map: dict[tuple[int, str], int], counted: dict[tuple[int, str], int]
) -> None:
    held = [HeldRow(p, lot, n) for (p, lot), n in held_map.items()]
    lines = count_lines(held, counted)
    stock = {key: n for key, n in held_map.items() if n > 0}
    for product, lot in stock:  # every row holding stock is on one line
        assert sum(covers(x, lot) for x in lines if x.product_id == product) == 1
    for line in lines:
        rows = [
            LotStock(lot, None, n, 0)
            for (p, lot), n in stock.items()
            if p == line.product_id and covers(line, lot)
        ]
        assert line.expected == sum(r.on_hand for r in rows)
        for change in reconcile_count(rows, {line.lot: line.counted}, "x"):
            stock[(line.product_id, change.lot)] = change.after
    for product in {p for p, _ in held_map} | {p for p, _ in counted}:
        total = sum(n for (p, _), n in stock.items() if p == product)
        assert total == sum(x.counted for x in lines if x.product_id == product)
    for (product, lot), n in counted.items():
        if lot:
            assert stock[(product, lot)] == n
