"""A thread-safe feedback log that both threads and asyncio tasks can wait on.

Fed by a pty reader thread or by an asyncio protocol; read by test code in either
world. Locks are taken by spinning on a non-blocking acquire: critical sections are
a few microseconds long, and an event loop thread must never block on a lock
(blockbuster flags a contended blocking acquire).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass

from hardware_mocks.feedback import FeedbackCounts
from hardware_mocks.feedback import FeedbackParser

__all__ = ["FeedbackLog", "held"]


@contextlib.contextmanager
def held(lock: threading.Lock) -> Iterator[None]:
    """Hold ``lock`` without ever making a blocking acquire."""
    while not lock.acquire(blocking=False):
        os.sched_yield()
    try:
        yield
    finally:
        lock.release()


_Predicate = Callable[[FeedbackCounts, int], bool]


@dataclass(eq=False)
class _Waiter:
    predicate: _Predicate
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[FeedbackCounts]


def _resolve(future: asyncio.Future[FeedbackCounts], counts: FeedbackCounts) -> None:
    if not future.done():
        future.set_result(counts)


class FeedbackLog:
    """All feedback bytes one simulated scanner received, parsed and waitable."""

    def __init__(self, ack: bytes | None, nak: bytes | None) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._parser = FeedbackParser(ack, nak)
        self._unread = bytearray()
        self._waiters: list[_Waiter] = []

    @property
    def counts(self) -> FeedbackCounts:
        with held(self._lock):
            return self._parser.counts

    def receive_bytes(self, data: bytes) -> None:
        with held(self._lock):
            self._parser.receive_bytes(data)
            self._unread += data
            self._changed.notify_all()
            ready = self._take_ready_locked()
        self._wake(ready)

    def receive_eof(self) -> None:
        with held(self._lock):
            self._parser.receive_eof()
            self._changed.notify_all()
            ready = self._take_ready_locked()
        self._wake(ready)

    def read_blocking(self, timeout: float) -> bytes:
        """Bytes not read before, waiting up to ``timeout`` seconds for at least one."""
        with held(self._lock):
            if not self._unread and timeout > 0:
                self._changed.wait_for(lambda: bool(self._unread), timeout)
            return self._drain_locked()

    def wait_blocking(self, count: int, timeout: float) -> FeedbackCounts:
        """Block until ``count`` acks+naks in total were seen; ``TimeoutError`` if not."""
        with held(self._lock):
            if not self._changed.wait_for(lambda: self._parser.counts.events >= count, timeout):
                raise TimeoutError(
                    f"expected {count} acks+naks within {timeout}s, saw {self._parser.counts}"
                )
            return self._parser.counts

    async def read(self) -> bytes:
        """Async :meth:`read_blocking` without a timeout: wrap it in ``asyncio.timeout``."""
        await self._wait_until(lambda _counts, unread: unread > 0)
        with held(self._lock):
            return self._drain_locked()

    async def wait(self, count: int) -> FeedbackCounts:
        """Async :meth:`wait_blocking` without a timeout: wrap it in ``asyncio.timeout``."""
        return await self._wait_until(lambda counts, _: counts.events >= count)

    async def read_within(self, seconds: float) -> bytes:
        """:meth:`read`, or ``b""`` when nothing arrives within ``seconds`` seconds."""
        try:
            async with asyncio.timeout(seconds):
                return await self.read()
        except TimeoutError:
            return b""

    async def wait_within(self, count: int, seconds: float) -> FeedbackCounts:
        """:meth:`wait`, raising ``TimeoutError`` naming what was seen after ``seconds`` s."""
        try:
            async with asyncio.timeout(seconds):
                return await self.wait(count)
        except TimeoutError as exc:
            raise TimeoutError(
                f"expected {count} acks+naks within {seconds}s, saw {self.counts}"
            ) from exc

    async def _wait_until(self, predicate: _Predicate) -> FeedbackCounts:
        loop = asyncio.get_running_loop()
        waiter = _Waiter(predicate, loop, loop.create_future())
        with held(self._lock):
            counts = self._parser.counts
            if predicate(counts, len(self._unread)):
                return counts
            self._waiters.append(waiter)
        try:
            return await waiter.future
        finally:
            with held(self._lock), contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def _drain_locked(self) -> bytes:
        data = bytes(self._unread)
        self._unread.clear()
        return data

    def _take_ready_locked(self) -> list[tuple[_Waiter, FeedbackCounts]]:
        counts = self._parser.counts
        unread = len(self._unread)
        ready = [(w, counts) for w in self._waiters if w.predicate(counts, unread)]
        for waiter, _ in ready:
            self._waiters.remove(waiter)
        return ready

    @staticmethod
    def _wake(ready: list[tuple[_Waiter, FeedbackCounts]]) -> None:
        for waiter, counts in ready:
            # The waiter's loop may be gone (its test ended): nothing to wake then.
            with contextlib.suppress(RuntimeError):
                waiter.loop.call_soon_threadsafe(_resolve, waiter.future, counts)
