"""Operators: the workers who scan, known by their badge code (``USR:<code>``).

Rules:

* a code is 1 to 64 letters, digits, ``.``, ``_`` or ``-``, starting with a letter or
  a digit (what a badge label can carry); codes are case-sensitive, as location codes;
* a name is 1 to 200 printable characters;
* a scanner's operator is signed in by a badge scan of a known code and signed out by
  ``CMD:LOGOUT``, another badge, or ``operator_idle_minutes`` without a scan
  (:data:`DEFAULT_IDLE_MINUTES`); see :mod:`scanner_gateway.session`;
* every movement records the operator signed in when it was scanned (``None`` where
  none was); API writes may name one, and it must be known.
"""

from __future__ import annotations

import re
from typing import Final

from stock_core.types import OperatorCode

__all__ = ["DEFAULT_IDLE_MINUTES", "check_operator", "operator_code_problem"]

DEFAULT_IDLE_MINUTES: Final = 30.0
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def operator_code_problem(code: str) -> str | None:
    """Why ``code`` cannot be a badge code, or ``None`` when it can."""
    if not code:
        return "an operator code is not empty"
    if _CODE.fullmatch(code) is None:
        return f"{code[:20]!r} is not an operator code (1-64 of A-Z a-z 0-9 . _ -)"
    return None


def check_operator(code: str, name: str) -> tuple[OperatorCode, str]:
    """A code and name fit to keep; raises :class:`ValueError` saying what is wrong."""
    problem = operator_code_problem(code)
    if problem is not None:
        raise ValueError(problem)
    name = name.strip()
    if not 1 <= len(name) <= 200 or not name.isprintable():
        raise ValueError(f"operator {code}: a name is 1 to 200 printable characters")
    return OperatorCode(code), name
