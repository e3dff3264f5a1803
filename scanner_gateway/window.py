"""What the gateway committed lately, kept to be posted again after a failover.

With asynchronous replication a standby may be promoted without the last commits of
the old primary: scans the workers heard ``ack`` for are then missing. The gateway
keeps every envelope that committed for ``seconds`` (``[gateway] replay_window_s``);
when it finds the database on a new timeline or another system
(:mod:`stock_core.domain.lineage`), it posts that window again, oldest first, before
anything newer. Idempotency keys make it exact: a scan that reached the new primary
answers with its first outcome and changes nothing; one that did not is applied.

Pure: the caller passes the clock in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from stock_core.domain.movement import Envelope

__all__ = ["RecentWindow"]


class RecentWindow:
    """Envelopes committed in the last ``seconds``, in commit order."""

    def __init__(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a replay window cannot be negative")
        self.seconds = seconds
        self._items: deque[tuple[float, Envelope]] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def receive_committed(self, envelopes: Iterable[Envelope], now: float) -> None:
        """``envelopes`` committed at ``now`` (a monotonic clock)."""
        if self.seconds == 0:
            return
        self._items.extend((now, e) for e in envelopes)
        self._prune(now)

    def _prune(self, now: float) -> None:
        horizon = now - self.seconds
        while self._items and self._items[0][0] < horizon:
            self._items.popleft()

    def envelopes(self, now: float) -> list[Envelope]:
        """What committed within the window before ``now``, oldest first (kept)."""
        self._prune(now)
        seen: set[str] = set()
        out = []
        for _, envelope in self._items:
            if envelope.key not in seen:  # a scan replayed twice is posted once
                seen.add(envelope.key)
                out.append(envelope)
        return out
