"""The product codes a scanner session accepted lately, for its same-code delay.

With a delay above 0, the same code and lot within that many seconds of its last
accepted scan is a double read, not a new scan. Pure: the caller passes the clock in.
"""

from __future__ import annotations

__all__ = ["CodeKey", "RecentCodes"]

CodeKey = tuple[str, str | None]
"""A scanned product code and its lot."""


class RecentCodes:
    """When each code and lot was last accepted, kept for ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        if not delay >= 0:
            raise ValueError(f"same_code_delay must be 0 or more seconds, not {delay}")
        self.delay = delay
        self._seen: dict[CodeKey, float] = {}

    def too_soon(self, key: CodeKey, now: float) -> bool:
        """Whether ``key`` was accepted less than ``delay`` seconds before ``now``."""
        if self.delay <= 0:
            return False
        self._seen = {k: t for k, t in self._seen.items() if 0 <= now - t < self.delay}
        return key in self._seen

    def stamp(self, key: CodeKey, now: float) -> None:
        """Note that ``key`` was accepted at ``now``."""
        if self.delay > 0:
            self._seen[key] = now
