"""The operator signed in on one scanner, until they sign out or go idle.

An operator signs in with their badge (``USR:``) and is signed out after ``idle``
seconds without a scan. Pure: the caller passes the clock in.
"""

from __future__ import annotations

from stock_core.types import OperatorCode

__all__ = ["OperatorSlot"]


class OperatorSlot:
    """Who is signed in, when they last scanned, and whether scans need someone."""

    def __init__(self, idle: float, *, required: bool) -> None:
        if not idle > 0:
            raise ValueError(f"operator_idle must be more than 0 seconds, not {idle}")
        self.idle = idle
        self.required = required
        self.operator: OperatorCode | None = None
        self.last_scan: float | None = None

    @property
    def deadline(self) -> float | None:
        """When the operator is signed out for want of a scan, if one is signed in."""
        if self.operator is None or self.last_scan is None:
            return None
        return self.last_scan + self.idle

    @property
    def missing(self) -> bool:
        """Whether someone must be signed in and no one is."""
        return self.required and self.operator is None

    def tick(self, now: float) -> bool:
        """Sign the operator out when ``now`` is past :attr:`deadline`; say if it did."""
        deadline = self.deadline
        if deadline is None or now < deadline:
            return False
        self.operator = None
        return True
