"""Which ledger rows to list or export (the rows are ``domain.movement.MovementRecord``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["MovementFilter"]


@dataclass(frozen=True)
class MovementFilter:
    sku: str | None = None
    location: str | None = None
    kind: str | None = None
    scanner: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    operator: str | None = None
    warehouse: str | None = None
