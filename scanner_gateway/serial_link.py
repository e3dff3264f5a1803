"""The serial shell for one scanner: open, read in a thread, write feedback, reconnect.

Ports are opened with ``serial.serial_for_url`` (device paths, ``socket://`` and
``rfc2217://`` device servers). Blocking reads run in one reader thread per port and
hand bytes to the event loop with ``call_soon_threadsafe`` (the shape of pyserial's
``serial.threaded.ReaderThread``), so a slow or noisy port never blocks another.
This module parses nothing and decides nothing: it moves bytes and reports state.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import serial

from scanner_gateway.config import ScannerConfig

__all__ = ["LinkState", "SerialLink"]

log = logging.getLogger(__name__)

_READ_TIMEOUT = 0.05
_FIRST_BACKOFF = 0.1
_READ_MAX = 4096
_IN_FLIGHT = 2
"""Chunks one port may have waiting on the loop; its reader waits for the rest."""


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
        write_timeout=1.0,
        xonxoff=False,
        rtscts=False,
    )
    port.open()
    return port


class SerialLink:
    """Keeps one scanner port open for as long as :meth:`run` runs.

    ``on_bytes(data, monotonic_time)`` and ``on_state(state, detail)`` are called on
    the event loop. Reconnects back off exponentially, capped at ``reconnect_max``.
    """

    def __init__(
        self,
        config: ScannerConfig,
        *,
        on_bytes: Callable[[bytes, float], None],
        on_state: Callable[[LinkState, str], None],
        executor: Executor,
        reconnect_max: float = 5.0,
    ) -> None:
        self.config = config
        self._on_bytes = on_bytes
        self._on_state = on_state
        self._executor = executor
        self._reconnect_max = reconnect_max
        self._port: serial.SerialBase | None = None
        self._stop = threading.Event()
        self._wake = asyncio.Event()
        self.state = LinkState.RECONNECTING
        self.detail = "not opened yet"
        self.connects = 0

    def _set_state(self, state: LinkState, detail: str) -> None:
        if (state, detail) != (self.state, self.detail):
            self.state, self.detail = state, detail
            self._on_state(state, detail)

    async def _blocking(self, func: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = _FIRST_BACKOFF
        while not self._stop.is_set():
            try:
                port = await self._blocking(_open_port, self.config)
            except ValueError as exc:  # bad URL scheme or serial settings: a config problem
                self._set_state(LinkState.MISCONFIGURED, str(exc))
                await self._pause(self._reconnect_max)
                continue
            except (serial.SerialException, OSError) as exc:
                self._set_state(LinkState.RECONNECTING, str(exc) or type(exc).__name__)
                await self._pause(backoff)
                backoff = min(backoff * 2, self._reconnect_max)
                continue
            backoff = _FIRST_BACKOFF
            self._port = port
            self.connects += 1
            self._set_state(LinkState.CONNECTED, "")
            lost: asyncio.Future[str] = loop.create_future()
            reader = threading.Thread(
                target=self._read_forever,
                args=(port, loop, lost),
                name=f"scanner-{self.config.id}",
                daemon=True,
            )
            reader.start()
            try:
                reason = await lost
            finally:
                self._port = None
                await self._blocking(reader.join)
                await self._blocking(port.close)
            if not self._stop.is_set():
                log.warning("scanner %s disconnected: %s", self.config.id, reason)
                self._set_state(LinkState.RECONNECTING, reason)
                await self._pause(_FIRST_BACKOFF)
        self._set_state(LinkState.STOPPED, "")

    async def _pause(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    def _read_forever(
        self,
        port: Any,
        loop: asyncio.AbstractEventLoop,
        lost: asyncio.Future[str],
    ) -> None:
        reason = "stopped"
        # Backpressure: a port that sends faster than the loop can frame (line noise
        # from a device server or a pty) must not queue unbounded work on the loop
        # ahead of the other scanners' bytes. Its excess waits in the OS buffer.
        window = threading.Semaphore(_IN_FLIGHT)
        try:
            while not self._stop.is_set():
                data = port.read(min(max(port.in_waiting, 1), _READ_MAX))
                if not data:
                    continue
                now = time.monotonic()
                while not window.acquire(timeout=_READ_TIMEOUT):
                    if self._stop.is_set():
                        return
                loop.call_soon_threadsafe(self._deliver, data, now, window)
        except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
            # TypeError/AttributeError: pyserial's socket backend after a close race
            reason = str(exc) or type(exc).__name__
        finally:
            loop.call_soon_threadsafe(_resolve, lost, reason)

    def _deliver(self, data: bytes, now: float, window: threading.Semaphore) -> None:
        try:
            self._on_bytes(data, now)
        finally:
            window.release()

    async def write(self, data: bytes) -> bool:
        """Write feedback bytes; ``False`` when the port is not open or the write failed."""
        port = self._port
        if port is None or not data:
            return False
        try:
            await self._blocking(port.write, data)
        except (serial.SerialException, OSError) as exc:
            log.info("scanner %s: feedback not written: %s", self.config.id, exc)
            return False
        return True

    def stop(self) -> None:
        """Ask :meth:`run` to close the port and return."""
        self._stop.set()
        self._wake.set()


def _resolve(future: asyncio.Future[str], reason: str) -> None:
    if not future.done():
        future.set_result(reason)
