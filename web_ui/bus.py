"""The in-process event bus: one publisher (the relay), bounded queues per subscriber.

Publishing never waits. A subscriber whose queue is full is marked ``overflowed``
and its queue emptied: its writer then sends a fresh snapshot instead of the backlog,
so one slow display never holds back the relay, the gateway or other displays
(websockets' broadcast topic, "per-client queues").

When the relay finds that a failover lost events it had published (:meth:`EventBus.fork`),
every subscriber is marked the same way, with its own reason: the events it was sent
above the common point no longer exist, and others took their seq values.
"""

from __future__ import annotations

import asyncio
from collections import deque

from stock_core.model import FeedEvent

__all__ = ["EventBus", "Subscription"]


FELL_BEHIND = "fell behind"
HISTORY_CHANGED = "the feed's history changed (a failover lost events)"
"""Why a subscriber is sent a snapshot instead of its backlog."""


class Subscription:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.queue: deque[FeedEvent] = deque()
        self.overflowed = False
        self.reason = FELL_BEHIND
        """Why it overflowed: :data:`FELL_BEHIND` or :data:`HISTORY_CHANGED`."""
        self._ready = asyncio.Event()

    def offer(self, event: FeedEvent) -> None:
        if len(self.queue) >= self.limit:
            self.resync(FELL_BEHIND)
        else:
            self.queue.append(event)
            self._ready.set()

    def resync(self, reason: str) -> None:
        """Drop the backlog: the subscriber is to be sent a snapshot."""
        self.queue.clear()
        if not self.overflowed or reason == HISTORY_CHANGED:
            self.reason = reason
        self.overflowed = True
        self._ready.set()

    async def wait(self) -> None:
        """Wait until there is something to send (events or an overflow)."""
        while not self.queue and not self.overflowed:
            self._ready.clear()
            await self._ready.wait()

    def drain(self) -> list[FeedEvent]:
        events = list(self.queue)
        self.queue.clear()
        return events


class EventBus:
    def __init__(self) -> None:
        self.subscribers: set[Subscription] = set()
        self.last_seq = 0
        self.published = 0
        self.forks: list[tuple[int, int]] = []
        """``(common, published)`` of each lost history: seqs above ``common`` up to
        ``published`` named events that no longer exist."""

    def publish(self, event: FeedEvent) -> None:
        self.last_seq = event.seq
        self.published += 1
        for subscriber in self.subscribers:
            subscriber.offer(event)

    def fork(self, common: int, published: int) -> None:
        """Events ``common + 1`` … ``published`` were lost: everyone gets a snapshot."""
        self.forks.append((common, published))
        self.last_seq = common
        for subscriber in self.subscribers:
            subscriber.resync(HISTORY_CHANGED)

    def voided(self, since: int) -> bool:
        """Whether a display that saw events up to ``since`` saw lost ones."""
        return any(common < since <= published for common, published in self.forks)

    def subscribe(self, limit: int) -> Subscription:
        subscription = Subscription(limit)
        self.subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscribers.discard(subscription)
