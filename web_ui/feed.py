"""The live feed at ``/feed`` (SPEC, Live feed; Promise 6).

Protocol: the client's first message is ``{"type": "hello", "token": "...",
"since": <seq or null>}``. The server answers with a ``snapshot`` (stock, active
alerts, scanner states, recent scans, and the ``seq`` it is current to) or with the
events after ``since``, then streams events ``{"seq", "type", "ts", ...}`` in seq
order, each once.

Ordering without gaps: the display subscribes to the bus *before* reading history or
the snapshot from the database, then sends only events with ``seq`` above the last
one sent. An event is thus either in what was read (it was sequenced before the
read) or in the subscription (published after the subscription began), and never
sent twice.

Backpressure: each display has one writer task and a bounded queue. When a display
falls behind by more than ``feed_queue_limit`` events its backlog is dropped and it
is sent a fresh snapshot instead (a snapshot carries absolute figures, so nothing is
lost); publishing never waits on a display.

Close codes (one table, :data:`CLOSE`): a display is told exactly why it was closed.
A token revoked while its displays stream (on any node: the revocation arrives by
NOTIFY) closes them with 4401 "token revoked"; a token that expires while streaming,
with 4401 "token expired". 4401 tells a display that retrying the same token cannot
help.

Limits: at most ``max_feed_clients`` sockets per node, of which at most
``max_pending_hellos`` have not said hello yet; the upgrade beyond either is refused
with 503 ``busy`` (the page reconnects with backoff). A socket silent for
``hello_timeout`` seconds after connecting is closed with 4408.

Scope: a hello may name a ``warehouse`` (the floor page at ``/?warehouse=CODE``): its
snapshots then carry that warehouse's stock (with each location's on hand and available,
which the page keeps up to date from the events' location figures) and recent scans; a
code no warehouse has closes the socket with 4404.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC
from datetime import datetime
from typing import Any

from aiohttp import WSMsgType
from aiohttp import web
from pydantic import Field

from stock_core.domain.token import Role
from stock_core.domain.warehouse import WAREHOUSE_CODE
from stock_core.errors import DatabaseUnavailableError
from stock_core.errors import UnknownWarehouseError
from stock_core.model import FeedEvent
from web_ui.bus import HISTORY_CHANGED
from web_ui.bus import Subscription
from web_ui.hello import HELLO_CLOSE
from web_ui.hello import Close
from web_ui.hello import Greeting
from web_ui.hello import close_with
from web_ui.hello import greet
from web_ui.keys import BUS
from web_ui.keys import CONFIG
from web_ui.keys import SERVICE
from web_ui.keys import TOKEN_CACHE
from web_ui.problem import ProblemError

__all__ = [
    "CLOSE",
    "FEEDS",
    "FeedSockets",
    "close_all",
    "close_token",
    "recheck_tokens",
    "setup",
    "token_revoked",
]

log = logging.getLogger(__name__)

CLOSE: dict[str, tuple[int, str]] = {
    "malformed": Close(4400, "expected a JSON hello message"),
    "unauthorized": Close(4401, "unknown or revoked token"),
    "revoked": Close(4401, "token revoked"),
    "expired": Close(4401, "token expired"),
    "forbidden": Close(4403, "this token's role may not read the feed"),
    "unknown_warehouse": Close(4404, "unknown warehouse"),
    "unavailable": Close(1013, "database unavailable; reconnect later"),
    "internal": Close(1011, "internal error"),
    **HELLO_CLOSE,
}


class FeedSockets:
    """This node's feed sockets: counted for the limits, indexed by token after hello."""

    def __init__(self) -> None:
        self.open: set[web.WebSocketResponse] = set()
        self.awaiting_hello = 0
        self.by_token: dict[int, set[web.WebSocketResponse]] = {}
        self.closing: set[asyncio.Task[int]] = set()
        """Running :func:`close_token` tasks (held: the loop keeps only weak references)."""

    def signed_in(self, ws: web.WebSocketResponse, token_id: int) -> None:
        self.by_token.setdefault(token_id, set()).add(ws)

    def gone(self, ws: web.WebSocketResponse, token_id: int | None) -> None:
        self.open.discard(ws)
        if token_id is not None:
            mine = self.by_token.get(token_id)
            if mine is not None:
                mine.discard(ws)
                if not mine:
                    del self.by_token[token_id]


FEEDS = web.AppKey("feeds", FeedSockets)

_PAGE = 1000
_MAX_MESSAGE = 64 * 1024


class Hello(Greeting):
    since: int | None = Field(default=None, ge=0)
    warehouse: str | None = Field(default=None, pattern=WAREHOUSE_CODE)
    """A floor page of one warehouse (``/?warehouse=CODE``): its snapshots are that
    warehouse's (events are every warehouse's; each ``stock.changed`` names its own)."""


class _Display:
    """One connected display: its socket, subscription and the last seq it was sent."""

    def __init__(
        self, app: web.Application, ws: web.WebSocketResponse, warehouse: str | None = None
    ) -> None:
        self.app = app
        self.ws = ws
        self.warehouse = warehouse
        self.last_seq = 0
        self.subscription: Subscription | None = None
        self.snapshots = 0

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(message, default=str, separators=(",", ":")))

    async def send_snapshot(self, reason: str) -> None:
        snapshot = await self.app[SERVICE].floor_snapshot(self.warehouse)
        live = self.app[CONFIG].live_scanners
        if live is not None:
            fresh = {s.id: s for s in live()}
            for scanner in snapshot["scanners"]:
                state = fresh.get(scanner["scanner"])
                if state is not None:
                    scanner.update(state=state.state, detail=state.detail, operator=state.operator)
        self.snapshots += 1
        self.last_seq = snapshot["seq"]
        await self.send({"type": "snapshot", "reason": reason, **snapshot})

    async def send_events(self, events: list[FeedEvent]) -> None:
        for event in events:
            if event.seq > self.last_seq:
                await self.ws.send_str(event.wire_text)
                self.last_seq = event.seq

    async def catch_up(self, since: int) -> None:
        """The events after ``since`` from the table, or a snapshot when too far behind."""
        service = self.app[SERVICE]
        oldest, newest = await service.feed_bounds()
        if since > newest:
            await self.send_snapshot("since is ahead of the feed")
            return
        if self.app[BUS].voided(since):  # it saw events a failover lost
            await self.send_snapshot(HISTORY_CHANGED)
            return
        if since < oldest - 1 or newest - since > self.app[CONFIG].catch_up_limit:
            await self.send_snapshot("too far behind")
            return
        self.last_seq = since
        while True:
            events = await service.events_after(self.last_seq, _PAGE)
            await self.send_events(events)
            if len(events) < _PAGE:
                return

    async def stream(self) -> None:
        subscription = self.subscription
        assert subscription is not None
        while True:
            await subscription.wait()
            if subscription.overflowed:
                subscription.overflowed = False
                subscription.drain()
                await self.send_snapshot(subscription.reason)
                continue
            await self.send_events(subscription.drain())


async def _close(ws: web.WebSocketResponse, why: str) -> None:
    await close_with(ws, CLOSE, why)


async def _read_client(display: _Display) -> None:
    """After hello: answer pings, report malformed messages, notice the close."""
    async for msg in display.ws:
        if msg.type != WSMsgType.TEXT:
            continue
        try:
            body = json.loads(msg.data)
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("type") == "ping":
            await display.send({"type": "pong", "seq": display.last_seq})
        else:
            await display.send(
                {"type": "error", "reason": "unknown message: only ping is accepted after hello"}
            )


def _admit(app: web.Application) -> None:
    """Refuse the upgrade (503 ``busy``) when this node holds as many sockets as it may."""
    config = app[CONFIG]
    sockets = app[FEEDS]
    if len(sockets.open) >= config.max_feed_clients:
        raise ProblemError("busy", f"this node serves {config.max_feed_clients} feed sockets")
    if sockets.awaiting_hello >= config.max_pending_hellos:
        raise ProblemError(
            "busy", f"{config.max_pending_hellos} feed sockets are waiting to say hello"
        )


async def _expire(ws: web.WebSocketResponse, expires_at: datetime) -> None:
    """Close the socket when its token expires."""
    await asyncio.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()))
    await _close(ws, "expired")


async def feed_handler(request: web.Request) -> web.WebSocketResponse:
    app = request.app
    config = app[CONFIG]
    sockets = app[FEEDS]
    _admit(app)
    ws = web.WebSocketResponse(heartbeat=config.heartbeat, max_msg_size=_MAX_MESSAGE)
    sockets.open.add(ws)
    token_id: int | None = None
    try:
        greeted = await greet(
            request, ws, sockets, config.hello_timeout, Hello, CLOSE, Role.DISPLAY
        )
        if greeted is None:
            return ws
        hello, token = greeted
        token_id = token.id
        sockets.signed_in(ws, token.id)
        refusal = None if hello.warehouse is None else await _scope(app, hello.warehouse)
        if refusal is not None:
            await _close(ws, refusal)
            return ws
        if app[TOKEN_CACHE].is_revoked(token.id):  # revoked while it was being checked
            await _close(ws, "revoked")
            return ws
        await _stream(app, ws, hello, token.expires_at)
    finally:
        sockets.gone(ws, token_id)
    return ws


async def _scope(app: web.Application, warehouse: str) -> str | None:
    """The CLOSE key when a display may not be scoped to ``warehouse``, else ``None``."""
    try:
        await app[SERVICE].warehouse(warehouse)
    except UnknownWarehouseError:
        return "unknown_warehouse"
    except DatabaseUnavailableError:
        return "unavailable"
    return None


async def _stream(
    app: web.Application, ws: web.WebSocketResponse, hello: Hello, expires_at: datetime | None
) -> None:
    config = app[CONFIG]
    display = _Display(app, ws, hello.warehouse)
    bus = app[BUS]
    display.subscription = bus.subscribe(config.feed_queue_limit)
    reader = asyncio.create_task(_read_client(display))
    writer: asyncio.Task[None] | None = None
    expiry = None if expires_at is None else asyncio.create_task(_expire(ws, expires_at))
    try:
        if hello.since is None:
            await display.send_snapshot("hello")
        else:
            await display.catch_up(hello.since)
        writer = asyncio.create_task(display.stream())
        await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
    except DatabaseUnavailableError:
        await _close(ws, "unavailable")
    except ConnectionError:
        pass
    finally:
        for task in (reader, writer, expiry):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await task
        bus.unsubscribe(display.subscription)
        if not ws.closed:
            await ws.close()


def setup(app: web.Application) -> None:
    app[FEEDS] = FeedSockets()
    app.router.add_get("/feed", feed_handler)


async def close_all(app: web.Application) -> None:
    code, message = CLOSE["going_away"]
    for ws in list(app[FEEDS].open):
        with contextlib.suppress(Exception):
            await ws.close(code=code, message=message.encode())


async def close_token(app: web.Application, token_id: int, why: str = "revoked") -> int:
    """Close every feed socket of this token on this node; returns how many."""
    sockets = list(app[FEEDS].by_token.get(token_id, ()))
    for ws in sockets:
        with contextlib.suppress(Exception):
            await _close(ws, why)
    if sockets:
        log.info("token %d %s: closed %d feed socket(s)", token_id, why, len(sockets))
    return len(sockets)


def token_revoked(app: web.Application, token_id: int) -> None:
    """A token was revoked (here, or on another node by NOTIFY): forget it, close its
    feed sockets now (in the background; this is called from a listener callback)."""
    app[TOKEN_CACHE].drop(token_id)
    sockets = app[FEEDS]
    if token_id in sockets.by_token:
        task = asyncio.get_running_loop().create_task(close_token(app, token_id))
        sockets.closing.add(task)
        task.add_done_callback(sockets.closing.discard)


async def recheck_tokens(app: web.Application) -> None:
    """After (re)starting to listen for revocations: notifications sent meanwhile are
    lost, so forget every cached token and close sockets whose token is now invalid."""
    app[TOKEN_CACHE].forget()
    held = list(app[FEEDS].by_token)
    if not held:
        return
    for token_id in await app[SERVICE].invalid_tokens(held):
        app[TOKEN_CACHE].drop(token_id)
        await close_token(app, token_id)
