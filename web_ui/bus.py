"""The in-process event bus: one publisher (the relay), bounded queues per subscriber.

Publishing never waits. A subscriber whose queue is full is marked ``overflowed``
and its queue emptied: its writer then sends a fresh snapshot instead of the backlog,
so one slow display never holds back the relay, the gateway or other displays
(websockets' broadcast topic, "per-client queues").
"""

from __future__ import annotations

import asyncio
from collections import deque

from stock_core.model import FeedEvent

__all__ = ["EventBus", "Subscription"]


class Subscription:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.queue: deque[FeedEvent] = deque()
        self.overflowed = False
        self._ready = asyncio.Event()

    def offer(self, event: FeedEvent) -> None:
        if len(self.queue) >= self.limit:
            self.queue.clear()
            self.overflowed = True
        else:
            self.queue.append(event)
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

    def publish(self, event: FeedEvent) -> None:
        self.last_seq = event.seq
        self.published += 1
        for subscriber in self.subscribers:
            subscriber.offer(event)

    def subscribe(self, limit: int) -> Subscription:
        subscription = Subscription(limit)
        self.subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscribers.discard(subscription)
