"""Webhooks end to end: a real aiohttp receiver on a loopback port that verifies every
request with the ``standardwebhooks`` package, the API and the dispatchers of two web
nodes on one database.

* the receiver goes away (its port closed) for a while and comes back: every event is
  delivered, in feed order, none lost, and never twice (two nodes share the work);
* a receiver that takes seconds per request delays neither another endpoint nor the
  writes that make the events;
* the delivery log, redelivery (same ``webhook-id``), coalesced ``stock.changed``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import cast

import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from stock_core.domain.token import Role
from stock_core.service import StockService
from stock_core.store import webhooks as webhooks_store
from stock_core.store.database import Database
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from tests.functional.api.conftest import post_movement
from tests.functional.api.test_orders_api import call
from tests.functional.web_app import stop_relays
from tests.timing import UNIT
from web_ui.app import create_app
from web_ui.config import WebConfig


@dataclass
class Received:
    msg_id: str
    body: dict[str, Any]
    raw: bytes


@dataclass
class Receiver:
    """An aiohttp app on 127.0.0.1 that verifies signatures and records what it got."""

    secrets: dict[str, str] = field(default_factory=dict)
    """path → the webhook's secret (set once the subscription exists)."""
    delay: dict[str, float] = field(default_factory=dict)
    got: dict[str, list[Received]] = field(default_factory=dict)
    forged: int = 0
    port: int = 0
    _runner: web.AppRunner | None = None
    _site: web.TCPSite | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        raw = await request.read()
        pause = self.delay.get(path, 0.0)
        if pause:
            await asyncio.sleep(pause)
        try:
            body = Webhook(self.secrets[path]).verify(raw, dict(request.headers))
        except (WebhookVerificationError, KeyError):
            self.forged += 1
            return web.Response(status=400)
        self.got.setdefault(path, []).append(Received(request.headers["webhook-id"], body, raw))
        return web.Response(status=204)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    async def up(self) -> None:
        if self._runner is None:
            app = web.Application()
            app.router.add_post("/{path}", self._handle)
            self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
            await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await self._site.start()
        if not self.port:
            server = cast(asyncio.Server, self._site._server)
            self.port = server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        """Close the port and every open connection (keep-alive ones too): connections
        are refused, as with a dead receiver."""
        self._site = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def close(self) -> None:
        await self.down()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    made = Receiver()
    await made.up()
    yield made
    await made.close()


def _config(database: Database) -> WebConfig:
    return WebConfig(database=database, webhooks=True, webhook_timeout=8 * UNIT, webhook_poll=0.2)


@pytest.fixture
async def node(
    database: Database, service: StockService, aiohttp_client: Any
) -> AsyncIterator[Client]:
    """A web node that delivers webhooks (``client`` does not)."""
    made: Client = await aiohttp_client(create_app(_config(database)))
    yield made
    await stop_relays()


async def _subscribe(
    client: Client, token: str, receiver: Receiver, path: str, events: list[str]
) -> dict[str, Any]:
    status, hook = await call(
        client, "POST", "/api/v1/webhooks", token, {"url": receiver.url(path), "events": events}
    )
    assert status == 201, hook
    receiver.secrets[path] = hook["secret"]
    return cast(dict[str, Any], hook)


async def _until(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def _feed(service: StockService, after: int, types: Callable[[str], bool]) -> list[int]:
    events = await service.events_after(after, 10_000)
    return [e.seq for e in events if types(e.type)]


async def _make_events(client: Client, tokens: dict[Role, str], tag: str) -> None:
    """Stock moves, an order with a backorder, a purchase order and its receipt (filled)."""
    manager, worker = tokens[Role.MANAGER], tokens[Role.WORKER]
    body = {"kind": "receive", "sku": "GADGET", "location": "A-01", "quantity": 2}
    assert (await post_movement(client, worker, f"{tag}-r", body))[0] == 201
    order = {
        "number": f"SO-{tag}",
        "lines": [{"sku": "GADGET", "quantity": 3}],
        "customer": "C-42",
        "customer_email": "ann@example.com",
    }
    assert (await call(client, "POST", "/api/v1/orders", manager, order))[0] == 201
    po = {
        "number": f"PO-{tag}",
        "expected_date": "2031-03-01",
        "lines": [{"sku": "GADGET", "quantity": 5}],
    }
    assert (await call(client, "POST", "/api/v1/purchase-orders", manager, po))[0] == 201
    receipt = {"location": "A-01", "lines": [{"sku": "GADGET", "quantity": 5}]}
    status, _ = await call(
        client, "POST", f"/api/v1/purchase-orders/PO-{tag}/receipts", worker, receipt, key=tag
    )
    assert status == 201
    pick = {"location": "A-01", "lines": [{"sku": "GADGET", "quantity": 3}]}
    status, _ = await call(
        client, "POST", f"/api/v1/orders/SO-{tag}/picks", worker, pick, key=f"{tag}-p"
    )
    assert status == 201


@pytest.mark.parametrize(
    "outage",
    [
        pytest.param(3.0, id="3s"),
        pytest.param(120.0, id="2min", marks=[pytest.mark.slow, pytest.mark.timeout(600)]),
    ],
)
async def test_receiver_down_then_back_gets_every_event_in_order_once(
    node: Client,
    aiohttp_client: Any,
    database: Database,
    service: StockService,
    tokens: dict[Role, str],
    receiver: Receiver,
    outage: float,
) -> None:
    other_node: Client = await aiohttp_client(create_app(_config(database)))
    manager = tokens[Role.MANAGER]
    hook = await _subscribe(node, manager, receiver, "all", ["*"])
    start = (await service.feed_bounds())[1]
    await _make_events(node, tokens, "a")
    await _until(lambda: _delivered(receiver, "all", service, start), 20 * UNIT, "first events")

    await receiver.down()
    began = time.monotonic()
    await _make_events(other_node, tokens, "b")  # written through the other node
    url = f"/api/v1/webhooks/{hook['id']}/deliveries?status=pending"

    async def refused() -> bool:
        status, log = await call(node, "GET", url, manager)
        assert status == 200
        return any(d["last_error"] for d in log["items"])

    await _until(refused, 10 * UNIT, "a refused attempt while the receiver is away")
    await asyncio.sleep(max(0.0, outage - (time.monotonic() - began)))
    await receiver.up()
    # within the first hour no two attempts are more than a minute apart
    await _until(lambda: _delivered(receiver, "all", service, start), 75 * UNIT, "catch-up")

    got = receiver.got["all"]
    expected = await _feed(service, start, lambda t: t != "stock.changed")
    seqs = [r.body["data"]["seq"] for r in got]
    assert seqs == expected  # every event, in feed order, none twice (two nodes sending)
    assert [r.msg_id for r in got] == [f"msg_{s}" for s in seqs]
    assert receiver.forged == 0
    types = [r.body["type"] for r in got]
    assert {"backorder.created", "backorder.eta_changed", "backorder.filled"} <= set(types)
    assert {"order.created", "order.shipped"} <= set(types)
    shipped = next(r.body["data"] for r in got if r.body["type"] == "order.shipped")
    assert shipped["customer"] == "C-42"
    assert shipped["customer_email"] == "ann@example.com"
    assert shipped["lines"] == [{"sku": "GADGET", "quantity": 3}]
    status, hook_now = await call(node, "GET", f"/api/v1/webhooks/{hook['id']}", manager)
    assert status == 200
    assert (hook_now["pending"], hook_now["failed"]) == (0, 0)


async def _delivered(receiver: Receiver, path: str, service: StockService, start: int) -> bool:
    want = await _feed(service, start, lambda t: t != "stock.changed")
    have = {r.body["data"]["seq"] for r in receiver.got.get(path, [])}
    return bool(want) and set(want) <= have


async def test_bodies_are_the_feed_events_and_retries_keep_their_id(
    node: Client, service: StockService, tokens: dict[Role, str], receiver: Receiver
) -> None:
    manager = tokens[Role.MANAGER]
    hook = await _subscribe(node, manager, receiver, "bo", ["backorder.*", "order.shipped"])
    start = (await service.feed_bounds())[1]
    await _make_events(node, tokens, "c")
    await _until(lambda: _count(receiver, "bo", 4), 20 * UNIT, "deliveries")
    feed = {e.seq: e.to_wire() for e in await service.events_after(start, 1000)}
    for got in receiver.got["bo"]:
        data = got.body["data"]
        assert json.loads(json.dumps(feed[data["seq"]], default=str)) == data
        assert got.body["timestamp"] == data["ts"]
        assert data["customer_email"] == "ann@example.com"
    created = next(r for r in receiver.got["bo"] if r.body["type"] == "backorder.created")
    assert created.body["data"]["expected_date"] is None  # no purchase order yet

    status, log = await call(node, "GET", f"/api/v1/webhooks/{hook['id']}/deliveries", manager)
    assert status == 200
    first = log["items"][0]
    assert (first["status"], first["attempts"], first["last_status"]) == ("delivered", 1, 204)
    assert first["msg_id"] == created.msg_id
    count = len(receiver.got["bo"])
    status, again = await call(
        node,
        "POST",
        f"/api/v1/webhooks/{hook['id']}/deliveries/{first['id']}/redeliver",
        manager,
    )
    assert (status, again["status"]) == (202, "pending")
    await _until(lambda: _count(receiver, "bo", count + 1), 20 * UNIT, "the redelivery")
    repeat = receiver.got["bo"][-1]
    assert (repeat.msg_id, repeat.raw) == (created.msg_id, created.raw)
    status, problem = await call(
        node, "POST", f"/api/v1/webhooks/{hook['id']}/deliveries/999999/redeliver", manager
    )
    assert (status, problem["type"]) == (404, "/problems/not-found")


async def _count(receiver: Receiver, path: str, n: int) -> bool:
    return len(receiver.got.get(path, [])) >= n


async def test_a_slow_receiver_delays_neither_other_endpoints_nor_writes(
    node: Client, tokens: dict[Role, str], receiver: Receiver
) -> None:
    manager, worker = tokens[Role.MANAGER], tokens[Role.WORKER]
    receiver.delay["slow"] = 5 * UNIT
    await _subscribe(node, manager, receiver, "slow", ["stock.changed"])
    await _subscribe(node, manager, receiver, "fast", ["stock.changed"])
    took = []
    for n in range(6):
        body = {"kind": "receive", "sku": "NUT", "location": "A-01", "quantity": 1}
        began = time.monotonic()
        assert (await post_movement(node, worker, f"slow-{n}", body))[0] == 201
        took.append(time.monotonic() - began)
        await asyncio.sleep(0.3)
    assert max(took) < 2 * UNIT, took
    # the fast endpoint has them all while the slow one is still on its first
    await _until(lambda: _has_on_hand(receiver, "fast", 6), 5 * UNIT, "fast deliveries")
    assert len(receiver.got.get("slow", [])) <= 1
    # coalesced: the slow endpoint gets the latest figure, not six deliveries
    await _until(lambda: _has_on_hand(receiver, "slow", 6), 30 * UNIT, "slow catch-up")
    assert len(receiver.got["slow"]) < 6


async def _has_on_hand(receiver: Receiver, path: str, on_hand: int) -> bool:
    got = receiver.got.get(path, [])
    return any(r.body["data"].get("product_on_hand") == on_hand for r in got)


async def test_webhooks_api_creates_reads_validates_and_deletes(
    client: Client, tokens: dict[Role, str]
) -> None:
    manager = tokens[Role.MANAGER]
    body = {"url": "https://shop.example/hooks", "events": ["alert.*", "backorder.created"]}
    status, hook = await call(client, "POST", "/api/v1/webhooks", manager, body)
    assert status == 201
    assert hook["secret"].startswith("whsec_")
    assert (hook["url"], hook["events"]) == (body["url"], body["events"])
    secret = "whsec_" + "A" * 44
    status, mine = await call(
        client, "POST", "/api/v1/webhooks", manager, {**body, "secret": secret}
    )
    assert (status, mine["secret"]) == (201, secret)
    status, page = await call(client, "GET", "/api/v1/webhooks", manager)
    assert [h["id"] for h in page["items"]] == [hook["id"], mine["id"]]
    status, one = await call(client, "GET", f"/api/v1/webhooks/{hook['id']}", manager)
    assert (status, one["secret"]) == (200, hook["secret"])
    for bad in (
        {**body, "events": ["nope.created"]},
        {**body, "events": []},
        {**body, "url": "ftp://shop.example/x"},
        {**body, "secret": "whsec_short"},
    ):
        status, problem = await call(client, "POST", "/api/v1/webhooks", manager, bad)
        assert (status, problem["type"]) == (422, "/problems/validation-error"), bad
    status, problem = await call(client, "POST", "/api/v1/webhooks", tokens[Role.WORKER], body)
    assert status == 403
    status, gone = await call(client, "DELETE", f"/api/v1/webhooks/{hook['id']}", manager)
    assert (status, gone["id"]) == (200, hook["id"])
    for method, path in (
        ("GET", f"/api/v1/webhooks/{hook['id']}"),
        ("DELETE", f"/api/v1/webhooks/{hook['id']}"),
        ("GET", f"/api/v1/webhooks/{hook['id']}/deliveries"),
    ):
        status, problem = await call(client, method, path, manager)
        assert (status, problem["type"]) == (404, "/problems/not-found")
    response = await client.get("/api/v1/webhooks", headers=bearer(tokens[Role.SHOP]))
    assert response.status == 403


async def test_the_delivery_log_forgets_finished_deliveries_after_30_days(
    client: Client, tokens: dict[Role, str], database: Database
) -> None:
    manager = tokens[Role.MANAGER]
    body = {"url": "https://shop.example/hooks", "events": ["*"]}
    status, hook = await call(client, "POST", "/api/v1/webhooks", manager, body)
    assert status == 201
    async with database.pool.acquire() as conn:
        for n, (state, age) in enumerate(
            [("delivered", 31), ("failed", 31), ("delivered", 29), ("pending", 40)], start=1
        ):
            await conn.execute(
                "INSERT INTO webhook_deliveries (webhook_id, msg_id, seq, type, body, status, "
                "finished_at) VALUES ($1, $2, $3, 'order.created', '{}', $4, "
                "CASE WHEN $4 <> 'pending' THEN now() - make_interval(days => $5) END)",
                hook["id"], f"msg_{n}", n, state, age,
            )  # fmt: skip
        assert await webhooks_store.prune(conn) == 2
    status, log = await call(client, "GET", f"/api/v1/webhooks/{hook['id']}/deliveries", manager)
    assert [(d["msg_id"], d["status"]) for d in log["items"]] == [
        ("msg_3", "delivered"),
        ("msg_4", "pending"),
    ]
