"""Returns, scrap and quarantine: reasons and the figures of available stock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stock_core.domain.returns import DEFAULT_REASONS
from stock_core.domain.returns import LocationType
from stock_core.domain.returns import StockRow
from stock_core.domain.returns import available_units
from stock_core.domain.returns import check_reason
from stock_core.domain.returns import check_reason_list
from stock_core.domain.returns import figures
from stock_core.errors import UnknownReasonError
from stock_core.types import ReasonCode


def test_the_default_reasons_are_the_specs() -> None:
    assert DEFAULT_REASONS == (
        "damaged",
        "defective",
        "expired",
        "wrong_item",
        "unwanted",
        "lost",
    )


def test_location_types_are_storage_and_quarantine() -> None:
    assert [t.value for t in LocationType] == ["storage", "quarantine"]


def test_a_listed_reason_is_taken_in_any_case() -> None:
    assert check_reason(" Damaged ", DEFAULT_REASONS) == ReasonCode("damaged")


def test_an_unlisted_reason_is_refused_naming_the_list() -> None:
    with pytest.raises(UnknownReasonError) as caught:
        check_reason("stolen", DEFAULT_REASONS)
    assert caught.value.http_status == 422
    assert caught.value.problem_type == "unknown-reason"
    assert caught.value.to_dict()["allowed"] == list(DEFAULT_REASONS)
    assert "one of damaged, defective" in caught.value.reason


def test_a_configured_list_is_lower_cased() -> None:
    assert check_reason_list(["Stolen", "water_damage"]) == ("stolen", "water_damage")


@pytest.mark.parametrize(
    ("codes", "message"),
    [([], "at least one"), (["a b"], "not a reason code"), (["x", "X"], "listed twice")],
)
def test_a_bad_configured_list_is_a_value_error(codes: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_reason_list(codes)


def test_quarantined_rows_give_nothing_to_picks() -> None:
    assert available_units(StockRow(5, 0, quarantined=True)) == 0
    assert available_units(StockRow(5, 2, expired=True)) == 0
    assert available_units(StockRow(5, 2)) == 3


def test_figures_count_quarantined_units_apart_expired_ones_included() -> None:
    rows = [
        StockRow(10, 4),
        StockRow(3, 1, expired=True),
        StockRow(6, 0, quarantined=True),
        StockRow(2, 0, expired=True, quarantined=True),
    ]
    f = figures(rows)
    assert (f.on_hand, f.reserved, f.available, f.expired, f.quarantined) == (21, 5, 6, 2, 8)


_rows = st.lists(
    st.builds(
        lambda on_hand, share, expired, quarantined: StockRow(
            on_hand, 0 if quarantined else on_hand * share // 4, expired, quarantined
        ),
        st.integers(0, 1000),
        st.integers(0, 4),
        st.booleans(),
        st.booleans(),
    ),
    max_size=8,
)


@given(_rows)
def test_available_never_counts_quarantined_units(rows: list[StockRow]) -> None:
    f = figures(rows)
    storage = figures([r for r in rows if not r.quarantined])
    assert f.available == storage.available
    assert f.quarantined == sum(r.on_hand for r in rows if r.quarantined)
    assert f.on_hand == f.available + f.reserved + f.expired + f.quarantined
    assert f.available >= 0
