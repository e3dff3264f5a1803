"""Helpers for feed tests: a running app and a websockets display client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from tests.timing import UNIT

__all__ = ["Display", "closed_with"]


class Display:
    """A floor display: connects, says hello, collects what it is sent."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.messages: list[dict[str, Any]] = []
        self.ws: ClientConnection | None = None

    @property
    def events(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if "seq" in m and m["type"] != "snapshot"]

    @property
    def last_seq(self) -> int | None:
        seqs = [m["seq"] for m in self.messages if "seq" in m]
        return max(seqs) if seqs else None

    async def connect(self, since: int | None = None) -> dict[str, Any]:
        self.ws = await websockets.connect(self.url, max_size=None)
        await self.ws.send(json.dumps({"type": "hello", "token": self.token, "since": since}))
        if since is None:
            first: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), 5 * UNIT))
            self.messages.append(first)
            return first
        return {}

    async def collect(self, until_seq: int, patience: float = 10.0) -> None:
        assert self.ws is not None
        async with asyncio.timeout(patience * UNIT):
            while (self.last_seq or 0) < until_seq:
                self.messages.append(json.loads(await self.ws.recv()))

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None


async def closed_with(ws: ClientConnection, within: float) -> tuple[int, str]:
    """Read until the server closes; its close code and reason."""
    closed: websockets.ConnectionClosed | None = None
    async with asyncio.timeout(within * UNIT):
        try:
            while True:
                await ws.recv()
        except websockets.ConnectionClosed as exc:
            closed = exc
    assert closed is not None
    assert closed.rcvd is not None, "closed without a close frame from the server"
    return closed.rcvd.code, closed.rcvd.reason
