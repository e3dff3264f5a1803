"""The lineage rules: which server a writer may write on after a failover."""

from __future__ import annotations

import pytest

from stock_core.domain.lineage import Lineage
from stock_core.domain.lineage import LineageVerdict
from stock_core.domain.lineage import judge
from stock_core.domain.lineage import lineage_from_text
from stock_core.domain.lineage import lineage_to_text

SYSTEM = 7716565948805500097


def test_the_first_server_seen_is_taken() -> None:
    assert judge(None, Lineage(SYSTEM, 1)) is LineageVerdict.SAME


def test_the_same_lineage_goes_on() -> None:
    assert judge(Lineage(SYSTEM, 3), Lineage(SYSTEM, 3)) is LineageVerdict.SAME


def test_a_later_timeline_is_a_failover() -> None:
    assert judge(Lineage(SYSTEM, 1), Lineage(SYSTEM, 2)) is LineageVerdict.NEWER


def test_an_old_primary_on_an_earlier_timeline_is_behind() -> None:
    assert judge(Lineage(SYSTEM, 2), Lineage(SYSTEM, 1)) is LineageVerdict.BEHIND


def test_another_system_is_taken_whatever_its_timeline() -> None:
    assert judge(Lineage(SYSTEM, 5), Lineage(SYSTEM + 1, 1)) is LineageVerdict.OTHER_SYSTEM


def test_a_lineage_survives_its_text_form() -> None:
    lineage = Lineage(SYSTEM, 4)
    text = lineage_to_text(lineage)
    assert text.endswith("\n")
    assert str(SYSTEM) in text
    assert lineage_from_text(text) == lineage
    assert str(lineage) == f"system {SYSTEM} timeline 4"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"system_id": "x", "timeline": 1}',
        '{"system_id": "1"}',
        '{"system_id": "-1", "timeline": 1}',
        '{"system_id": "1", "timeline": 0}',
    ],
)
def test_a_damaged_lineage_file_reads_as_unknown(text: str) -> None:
    assert lineage_from_text(text) is None
