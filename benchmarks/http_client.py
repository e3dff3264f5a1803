"""A light HTTP/1.1 load client: one keep-alive connection per client, requests written
as bytes, responses read by ``Content-Length``.

On a two-core box the load generator competes with the server for CPU: aiohttp's
client costs about 140 µs of CPU per request here, this one about 50 µs, so more of
the machine is left to what is measured. It speaks only what the benchmarks send
(no chunked bodies, no redirects, no TLS); every response's status is returned and a
response it cannot read fails loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

__all__ = ["HttpClient", "get_bytes", "post_json_bytes"]


def get_bytes(host: str, path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def post_json_bytes(host: str, path: str, body: Any, headers: dict[str, str]) -> bytes:
    data = json.dumps(body).encode()
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


class HttpClient:
    """One keep-alive connection to ``host:port``; :meth:`request` sends one request
    (already encoded) and returns the response's status once its body is read."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"

    async def request(self, data: bytes) -> int:
        if self._writer is None or self._reader is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._writer.write(data)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at < 0:
            raise RuntimeError(f"no Content-Length in a response: {head[:200]!r}")
        length = int(lower[at + 17 : lower.index(b"\r\n", at + 2)])
        if length:
            await self._reader.readexactly(length)
        if b"\r\nconnection: close" in lower:
            await self.close()
        return status

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
