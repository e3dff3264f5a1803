"""A light WebSocket display: just enough RFC 6455, parsed in ``data_received``, that a
thousand displays cost the bench process little."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

__all__ = ["FeedClient", "connect_displays"]

_SEQ = re.compile(rb'^\{"seq":(\d+),"type":"([a-z._]+)"')


@dataclass(eq=False)
class FeedClient(asyncio.Protocol):
    """A floor display speaking just enough RFC 6455 to read the feed cheaply.

    Each text message is stamped on arrival; ``on_message(client, data, t)`` sees it
    (raw bytes). ``seqs`` collects the ``seq`` of every event (not snapshots), parsed
    from the message's first bytes without decoding the JSON.
    """

    token: str
    since: int | None = None
    on_message: Callable[[FeedClient, bytes, float], None] | None = None
    seqs: list[int] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    snapshot_seq: int | None = None
    snapshots: int = 0
    closed_with: int | None = None
    messages: int = 0
    transport: asyncio.Transport | None = None
    _buffer: bytearray = field(default_factory=bytearray)
    _handshaken: bool = False
    _ready: asyncio.Future[None] | None = None
    _snapshot: asyncio.Future[None] | None = None
    _lost: asyncio.Future[None] | None = None

    async def open(self, host: str, port: int, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._snapshot = loop.create_future()
        self._lost = loop.create_future()
        await loop.create_connection(lambda: self, host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        assert self.transport is not None
        self.transport.write(
            (
                f"GET /feed HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await asyncio.wait_for(asyncio.shield(self._ready), timeout)
        hello = {"type": "hello", "token": self.token, "since": self.since}
        self._send_frame(0x1, json.dumps(hello).encode())
        if self.since is None:
            await asyncio.wait_for(asyncio.shield(self._snapshot), timeout)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        for future in (self._ready, self._snapshot, self._lost):
            if future is not None and not future.done():
                future.set_exception(ConnectionError(f"feed closed ({self.closed_with})"))
        if self._lost is not None and self._lost.done() and not self._lost.cancelled():
            self._lost.exception()  # mark retrieved

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = bytes([0x80 | opcode, 0x80 | n])
        elif n < 65536:
            header = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            header = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(header + mask + masked)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buf = self._buffer
        buf += data
        if not self._handshaken:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            del buf[: end + 4]
            if b" 101 " not in status:
                if self._ready is not None and not self._ready.done():
                    self._ready.set_exception(ConnectionError(status.decode(errors="replace")))
                return
            self._handshaken = True
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(None)
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            if size - pos < head + length:
                break
            payload = bytes(buf[pos + head : pos + head + length])
            pos += head + length
            opcode = b0 & 0x0F
            if opcode == 0x1:
                self._message(payload, now)
            elif opcode == 0x9:
                self._send_frame(0xA, payload)
            elif opcode == 0x8:
                self.closed_with = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                if self.transport is not None:
                    self.transport.close()
        del buf[:pos]

    def _message(self, payload: bytes, now: float) -> None:
        self.messages += 1
        found = _SEQ.match(payload)
        if found is not None:
            self.seqs.append(int(found.group(1)))
            self.arrivals.append(now)
        elif payload.startswith(b'{"type":"snapshot"'):
            self.snapshots += 1
            self.snapshot_seq = int(json.loads(payload)["seq"])
            if self._snapshot is not None and not self._snapshot.done():
                self._snapshot.set_result(None)
        if self.on_message is not None:
            self.on_message(self, payload, now)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._send_frame(0x8, (1000).to_bytes(2, "big"))
            self.transport.close()


async def connect_displays(
    url: str, token: str, count: int, *, batch: int = 50, first: FeedClient | None = None
) -> list[FeedClient]:
    """``count`` displays on ``url`` (``http://host:port``), ``batch`` at a time."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    clients: list[FeedClient] = [first] if first is not None else []
    clients += [FeedClient(token) for _ in range(count - len(clients))]
    for start in range(0, len(clients), batch):
        await asyncio.gather(*(c.open(host, int(port)) for c in clients[start : start + batch]))
    return clients
