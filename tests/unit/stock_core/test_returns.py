"""Returns, scrap and quarantine: the reasons and the location types."""

from __future__ import annotations

import pytest

from stock_core.domain.returns import DEFAULT_REASONS
from stock_core.domain.returns import LocationType
from stock_core.domain.returns import check_reason
from stock_core.domain.returns import check_reason_list
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
