"""A barcode scanner on a real pseudo-terminal, published at a stable path.

The gateway opens ``path`` (a symlink to ``/dev/pts/N``) with pyserial exactly as it
opens ``/dev/ttyUSB0``. ``unplug()`` hangs the pty up and removes the symlink, as
pulling a USB scanner removes its device node; ``replug()`` makes a new pty and
re-points the symlink, so a gateway configured with ``path`` finds it again.

The slave side is put in raw mode (no echo, no CR/LF translation, no XON/XOFF), and the
mock keeps its own slave descriptor open, so the master never reads EIO while the
gateway is between opens. Scans sent while nobody has the port open sit in the pty
buffer until pyserial flushes it on open, so they are lost, as on a real line.

Writes to the master are non-blocking with a bounded wait (``write_timeout``): the
buffer (about 4 KiB on Linux) fills only when nobody reads the port, and then
:class:`~hardware_mocks.errors.WriteTimeoutError` says so instead of hanging.

A daemon reader thread drains feedback bytes from the master all the time, as a real
scanner consumes its host's answers. Sync code calls the plain methods; async code
awaits :meth:`PtyScanner.wait_feedback`, :meth:`PtyScanner.aunplug`,
:meth:`PtyScanner.areplug` and :meth:`PtyScanner.aclose` (or uses ``async with``),
which never block the event loop. The ``send_*`` methods write without blocking, so
they may be called from a loop too, unless the port's buffer is full.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import selectors
import termios
import threading
import time
from pathlib import Path

from hardware_mocks._feedback_log import FeedbackLog
from hardware_mocks._feedback_log import held
from hardware_mocks._scanner import ScannerSide
from hardware_mocks.errors import NotConnectedError
from hardware_mocks.errors import WriteTimeoutError
from hardware_mocks.feedback import FeedbackCounts
from hardware_mocks.frames import HONEYWELL
from hardware_mocks.frames import ScannerModel

__all__ = ["PtyScanner"]

_READ_SIZE = 4096
_POLL_SLICE = 0.05


def _make_raw(fd: int, baudrate: int) -> None:
    """cfmakeraw(3) on ``fd``, and the model's line speed for good measure."""
    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = termios.tcgetattr(fd)
    iflag &= ~(
        termios.IGNBRK
        | termios.BRKINT
        | termios.PARMRK
        | termios.ISTRIP
        | termios.INLCR
        | termios.IGNCR
        | termios.ICRNL
        | termios.IXON
        | termios.IXOFF
    )
    oflag &= ~termios.OPOST
    lflag &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    cflag &= ~(termios.CSIZE | termios.PARENB)
    cflag |= termios.CS8
    speed = getattr(termios, f"B{baudrate}", None)
    if isinstance(speed, int):
        ispeed = ospeed = speed
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, [iflag, oflag, cflag, lflag, ispeed, ospeed, cc])


def _pump_feedback(master: int, wake: int, log: FeedbackLog) -> None:
    """Reader thread body: move bytes from the master into ``log`` until woken."""
    with selectors.DefaultSelector() as selector:
        selector.register(master, selectors.EVENT_READ)
        selector.register(wake, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select():
                if key.fd == wake:
                    return
                try:
                    data = os.read(master, _READ_SIZE)
                except BlockingIOError:
                    continue
                except OSError:
                    return  # EIO: the pty is gone
                if not data:
                    return
                log.receive_bytes(data)


def _write_all(fd: int, data: bytes, timeout: float) -> None:
    view = memoryview(data)
    deadline = time.monotonic() + timeout
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    while view:
        with contextlib.suppress(BlockingIOError):
            view = view[os.write(fd, view) :]
        if view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WriteTimeoutError(
                    f"pty buffer full for {timeout}s, {len(view)} bytes unsent: "
                    "is anything reading the port?"
                )
            poller.poll(min(remaining, _POLL_SLICE) * 1000)


class _Plug:
    """One plugged-in life of the scanner: a pty pair and its reader thread."""

    def __init__(self, model: ScannerModel, log: FeedbackLog, name: str) -> None:
        self._log = log
        self.master, self.slave = os.openpty()
        self._wake_r = self._wake_w = -1
        try:
            _make_raw(self.slave, model.baudrate)
            os.set_blocking(self.master, False)
            self.device = os.ttyname(self.slave)
            self._wake_r, self._wake_w = os.pipe()
            self._thread = threading.Thread(
                target=_pump_feedback,
                args=(self.master, self._wake_r, log),
                name=f"pty-scanner:{name}",
                daemon=True,
            )
            self._thread.start()
        except BaseException:
            self._close_fds()
            raise

    def close(self) -> None:
        os.write(self._wake_w, b"\0")
        self._thread.join()
        with contextlib.suppress(OSError):  # feedback that raced the unplug
            while data := os.read(self.master, _READ_SIZE):
                self._log.receive_bytes(data)
        self._close_fds()
        self._log.receive_eof()

    def _close_fds(self) -> None:
        for fd in (self.master, self.slave, self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)


class PtyScanner(ScannerSide):
    """A simulated serial scanner at ``path``; plugged in on construction.

    ``name`` defaults to the path's file name; ``seed`` makes :meth:`send_noise`
    reproducible. Use as a context manager (sync or async) to unplug and clean up.
    """

    def __init__(
        self,
        path: Path | str,
        model: ScannerModel = HONEYWELL,
        *,
        name: str | None = None,
        write_timeout: float = 1.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(model, write_timeout, seed)
        self.path = Path(path)
        self.name = name or self.path.name
        self._lock = threading.Lock()
        self._plug: _Plug | None = None
        self._closed = False
        self._plug_in_locked()

    @classmethod
    async def create(
        cls,
        path: Path | str,
        model: ScannerModel = HONEYWELL,
        *,
        name: str | None = None,
        write_timeout: float = 1.0,
        seed: int | None = None,
    ) -> PtyScanner:
        """Construct from async code without blocking the loop on file-system calls."""
        return await asyncio.to_thread(
            cls, path, model, name=name, write_timeout=write_timeout, seed=seed
        )

    def __repr__(self) -> str:
        return f"<PtyScanner {self.name} {self.path} -> {self.device} {self.model.name}>"

    # -- plugging ---------------------------------------------------------------

    @property
    def plugged(self) -> bool:
        return self._plug is not None

    @property
    def device(self) -> str | None:
        """The current ``/dev/pts/N``, ``None`` while unplugged."""
        plug = self._plug
        return plug.device if plug is not None else None

    def unplug(self) -> None:
        """Hang up the pty and remove the symlink. Idempotent."""
        with held(self._lock):
            self._unplug_locked()

    def replug(self) -> None:
        """Plug back in on a new pty and re-point the symlink (power-cycles if plugged)."""
        with held(self._lock):
            if self._closed:
                raise NotConnectedError(f"{self.name} is closed")
            self._unplug_locked()
            self._plug_in_locked()

    def close(self) -> None:
        """Unplug for good. Idempotent."""
        with held(self._lock):
            self._closed = True
            self._unplug_locked()

    async def aunplug(self) -> None:
        await asyncio.to_thread(self.unplug)

    async def areplug(self) -> None:
        await asyncio.to_thread(self.replug)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def __enter__(self) -> PtyScanner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> PtyScanner:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _plug_in_locked(self) -> None:
        plug = _Plug(self.model, self._log, self.name)
        try:
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.new")
            temporary.unlink(missing_ok=True)
            temporary.symlink_to(plug.device)
            temporary.replace(self.path)  # atomic: the path never dangles mid-switch
        except BaseException:
            plug.close()
            raise
        self._plug = plug

    def _unplug_locked(self) -> None:
        plug, self._plug = self._plug, None
        if plug is None:
            return
        if self.path.is_symlink() and os.readlink(self.path) == plug.device:
            self.path.unlink()
        plug.close()

    # -- sending ----------------------------------------------------------------

    def send_scan(
        self,
        text: str,
        *,
        aim: str | bool | None = None,
        terminator: bytes | None = None,
    ) -> bytes:
        """Send one scan framed as the model does (see :meth:`ScannerModel.frame`)."""
        data = self.model.frame(text, aim=aim, terminator=terminator)
        self.send_raw(data)
        return data

    def send_raw(self, data: bytes) -> None:
        """Write ``data`` as is. ``NotConnectedError`` while unplugged."""
        with held(self._lock):
            _write_all(self._require_plug().master, data, self.write_timeout)

    def send_split(
        self,
        text: str,
        at: int,
        *,
        aim: str | bool | None = None,
        terminator: bytes | None = None,
        pause: float = 0.05,
    ) -> bytes:
        """Send one framed scan in two writes, split at byte ``at`` (negative counts
        from the end: ``-1`` splits a CRLF), ``pause`` seconds apart."""
        data = self.model.frame(text, aim=aim, terminator=terminator)
        self.send_raw(data[:at])
        if pause > 0:
            time.sleep(pause)
        self.send_raw(data[at:])
        return data

    def send_noise(self, count: int) -> bytes:
        """Send ``count`` random bytes, as a bad cable or wrong baud rate would."""
        noise = self._rng.randbytes(count)
        self.send_raw(noise)
        return noise

    def _require_plug(self) -> _Plug:
        if self._plug is None:
            raise NotConnectedError(f"{self.name} is unplugged")
        return self._plug

    # -- feedback ---------------------------------------------------------------

    def read_feedback(self, timeout: float = 0.0) -> bytes:
        """Feedback bytes not read before, waiting up to ``timeout`` s for at least one."""
        return self._log.read_blocking(timeout)

    async def read_feedback_async(self, timeout: float = 0.0) -> bytes:  # noqa: ASYNC109
        return await self._log.read_within(timeout)

    def wait_feedback_blocking(self, count: int, timeout: float) -> FeedbackCounts:
        """Block until ``count`` acks+naks in total (since creation) were received."""
        return self._log.wait_blocking(count, timeout)
