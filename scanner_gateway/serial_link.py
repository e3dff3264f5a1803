"""The serial shell for one scanner: open, read, write feedback, pause, reconnect.

Ports are opened with ``serial.serial_for_url`` (device paths, ``socket://`` and
``rfc2217://`` device servers). How bytes move depends on what pyserial opened:

* **A descriptor** (a device path or pty, a ``socket://`` device server): the port is
  read on the event loop. ``loop.add_reader`` calls back when it is readable, and each
  callback does one non-blocking read of at most 4096 bytes, so every ready port gets
  its turn in each loop iteration and a flooding port cannot starve the others.
  Feedback is written straight to the descriptor; what the OS does not take at once is
  kept, in order, and finished with ``loop.add_writer``.
* **No usable descriptor** (``rfc2217://``, whose Telnet framing only pyserial's own
  ``read`` understands; ``loop://``; pyserial's wrappers such as ``spy://``): one
  reader thread per port hands bytes to the loop with ``call_soon_threadsafe``, with at
  most two chunks waiting there, and feedback is written in an executor.

Backpressure: :meth:`SerialLink.pause_reading` stops reading the port (the bytes wait
in the OS and serial buffers, in order) until :meth:`SerialLink.resume_reading`. Time
passed to ``on_bytes`` is *line time* (:class:`LineClock`): it stands still while
reading is paused, so bytes that waited in a buffer do not look like an idle gap.

This module parses nothing and decides nothing: it moves bytes and reports state.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import errno
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import KW_ONLY
from dataclasses import InitVar
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Protocol
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import serial
from serial import serialposix
from serial.urlhandler import protocol_socket

from scanner_gateway.config import ScannerConfig

__all__ = ["LineClock", "LinkState", "SerialLink"]

log = logging.getLogger(__name__)

_READ_TIMEOUT = 0.05
_FIRST_BACKOFF = 0.1
_READ_MAX = 4096
_IN_FLIGHT = 2
"""Chunks a reader thread may have waiting on the loop; it waits for the rest."""
_WRITE_TIMEOUT = 1.0
"""How long one feedback write may wait for the port to take it (pyserial's
``write_timeout`` before)."""
_WRITE_BUFFER_MAX = 4096
"""Feedback bytes kept for a port that takes none; past this, new feedback is refused."""


class LinkState(enum.Enum):
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    MISCONFIGURED = "misconfigured"
    STOPPED = "stopped"


_PARITY = {
    "N": serial.PARITY_NONE,
    "E": serial.PARITY_EVEN,
    "O": serial.PARITY_ODD,
    "M": serial.PARITY_MARK,
    "S": serial.PARITY_SPACE,
}


# Query options pyserial's device-server handlers accept.
_NETWORK_OPTIONS = {
    "socket": frozenset({"logging"}),
    "rfc2217": frozenset({"logging", "ign_set_control", "poll_modem", "timeout"}),
}

# Backends whose descriptor carries the scanner's bytes as they are, so reading and
# writing it directly is what their own read() and write() would do, without blocking.
_DESCRIPTOR_BACKENDS: tuple[type[serial.SerialBase], ...] = (
    serialposix.Serial,
    protocol_socket.Serial,
)


def _check_url(url: str) -> None:
    """``ValueError`` for a device-server URL that can never work.

    pyserial only parses ``socket://`` and ``rfc2217://`` URLs when it opens them,
    and reports a bad one as a ``SerialException`` (with a garbled message), exactly
    as it reports an unreachable server: the scanner would show ``reconnecting``
    forever instead of ``misconfigured``.
    """
    parts = urlsplit(url)
    options = _NETWORK_OPTIONS.get(parts.scheme)
    if options is None:
        return
    form = f"{parts.scheme}://<host>:<port>"
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{url}: expected {form} ({exc})") from None
    if not parts.hostname or not port:
        raise ValueError(f"{url}: expected {form}")
    unknown = set(parse_qs(parts.query, keep_blank_values=True)) - options
    if unknown:
        raise ValueError(f"{url}: unknown option(s) {', '.join(sorted(unknown))}")


def _open_port(config: ScannerConfig) -> serial.SerialBase:
    _check_url(config.url)
    port = serial.serial_for_url(
        config.url,
        do_not_open=True,
        baudrate=config.baudrate,
        bytesize=config.bytesize,
        parity=_PARITY[config.parity],
        stopbits=config.stopbits,
        timeout=_READ_TIMEOUT,
        write_timeout=_WRITE_TIMEOUT,
        xonxoff=False,
        rtscts=False,
    )
    port.open()
    return port


def _descriptor(port: serial.SerialBase) -> int | None:
    """The open port's non-blocking descriptor to use on the loop, else ``None``."""
    for backend in _DESCRIPTOR_BACKENDS:
        kind = type(port)
        if isinstance(port, backend) and (kind.read, kind.write) == (backend.read, backend.write):
            return port.fileno()
    return None


class LineClock:
    """Line time: a monotonic clock that stands still while reading is paused.

    The framer's idle gap ends a frame after a silence on the line. While the shell is
    not reading, the line is not silent, only unheard: the bytes wait in a buffer. So
    the shell gives the framer this clock instead of the wall clock. Pure: the clock
    it reads is passed in.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._paused_at: float | None = None
        self._paused_for = 0.0

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def now(self) -> float:
        """Seconds of listening: the clock minus every interval spent paused."""
        at = self._clock() if self._paused_at is None else self._paused_at
        return at - self._paused_for

    def pause(self) -> None:
        """Stop the clock (idempotent)."""
        if self._paused_at is None:
            self._paused_at = self._clock()

    def resume(self) -> None:
        """Start it again from where it stopped (idempotent)."""
        if self._paused_at is not None:
            self._paused_for += self._clock() - self._paused_at
            self._paused_at = None


class _Transport(Protocol):
    """One open port: reads into ``on_bytes`` until ``lost`` is resolved."""

    def start(self, *, paused: bool) -> None: ...
    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    def send(self, data: bytes) -> asyncio.Future[None] | None:
        """Start writing ``data`` after what was sent before; ``None`` once the OS has
        it all, else a future that is done when it has."""

    async def close(self) -> None: ...


@dataclass(frozen=True)
class _OpenPort:
    """An open port and what its transport answers to."""

    port: serial.SerialBase
    loop: asyncio.AbstractEventLoop
    lost: asyncio.Future[str]
    """Resolved with the reason once the port is lost."""
    on_bytes: Callable[[bytes], None]
    executor: Executor
    """For pyserial's blocking calls."""


class _PortTransport:
    """What both transports start from."""

    def __init__(self, opened: _OpenPort) -> None:
        self._port = opened.port
        self._loop = opened.loop
        self._lost = opened.lost
        self._on_bytes = opened.on_bytes
        self._executor = opened.executor


class _DescriptorTransport(_PortTransport):
    """Reads and writes a non-blocking descriptor on the event loop."""

    def __init__(self, opened: _OpenPort, fd: int) -> None:
        super().__init__(opened)
        self._fd = fd
        self._reading = False
        self._out = bytearray()
        self._accepted = 0  # feedback bytes taken by send(), ever
        self._written = 0  # of them, bytes the OS took or that were given up
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    def start(self, *, paused: bool) -> None:
        if not paused:
            self.resume_reading()

    def pause_reading(self) -> None:
        if self._reading:
            self._loop.remove_reader(self._fd)
            self._reading = False

    def resume_reading(self) -> None:
        if not self._reading and not self._lost.done():
            self._loop.add_reader(self._fd, self._on_readable)
            self._reading = True

    def _on_readable(self) -> None:
        try:
            data = os.read(self._fd, _READ_MAX)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # EIO: the pty or USB device went away
            self._lose(str(exc) or type(exc).__name__)
            return
        if not data:
            self._lose("end of stream: the device or its connection went away")
            return
        self._on_bytes(data)

    def _lose(self, reason: str) -> None:
        self.pause_reading()
        _resolve(self._lost, reason)

    def send(self, data: bytes) -> asyncio.Future[None] | None:
        if self._lost.done():
            raise ConnectionError("the port is closed")
        if self._out and len(self._out) + len(data) > _WRITE_BUFFER_MAX:
            raise OSError(errno.ENOBUFS, "the scanner is not taking its feedback")
        self._accepted += len(data)
        if not self._out:  # else bytes wait for add_writer: keep them behind those
            try:
                taken = os.write(self._fd, data)
            except (BlockingIOError, InterruptedError):
                taken = 0
            self._written += taken
            data = data[taken:]
            if not data:
                return None
            self._loop.add_writer(self._fd, self._on_writable)
        self._out += data
        waiter: asyncio.Future[None] = self._loop.create_future()
        waiter.add_done_callback(_retrieve)
        self._waiters.append((self._accepted, waiter))
        return waiter

    def _on_writable(self) -> None:
        try:
            taken = os.write(self._fd, self._out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._fail_writes(exc)
            return
        del self._out[:taken]
        self._written += taken
        while self._waiters and self._waiters[0][0] <= self._written:
            _, waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
        if not self._out:
            self._loop.remove_writer(self._fd)

    def _fail_writes(self, exc: BaseException) -> None:
        self._loop.remove_writer(self._fd)
        self._out.clear()
        self._written = self._accepted
        while self._waiters:
            _, waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(exc)

    async def close(self) -> None:
        self.pause_reading()
        self._fail_writes(ConnectionError("the port was closed"))
        await self._loop.run_in_executor(self._executor, self._port.close)


class _ThreadTransport(_PortTransport):
    """A reader thread for backends that only pyserial's own ``read`` understands."""

    def __init__(self, opened: _OpenPort, name: str) -> None:
        super().__init__(opened)
        self._reading = threading.Event()
        self._closing = threading.Event()
        self._writes: set[asyncio.Task[None]] = set()
        self._last_write: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._read_forever, name=name, daemon=True)

    def start(self, *, paused: bool) -> None:
        if not paused:
            self._reading.set()
        self._thread.start()

    def pause_reading(self) -> None:
        self._reading.clear()

    def resume_reading(self) -> None:
        self._reading.set()

    def _read_forever(self) -> None:
        port: Any = self._port  # the stubs lack in_waiting on SerialBase
        loop = self._loop
        reason = "stopped"
        # A port that sends faster than the loop can frame (line noise from a device
        # server) must not queue unbounded work on the loop ahead of the other
        # scanners' bytes. Its excess waits in the OS buffer.
        window = threading.Semaphore(_IN_FLIGHT)
        try:
            while not self._closing.is_set():
                if not self._reading.wait(_READ_TIMEOUT):
                    continue
                data = port.read(min(max(port.in_waiting, 1), _READ_MAX))
                if not data:
                    continue
                while not window.acquire(timeout=_READ_TIMEOUT):
                    if self._closing.is_set():
                        return
                loop.call_soon_threadsafe(self._deliver, data, window)
        except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
            # TypeError/AttributeError: pyserial's socket backend after a close race
            reason = str(exc) or type(exc).__name__
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(_resolve, self._lost, reason)

    def _deliver(self, data: bytes, window: threading.Semaphore) -> None:
        try:
            self._on_bytes(data)
        finally:
            window.release()

    def send(self, data: bytes) -> asyncio.Future[None] | None:
        # Each write waits for the one before, so they reach the port in order.
        writing = self._loop.create_task(self._write_after(self._last_write, data))
        writing.add_done_callback(_retrieve)
        writing.add_done_callback(self._writes.discard)
        self._writes.add(writing)
        self._last_write = writing
        return writing

    async def _write_after(self, previous: asyncio.Future[None] | None, data: bytes) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        await self._loop.run_in_executor(self._executor, self._port.write, data)

    async def close(self) -> None:
        self._closing.set()
        self._reading.set()
        for writing in list(self._writes):
            writing.cancel()
        await self._loop.run_in_executor(self._executor, self._join)
        await self._loop.run_in_executor(self._executor, self._port.close)

    def _join(self) -> None:
        if self._thread.is_alive():
            self._thread.join()


@dataclass(eq=False)
class SerialLink:
    """Keeps one scanner port open for as long as :meth:`run` runs.

    ``on_bytes(data, line_time)`` and ``on_state(state, detail)`` are called on the
    event loop; ``line_time`` is :meth:`now` when the bytes were read. Reconnects back
    off exponentially, capped at ``reconnect_max``. Reading stays paused across
    reconnects until :meth:`resume_reading`.
    """

    config: ScannerConfig
    _: KW_ONLY
    on_bytes: Callable[[bytes, float], None]
    on_state: Callable[[LinkState, str], None]
    executor: Executor
    reconnect_max: float = 5.0
    clock: InitVar[Callable[[], float]] = time.monotonic
    _clock: LineClock = field(init=False, repr=False)
    _transport: _Transport | None = field(default=None, init=False, repr=False)
    _lost: asyncio.Future[str] | None = field(default=None, init=False, repr=False)
    _stopping: bool = field(default=False, init=False, repr=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    state: LinkState = field(default=LinkState.RECONNECTING, init=False)
    detail: str = field(default="not opened yet", init=False)
    connects: int = field(default=0, init=False)
    on_loop: bool = field(default=False, init=False)
    """Whether the open port is read on the event loop (else by a thread)."""

    def __post_init__(self, clock: Callable[[], float]) -> None:
        self._clock = LineClock(clock)

    def _set_state(self, state: LinkState, detail: str) -> None:
        if (state, detail) != (self.state, self.detail):
            self.state, self.detail = state, detail
            self.on_state(state, detail)

    def now(self) -> float:
        """Line time (see :class:`LineClock`)."""
        return self._clock.now()

    @property
    def paused(self) -> bool:
        return self._clock.paused

    def pause_reading(self) -> None:
        """Stop reading the port; its bytes wait in the OS buffer. Idempotent."""
        self._clock.pause()
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        """Read the port again, from the first byte left unread. Idempotent."""
        self._clock.resume()
        if self._transport is not None:
            self._transport.resume_reading()

    def _received(self, data: bytes) -> None:
        self.on_bytes(data, self._clock.now())

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = _FIRST_BACKOFF
        while not self._stopping:
            try:
                port = await loop.run_in_executor(self.executor, _open_port, self.config)
            except ValueError as exc:  # bad URL scheme or serial settings: a config problem
                self._set_state(LinkState.MISCONFIGURED, str(exc))
                await self._pause(self.reconnect_max)
                continue
            except (serial.SerialException, OSError) as exc:
                self._set_state(LinkState.RECONNECTING, str(exc) or type(exc).__name__)
                await self._pause(backoff)
                backoff = min(backoff * 2, self.reconnect_max)
                continue
            backoff = _FIRST_BACKOFF
            self.connects += 1
            lost: asyncio.Future[str] = loop.create_future()
            transport = self._transport_for(port, loop, lost)
            self._lost, self._transport = lost, transport
            self._set_state(LinkState.CONNECTED, "")
            try:
                transport.start(paused=self._clock.paused)
                reason = await lost
            finally:
                self._lost = self._transport = None
                await transport.close()
            if not self._stopping:
                log.warning("scanner %s disconnected: %s", self.config.id, reason)
                self._set_state(LinkState.RECONNECTING, reason)
                await self._pause(_FIRST_BACKOFF)
        self._set_state(LinkState.STOPPED, "")

    def _transport_for(
        self, port: serial.SerialBase, loop: asyncio.AbstractEventLoop, lost: asyncio.Future[str]
    ) -> _Transport:
        fd = _descriptor(port)
        self.on_loop = fd is not None
        opened = _OpenPort(port, loop, lost, self._received, self.executor)
        if fd is not None:
            return _DescriptorTransport(opened, fd)
        return _ThreadTransport(opened, f"scanner-{self.config.id}")

    async def _pause(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    async def write(self, data: bytes) -> bool:
        """Write feedback bytes; ``False`` when the port is not open or the write failed.

        Writes of one link reach the port in the order they were made.
        """
        transport = self._transport
        if transport is None or not data:
            return False
        try:
            written = transport.send(data)
            if written is not None:
                async with asyncio.timeout(_WRITE_TIMEOUT):
                    await asyncio.shield(written)
        except TimeoutError:
            # Kept: the bytes go out, in order, when the port takes them.
            log.info("scanner %s: feedback still waiting after %ss", self.config.id, _WRITE_TIMEOUT)
            return False
        except (serial.SerialException, OSError) as exc:  # ConnectionError is an OSError
            log.info("scanner %s: feedback not written: %s", self.config.id, exc)
            return False
        return True

    def stop(self) -> None:
        """Ask :meth:`run` to close the port and return. Call it on the loop."""
        self._stopping = True
        self._wake.set()
        if self._lost is not None:
            _resolve(self._lost, "stopped")


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a shielded write's error as seen; its writer was told, or gave up."""
    if not future.cancelled():
        future.exception()


def _resolve(future: asyncio.Future[str], reason: str) -> None:
    if not future.done():
        future.set_result(reason)
