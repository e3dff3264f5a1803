"""A fault-injecting TCP proxy in front of PostgreSQL, for outage tests.

Modelled on asyncpg's ``_testbase/fuzzer.py`` ``TCPFuzzingProxy``: the proxy runs its
own event loop in its own thread (so it keeps forwarding whatever the test's loop or
a gateway subprocess is doing), listens on ``127.0.0.1`` and forwards every client
connection to the real server: the embedded ``pgserver``'s Unix socket
(``<host dir>/.s.PGSQL.<port>``, from the URL's ``host=`` query) or, with
``DATABASE_URL``, its TCP ``host:port``.

:meth:`FaultProxy.cut` is PostgreSQL going away: every open connection is reset and
the listening socket is closed, so new connections are refused, as when the server is
stopped. :meth:`FaultProxy.restore` listens again on the same port.

:meth:`FaultProxy.hang` is PostgreSQL hanging (a frozen process, a stuck disk, a
partition that drops packets): connections stay open and new ones are accepted, but
not a byte moves either way until :meth:`FaultProxy.unhang`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from typing import TypeVar
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

__all__ = ["FaultProxy", "Upstream", "upstream_of"]

_T = TypeVar("_T")
_CHUNK = 65536
_DEFAULT_PORT = 5432


@dataclass(frozen=True)
class Upstream:
    """Where the real server listens: a Unix socket ``path`` or TCP ``host``/``port``."""

    host: str | None = None
    port: int = _DEFAULT_PORT
    path: str | None = None

    def __str__(self) -> str:
        return self.path if self.path is not None else f"{self.host}:{self.port}"


def upstream_of(url: str) -> Upstream:
    """The server a ``postgresql://`` URL points at."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    port = int(query.get("port") or parts.port or _DEFAULT_PORT)
    host = query.get("host") or parts.hostname or "localhost"
    if host.startswith("/"):
        return Upstream(port=port, path=f"{host.rstrip('/')}/.s.PGSQL.{port}")
    return Upstream(host=host, port=port)


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    userinfo, at, _ = parts.netloc.rpartition("@")
    netloc = f"{userinfo}{at}127.0.0.1:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("host", "port")]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), parts.fragment))


def _in_a_thread(
    method: Callable[[FaultProxy], None],
) -> Callable[[FaultProxy], Coroutine[Any, Any, None]]:
    """``method`` for a test on an event loop: run in a thread, so that the loop (with
    the clients the proxy serves on it) goes on meanwhile."""

    async def run(self: FaultProxy) -> None:
        await asyncio.to_thread(method, self)

    run.__doc__ = method.__doc__
    return run


class FaultProxy:
    """Forwards ``127.0.0.1:port`` to ``upstream`` until cut. Use ``with`` or start/close."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.port = 0
        self.accepted = 0
        """Client connections forwarded so far."""
        self.refused_while_cut = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._stop: asyncio.Event | None = None
        self._flowing: asyncio.Event | None = None
        self.is_cut = False

    @classmethod
    def for_url(cls, url: str) -> FaultProxy:
        return cls(upstream_of(url))

    def url_through(self, url: str) -> str:
        """``url`` with its host and port replaced by this proxy's."""
        if not self.port:
            raise RuntimeError("start the proxy first")
        return _through(url, self.port)

    # -- lifecycle (any thread but the proxy's) -----------------------------------

    def start(self) -> None:
        ready: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="fault-proxy", daemon=True
        )
        self._thread.start()
        ready.result(timeout=5)

    def close(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        stop = self._stop
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=5)
        self._loop = self._thread = None

    def cut(self) -> None:
        """PostgreSQL goes away: reset every connection, refuse new ones."""
        self._call(self._cut)

    def restore(self) -> None:
        """PostgreSQL comes back on the same address."""
        self._call(self._listen)

    def hang(self) -> None:
        """PostgreSQL hangs: nothing is forwarded, connections are accepted and kept."""
        self._call(self._hang)

    def unhang(self) -> None:
        self._call(self._unhang)

    acut = _in_a_thread(cut)
    ahang = _in_a_thread(hang)
    aunhang = _in_a_thread(unhang)
    arestore = _in_a_thread(restore)

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, func: Callable[[], Awaitable[_T]]) -> _T:
        loop = self._loop
        if loop is None:
            raise RuntimeError("the proxy is not running")
        return asyncio.run_coroutine_threadsafe(_invoke(func), loop).result(timeout=5)

    # -- the proxy's own loop -------------------------------------------------------

    def _run(self, ready: Future[None]) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._main(loop, ready))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self, loop: asyncio.AbstractEventLoop, ready: Future[None]) -> None:
        self._stop = asyncio.Event()
        self._flowing = asyncio.Event()
        self._flowing.set()
        try:
            await self._listen()
        except BaseException as exc:
            ready.set_exception(exc)
            raise
        self._loop = loop
        ready.set_result(None)
        await self._stop.wait()
        await self._cut()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self.is_cut = False

    async def _hang(self) -> None:
        assert self._flowing is not None
        self._flowing.clear()

    async def _unhang(self) -> None:
        assert self._flowing is not None
        self._flowing.set()

    async def _cut(self) -> None:
        self.is_cut = True
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for client, backend in list(self._links):
            client.transport.abort()
            backend.transport.abort()
        if server is not None:
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._link(reader, writer)
        except asyncio.CancelledError:
            # The proxy stops. A handler must not end cancelled (asyncio 3.11's stream
            # callback then logs "Exception in callback"), and a client that waited on
            # a hung proxy was never linked: its socket is closed here, not leaked.
            pass
        finally:
            writer.transport.abort()
            self._handlers.discard(task)

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut:  # accepted just before the cut: refuse it now
            self.refused_while_cut += 1
            return
        assert self._flowing is not None
        await self._flowing.wait()  # a hung server: accepted, never answered
        upstream = await self._connect_upstream()
        if upstream is None:
            return
        up_reader, up_writer = upstream
        self.accepted += 1
        link = (writer, up_writer)
        self._links.add(link)
        try:
            pumps = [
                asyncio.create_task(_pump(reader, up_writer, self._flowing)),
                asyncio.create_task(_pump(up_reader, writer, self._flowing)),
            ]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            self._links.discard(link)
            up_writer.transport.abort()

    async def _connect_upstream(
        self,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        up = self.upstream
        try:
            if up.path is not None:
                return await asyncio.open_unix_connection(up.path)
            return await asyncio.open_connection(up.host, up.port)
        except OSError:
            return None


async def _invoke(func: Callable[[], Awaitable[_T]]) -> _T:
    return await func()


async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, flowing: asyncio.Event
) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(_CHUNK):
            await flowing.wait()
            writer.write(data)
            await writer.drain()
