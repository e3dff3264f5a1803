"""Operators: badge codes and names."""

from __future__ import annotations

import pytest

from stock_core.domain.operator import check_operator
from stock_core.domain.operator import operator_code_problem


@pytest.mark.parametrize("code", ["ann", "W0042", "ann.b-7_x", "9" * 64])
def test_badge_codes_of_letters_digits_and_dot_dash_underscore_are_taken(code: str) -> None:
    assert operator_code_problem(code) is None
    assert check_operator(code, " Ann ") == (code, "Ann")


@pytest.mark.parametrize("code", ["", "-ann", "ann smith", "a" * 65, "ann\x07"])
def test_other_codes_are_refused_with_why(code: str) -> None:
    problem = operator_code_problem(code)
    assert problem is not None
    with pytest.raises(ValueError, match="operator code"):
        check_operator(code, "Ann")


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "tab\there"])
def test_a_name_is_1_to_200_printable_characters(name: str) -> None:
    with pytest.raises(ValueError, match="a name is 1 to 200"):
        check_operator("ann", name)
