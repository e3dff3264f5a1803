"""The gateway's writer of everything that changes no stock: rejection and link
events, scanner states and the gateway's own state, batched into the outbox.

Stock changes are written with their own transaction (the committer); this is the
rest, which may wait a moment and be written together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from scanner_gateway.committer import is_unavailable
from stock_core.model import ScannerState
from stock_core.service import StockService

__all__ = ["EventSink"]

log = logging.getLogger("scanner_gateway.gateway")  # the name it was logged under

_EVENT_BUFFER = 10_000
_FLUSH_INTERVAL = 0.05
_STATE_INTERVAL = 1.0
"""Scanner states (counters, last scan) are written at most this often."""
_WRITE_DEADLINE = 3.0
"""Seconds each write of events and states may take, connecting included."""


class EventSink:
    """Buffers events that change no stock and writes them to the outbox in batches.

    One flush at a time (the background task, :meth:`Gateway.stop` and callers may
    all ask): two concurrent flushes would write the same events twice. Each event
    carries a number, so exactly the events written are dropped afterwards, even if
    the bounded buffer shed its oldest entries meanwhile. With an :attr:`origin` (the
    spool's identity and epoch, set once the gateway has claimed them) the number is
    written with the event, so a write retried after its answer was lost (the commit
    went through as the deadline dropped the connection) does not show it twice.

    Scanner states (counters, last scan) are written at most once per
    ``_STATE_INTERVAL``: a scanner that changed is marked, and its snapshot is taken
    when it is written, not on every scan. The gateway's own state (its spool) is
    looked at every interval and written when it changed.
    """

    def __init__(
        self, service: StockService, gateway: str, spool_state: Callable[[], dict[str, Any]]
    ) -> None:
        self.service = service
        self.gateway = gateway
        self.spool_state = spool_state
        self._spool_written: dict[str, Any] | None = None
        self.events: deque[tuple[int, str, dict[str, Any], str | None]] = deque(
            maxlen=_EVENT_BUFFER
        )
        self.changed: dict[str, Callable[[], ScannerState]] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._numbered = 0
        self.origin = ""
        """``<spool identity>:<epoch>``: unique to this run of this gateway."""
        self._states_written = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def publish(self, type_: str, payload: dict[str, Any]) -> None:
        self._numbered += 1
        origin = f"{self.origin}:{self._numbered}" if self.origin else None
        self.events.append((self._numbered, type_, payload, origin))
        self._wake.set()

    def mark_changed(self, scanner: str, snapshot: Callable[[], ScannerState]) -> None:
        """The scanner's state changed; ``snapshot`` reads it when it is written."""
        self.changed[scanner] = snapshot
        self._arm()

    def _arm(self) -> None:
        """Wake the writer when the marked states are due."""
        if self.changed and self._timer is None:
            delay = max(self._states_written + _STATE_INTERVAL - time.monotonic(), 0.0)
            self._timer = asyncio.get_running_loop().call_later(delay, self._states_due)

    def _states_due(self) -> None:
        self._timer = None
        self._wake.set()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def run(self) -> None:
        while True:
            # at least once per interval: the spool's state changes by itself
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_STATE_INTERVAL):
                    await self._wake.wait()
            self._wake.clear()
            await self.flush()
            await asyncio.sleep(_FLUSH_INTERVAL)

    async def flush(self, *, all_states: bool = False) -> None:
        async with self._lock:
            await self._flush(all_states)

    async def _flush(self, all_states: bool) -> None:
        batch = list(self.events)
        due = all_states or time.monotonic() - self._states_written >= _STATE_INTERVAL
        marked = dict(self.changed) if due else {}
        spool = self.spool_state() if due else None
        if spool is not None and spool == self._spool_written:
            spool = None  # unchanged since it was last written
        if not batch and not marked and spool is None:
            return
        states = [snapshot() for snapshot in marked.values()]
        try:
            # Each write is bounded by dropping its connection (never a wait on a hung
            # server); the outer timeout is only a backstop.
            async with asyncio.timeout(_WRITE_DEADLINE * 3 + 1.0):
                if states:
                    await self.service.save_scanner_states(states, deadline=_WRITE_DEADLINE)
                if spool is not None:
                    await self.service.save_gateway_state(
                        self.gateway, spool, deadline=_WRITE_DEADLINE
                    )
                await self.service.append_events(
                    [(t, p) for _, t, p, _ in batch],
                    origins=[o for *_, o in batch],
                    deadline=_WRITE_DEADLINE,
                )
        except Exception as exc:
            if is_unavailable(exc):
                await asyncio.sleep(0.5)
                self._wake.set()  # keep them; try again
                return
            # Not an outage: retrying the same batch would wedge every later event.
            log.exception("dropping %d event(s) the outbox refused", len(batch))
        if batch:
            last = batch[-1][0]
            while self.events and self.events[0][0] <= last:
                self.events.popleft()
        if spool is not None:
            self._spool_written = spool
        if marked or spool is not None:
            self._states_written = time.monotonic()
            for scanner, snapshot in marked.items():
                if self.changed.get(scanner) is snapshot:
                    del self.changed[scanner]
        self._arm()  # states marked while these were written
