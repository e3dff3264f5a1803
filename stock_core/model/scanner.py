"""Scanners and their gateways as last reported, and scans the spool could not post."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["GatewayState", "ScannerState", "ScannerView", "SpoolException"]


@dataclass(frozen=True)
class GatewayState:
    """What a gateway last said of itself: its spool (depth, bytes, age, replaying …)."""

    name: str
    spool: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True)
class ScannerState:
    """What a gateway says of one scanner (stored, and sent as ``scanner.status``)."""

    id: str
    gateway: str
    url: str
    state: str
    detail: str
    mode: str | None
    location: str | None
    last_scan_at: datetime | None
    last_code: str | None
    counters: dict[str, int]
    operator: str | None = None


@dataclass(frozen=True)
class ScannerView:
    """A scanner's state as the API shows it: stored or live, and when it was stored."""

    state: ScannerState
    updated_at: datetime | None
    live: bool = False


@dataclass(frozen=True)
class SpoolException:
    """A spooled scan the ledger refused on replay, kept for a person to resolve."""

    id: int
    key: str
    scanner: str | None
    scan_seq: int | None
    command: dict[str, Any]
    problem_type: str
    reason: str
    spooled_at: datetime | None
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None
