"""Operators (the people behind the scans) and what their scans did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Operator", "OperatorActivity"]


@dataclass(frozen=True)
class Operator:
    code: str
    name: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class OperatorActivity:
    """What one operator's scans did over a period."""

    operator: str
    name: str | None
    movements: int
    units: int
