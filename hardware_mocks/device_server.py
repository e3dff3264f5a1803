"""A serial device server in raw TCP mode, with a simulated scanner on its serial side.

This is what a gateway reaches through pyserial's ``socket://host:port`` URL (a Moxa
NPort or Lantronix box in "TCP server" / raw mode): bytes the scanner sends arrive on
the TCP connection unchanged, and bytes the gateway writes go to the scanner.

Like such a box configured for one connection, it serves one gateway at a time; a new
connection replaces the old one (the gateway reconnecting after a half-dead link).
:meth:`DeviceServer.drop` stops listening and closes the connection, as when the box
loses power; :meth:`DeviceServer.restart` listens again on the same port.
"""

from __future__ import annotations

import asyncio

from hardware_mocks._scanner import ScannerSide
from hardware_mocks.errors import NotConnectedError
from hardware_mocks.errors import WriteTimeoutError
from hardware_mocks.frames import HONEYWELL
from hardware_mocks.frames import ScannerModel

__all__ = ["DeviceServer"]

_SETTLE_ROUNDS = 100
"""Loop iterations :meth:`DeviceServer.drop` allows in-flight accepts to finish."""


class _Link(asyncio.Protocol):
    """One gateway connection. Registered with the server in ``connection_made``,
    which runs in the same loop pass as the accept: nothing escapes :meth:`drop`."""

    def __init__(self, server: DeviceServer) -> None:
        self._server = server
        self._log = server._log
        self.transport: asyncio.Transport | None = None
        self._writable: asyncio.Future[None] | None = None
        self._paused = False
        self.lost = False
        server._accepting += 1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._server._link_made(self)

    def data_received(self, data: bytes) -> None:
        self._log.receive_bytes(data)

    def eof_received(self) -> bool:
        return False  # the gateway closed its side: close ours too

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._log.receive_eof()
        self._wake_writer()
        self._server._link_lost(self)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake_writer()

    async def drain(self) -> None:
        while self._paused and not self.lost:
            self._writable = asyncio.get_running_loop().create_future()
            await self._writable
        if self.lost:
            raise ConnectionResetError("connection lost")

    def _wake_writer(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)


class DeviceServer(ScannerSide):
    """A raw-TCP serial device server; call :meth:`start` or use ``async with``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        model: ScannerModel = HONEYWELL,
        *,
        name: str | None = None,
        write_timeout: float = 1.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(model, write_timeout, seed)
        self.host = host
        self._name = name
        self._port = port
        self._server: asyncio.Server | None = None
        self._link: _Link | None = None
        self._accepting = 0
        self._connected = asyncio.Event()
        self.connections = 0
        """Connections accepted so far."""

    def __repr__(self) -> str:
        return f"<DeviceServer {self.name} {self.url} {self.model.name}>"

    @property
    def name(self) -> str:
        return self._name or f"tcp:{self._port}"

    @property
    def port(self) -> int:
        """The listening port (``0`` before the first :meth:`start` with ``port=0``)."""
        return self._port

    @property
    def url(self) -> str:
        """The pyserial URL the gateway should open."""
        return f"socket://{self.host}:{self._port}"

    @property
    def listening(self) -> bool:
        return self._server is not None

    @property
    def connected(self) -> bool:
        return self._link is not None

    # -- lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        """Listen (again) on ``port``; the first start with port 0 picks a free one."""
        if self._server is not None:
            return
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Link(self), self.host, self._port)
        self._port = self._server.sockets[0].getsockname()[1]

    async def drop(self, *, abort: bool = False) -> None:
        """Stop listening and close the gateway's connection (``abort``: with a RST)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        # Accepts already under way still run their connection_made: let them, so
        # _link_made closes them instead of leaking a transport past the test.
        for _ in range(_SETTLE_ROUNDS):
            if not self._accepting:
                break
            await asyncio.sleep(0)
        link = self._link
        if link is not None and link.transport is not None:
            if abort:
                link.transport.abort()
            else:
                link.transport.close()
        # connection_lost runs one loop pass after close(): wait for it.
        for _ in range(_SETTLE_ROUNDS):
            if self._link is None:
                break
            await asyncio.sleep(0)

    async def restart(self) -> None:
        """Come back after :meth:`drop`, on the same port."""
        await self.start()

    async def close(self) -> None:
        await self.drop()

    async def __aenter__(self) -> DeviceServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def wait_connected(self, timeout: float) -> None:  # noqa: ASYNC109
        """Wait until a gateway is connected; ``TimeoutError`` if none comes."""
        await asyncio.wait_for(self._connected.wait(), timeout)

    def _link_made(self, link: _Link) -> None:
        self._accepting -= 1
        assert link.transport is not None
        if self._server is None:  # accepted just as the server was dropped
            link.transport.abort()
            return
        previous, self._link = self._link, link
        if previous is not None and previous.transport is not None:
            previous.transport.close()
        self.connections += 1
        self._connected.set()

    def _link_lost(self, link: _Link) -> None:
        if self._link is link:
            self._link = None
            self._connected.clear()

    # -- sending ----------------------------------------------------------------

    async def send_scan(
        self,
        text: str,
        *,
        aim: str | bool | None = None,
        terminator: bytes | None = None,
    ) -> bytes:
        """Send one scan framed as the model does (see :meth:`ScannerModel.frame`)."""
        data = self.model.frame(text, aim=aim, terminator=terminator)
        await self.send_raw(data)
        return data

    async def send_raw(self, data: bytes) -> None:
        """Write ``data`` as is. ``NotConnectedError`` when no gateway is connected."""
        link = self._link
        if link is None or link.transport is None or link.transport.is_closing():
            raise NotConnectedError(f"no gateway connected to {self.url}")
        link.transport.write(data)
        try:
            await asyncio.wait_for(link.drain(), self.write_timeout)
        except TimeoutError as exc:
            raise WriteTimeoutError(f"{self.url}: gateway not reading") from exc
        except ConnectionError as exc:
            raise NotConnectedError(f"{self.url}: connection lost") from exc

    async def send_split(
        self,
        text: str,
        at: int,
        *,
        aim: str | bool | None = None,
        terminator: bytes | None = None,
        pause: float = 0.05,
    ) -> bytes:
        """One framed scan in two writes split at byte ``at``, ``pause`` seconds apart."""
        data = self.model.frame(text, aim=aim, terminator=terminator)
        await self.send_raw(data[:at])
        await asyncio.sleep(pause)
        await self.send_raw(data[at:])
        return data

    async def send_noise(self, count: int) -> bytes:
        noise = self._rng.randbytes(count)
        await self.send_raw(noise)
        return noise

    # -- feedback ---------------------------------------------------------------

    async def read_feedback(self, timeout: float = 0.0) -> bytes:  # noqa: ASYNC109
        """Feedback bytes not read before, waiting up to ``timeout`` s for at least one."""
        return await self._log.read_within(timeout)
