"""A scanner on a pty driven from the event loop, no thread: the load generator for
gateway benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import tty
from collections import deque
from pathlib import Path

import repo  # noqa: F401  (first: puts the repository on sys.path)

from hardware_mocks.feedback import Feedback
from hardware_mocks.feedback import FeedbackParser
from hardware_mocks.frames import HONEYWELL
from hardware_mocks.frames import ScannerModel

__all__ = ["LoopPty"]


class LoopPty:
    """A scanner on a real pseudo-terminal at ``path`` (a symlink to ``/dev/pts/N``).

    :meth:`send` writes one framed scan (non-blocking; one frame always fits in the
    pty buffer) and returns the time its last byte was written; :meth:`scan` also
    waits for the gateway's ack or nak. Feedback is read by ``add_reader`` on the
    master, so no thread is involved; ``answers`` holds each answer's kind and time.
    """

    def __init__(self, path: Path, model: ScannerModel = HONEYWELL) -> None:
        self.path = path
        self.model = model
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.device = os.ttyname(self.slave)
        tmp = path.with_name(f".{path.name}.new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(self.device)
        tmp.replace(path)
        self._parser = FeedbackParser(model.ack, model.nak)
        self._waiters: deque[asyncio.Future[tuple[Feedback, float]]] = deque()
        self.answers: list[tuple[Feedback, float]] = []
        self.sent = 0
        self.acks = 0
        self.naks = 0
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._loop.remove_reader(self.master)
            return
        now = time.perf_counter()
        self._parser.receive_bytes(data)
        for kind in self._parser.events_received():
            if kind is Feedback.ACK:
                self.acks += 1
            else:
                self.naks += 1
            self.answers.append((kind, now))
            if self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result((kind, now))

    def send(self, data: bytes) -> float:
        written = os.write(self.master, data)
        if written != len(data):  # pragma: no cover - a frame always fits
            raise RuntimeError(f"{self.path}: pty buffer full")
        self.sent += 1
        return time.perf_counter()

    def frame(self, text: str) -> bytes:
        return self.model.frame(text)

    @property
    def in_flight(self) -> int:
        """Scans sent and not answered yet."""
        return len(self._waiters)

    def submit(self, data: bytes) -> asyncio.Future[tuple[Feedback, float]]:
        """Send without waiting: a future for the (kind, answered at) of this scan.

        Answers come in the order scans were sent (one port, one scan at a time), so
        several may be outstanding (pipelining, an open loop); keep their number
        small enough that the frames fit the pty's buffer (a few KiB).
        """
        waiter: asyncio.Future[tuple[Feedback, float]] = self._loop.create_future()
        self._waiters.append(waiter)
        try:
            self.send(data)
        except BaseException:
            self._waiters.remove(waiter)
            raise
        return waiter

    async def scan(self, data: bytes, timeout: float = 10.0) -> tuple[Feedback, float, float]:  # noqa: ASYNC109
        """Send and wait for the answer: (kind, sent at, answered at)."""
        waiter: asyncio.Future[tuple[Feedback, float]] = self._loop.create_future()
        self._waiters.append(waiter)
        sent_at = self.send(data)
        try:
            kind, answered_at = await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            raise
        return kind, sent_at, answered_at

    async def answered_scan(self, data: bytes, attempts: int = 20, each: float = 1.0) -> None:
        """Scan until one is answered (frames sent before the port is open are lost)."""
        for _ in range(attempts):
            with contextlib.suppress(TimeoutError):
                await self.scan(data, timeout=each)
                return
        raise TimeoutError(f"{self.path}: no answer to {attempts} scans")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._loop.remove_reader(self.master)
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            if self.path.is_symlink() and os.readlink(self.path) == self.device:
                self.path.unlink()
