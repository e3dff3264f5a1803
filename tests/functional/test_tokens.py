"""Token expiry, revocation reaching every web node and its live feeds, the token cache,
and "last used" recorded without ever blocking sign-in.

Two apps on one database stand for two web nodes (as behind a load balancer); the
multi-process version, with the CLI revoking, is the last test.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import websockets
from aiohttp import ClientSession
from aiohttp import web
from aiohttp.test_utils import TestServer

from stock_core.domain.token import Role
from stock_core.domain.token import token_digest
from stock_core.model import Token
from stock_core.service import StockService
from stock_core.store.database import Database
from stock_core.store.web_pool import open_web_pool
from tests.cluster import StockdProcess
from tests.cluster import write_config
from tests.functional.command import stockd
from tests.functional.conftest import ServerFactory
from tests.functional.feed_helpers import closed_with
from tests.functional.web_app import stop_relays
from tests.timing import UNIT
from web_ui.auth import TokenCache

REVOKED_WITHIN = 3.0
"""Seconds for a revocation to close feeds and refuse requests on every node."""


class Node:
    """One web node: the app on a TestServer."""

    def __init__(self, server: TestServer) -> None:
        self.server = server

    @property
    def app(self) -> web.Application:
        return self.server.app

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    @property
    def feed(self) -> str:
        return self.url("/feed").replace("http://", "ws://")


NodeFactory = Callable[..., Awaitable[Node]]


@pytest.fixture
def start_node(start_server: ServerFactory) -> NodeFactory:
    async def start(**options: Any) -> Node:
        return Node(await start_server(**options))

    return start


async def status_of(node: Node, token: str, path: str = "/api/v1/stock/WIDGET") -> int:
    async with (
        ClientSession() as session,
        session.get(node.url(path), headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        return response.status


async def open_feed(url: str, token: str) -> websockets.ClientConnection:
    ws = await websockets.connect(url, max_size=None)
    await ws.send(json.dumps({"type": "hello", "token": token, "since": None}))
    first = json.loads(await asyncio.wait_for(ws.recv(), 5 * UNIT))
    assert first["type"] == "snapshot"
    return ws


async def test_a_revocation_through_one_node_closes_the_feeds_on_both_and_refuses_requests(
    start_node: NodeFactory, service: StockService
) -> None:
    nodes = [await start_node(), await start_node()]
    admin, _ = await service.create_token("admin", Role.ADMIN)
    display, info = await service.create_token("floor", Role.DISPLAY)
    other, _ = await service.create_token("other floor", Role.DISPLAY)
    feeds = [await open_feed(node.feed, display) for node in nodes]
    bystander = await open_feed(nodes[1].feed, other)
    for node in nodes:  # both nodes have the token cached now
        assert await status_of(node, display) == 200

    async with (
        ClientSession() as session,
        session.delete(
            nodes[0].url(f"/api/v1/tokens/{info.id}"),
            headers={"Authorization": f"Bearer {admin}"},
        ) as response,
    ):
        assert response.status == 200
        assert (await response.json())["status"] == "revoked"

    started = asyncio.get_running_loop().time()
    closes = await asyncio.gather(*(closed_with(ws, REVOKED_WITHIN) for ws in feeds))
    assert closes == [(4401, "token revoked")] * 2
    for node in nodes:
        assert await status_of(node, display) == 401
    assert asyncio.get_running_loop().time() - started < REVOKED_WITHIN * UNIT
    # another token's display is untouched
    await bystander.send(json.dumps({"type": "ping"}))
    assert json.loads(await asyncio.wait_for(bystander.recv(), 5 * UNIT))["type"] == "pong"
    await bystander.close()


async def test_a_revoked_token_is_refused_at_hello(
    start_node: NodeFactory, service: StockService
) -> None:
    node = await start_node()
    display, info = await service.create_token("floor", Role.DISPLAY)
    await service.revoke_token(info.id)
    async with websockets.connect(node.feed) as ws:
        await ws.send(json.dumps({"type": "hello", "token": display}))
        assert await closed_with(ws, 5.0) == (4401, "unknown or revoked token")


async def test_an_expired_token_is_refused_like_a_revoked_one(
    start_node: NodeFactory, service: StockService, database: Database
) -> None:
    node = await start_node()
    text, info = await service.create_token(
        "temp", Role.MANAGER, expires_at=datetime.now(UTC) + timedelta(hours=1)
    )
    assert await status_of(node, text) == 200
    await database.pool.execute(
        "UPDATE api_tokens SET expires_at = created_at + interval '1 millisecond' WHERE id = $1",
        info.id,
    )
    fresh = await start_node()  # nothing cached
    assert await status_of(fresh, text) == 401
    async with websockets.connect(fresh.feed) as ws:
        await ws.send(json.dumps({"type": "hello", "token": text}))
        assert (await closed_with(ws, 5.0))[0] == 4401
    listed = [t for t in await service.list_tokens() if t.id == info.id]
    assert listed[0].expired(datetime.now(UTC))


async def test_a_token_that_expires_while_streaming_closes_its_feed_and_its_cache_entry(
    start_node: NodeFactory, service: StockService
) -> None:
    node = await start_node()
    text, _ = await service.create_token(
        "short", Role.DISPLAY, expires_at=datetime.now(UTC) + timedelta(seconds=1.5 * UNIT)
    )
    assert await status_of(node, text) == 200  # cached now, for less than its ttl
    ws = await open_feed(node.feed, text)
    assert await closed_with(ws, 5.0) == (4401, "token expired")
    assert await status_of(node, text) == 401


async def test_the_api_creates_tokens_that_expire(
    start_node: NodeFactory, service: StockService
) -> None:
    node = await start_node()
    admin, _ = await service.create_token("admin", Role.ADMIN)
    headers = {"Authorization": f"Bearer {admin}"}
    async with ClientSession() as session:

        async def post(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            async with session.post(
                node.url("/api/v1/tokens"), json=body, headers=headers
            ) as response:
                return response.status, await response.json(content_type=None)

        status, made = await post({"name": "bi", "role": "manager", "expires_in": "30d"})
        assert status == 201
        expires = datetime.fromisoformat(made["expires_at"])
        assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)
        assert made["status"] == "active"
        at = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        status, made = await post({"name": "bi", "role": "manager", "expires_at": at})
        assert (status, datetime.fromisoformat(made["expires_at"])) == (
            201,
            datetime.fromisoformat(at),
        )
        status, made = await post({"name": "forever", "role": "display"})
        assert (status, made["expires_at"]) == (201, None)
        for bad in (
            {"expires_in": "0m"},
            {"expires_in": "30 days"},
            {"expires_in": "12h", "expires_at": at},
            {"expires_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()},
            {"expires_at": "2030-01-01T00:00:00"},  # no time zone
        ):
            status, problem = await post({"name": "bad", "role": "display", **bad})
            assert (status, problem["type"]) == (422, "/problems/validation-error"), bad


# -- the cache -----------------------------------------------------------------------


class CountingService:
    """A stand-in for StockService.authenticate that counts database lookups."""

    def __init__(self, known: dict[str, Token]) -> None:
        self.known = known
        self.calls = 0

    async def authenticate(self, token: str) -> Token | None:
        self.calls += 1
        return self.known.get(token)


def token_info(token_id: int, expires_at: datetime | None = None) -> Token:
    now = datetime.now(UTC)
    return Token(token_id, "t", Role.DISPLAY, "abcd1234", now, None, None, expires_at)


GOOD = "stk_abcd1234_" + "A" * 43
UNKNOWN = "stk_zzzz9999_" + "B" * 43


async def test_the_token_cache_keys_by_hash_is_bounded_and_forgets_failures_soon() -> None:
    clock = [0.0]
    cache = TokenCache(ttl=30.0, negative_ttl=5.0, negative_size=3, clock=lambda: clock[0])
    service = CountingService({GOOD: token_info(1)})
    lookup = cache.lookup

    assert await lookup(service, UNKNOWN) is None
    assert await lookup(service, UNKNOWN) is None
    assert service.calls == 1  # the failure was cached ...
    assert UNKNOWN not in repr(vars(cache))  # ... under a hash, not the header's text
    assert token_digest(UNKNOWN) in repr(vars(cache))
    clock[0] += 6.0
    assert await lookup(service, UNKNOWN) is None
    assert service.calls == 2  # ... for a few seconds only

    assert await lookup(service, "garbage") is None
    assert service.calls == 2  # malformed: no lookup, no entry

    for n in range(10):  # many distinct bad tokens: the negative side stays small
        await lookup(service, f"stk_zzzz{n:04d}_" + "C" * 43)
    assert len(cache) <= 3

    assert await lookup(service, GOOD) is not None
    assert await lookup(service, GOOD) is not None
    calls = service.calls
    cache.drop(1)  # revoked: never answered from the cache again, nor re-cached
    assert await lookup(service, GOOD) is None
    assert service.calls == calls + 1


async def test_the_token_cache_does_not_outlive_the_tokens_expiry() -> None:
    clock = [0.0]
    cache = TokenCache(ttl=30.0, clock=lambda: clock[0])
    soon = datetime.now(UTC) + timedelta(seconds=2)
    service = CountingService({GOOD: token_info(1, soon)})
    assert await cache.lookup(service, GOOD) is not None
    clock[0] += 1.0
    assert await cache.lookup(service, GOOD) is not None
    assert service.calls == 1
    clock[0] += 2.0  # past the expiry, well within the ttl: looked up again
    await cache.lookup(service, GOOD)
    assert service.calls == 2


# -- last used ---------------------------------------------------------------------


async def test_last_used_is_recorded_in_batches_after_the_request(
    start_node: NodeFactory, service: StockService, database: Database
) -> None:
    node = await start_node(token_last_used_interval=0.2)
    text, info = await service.create_token("floor", Role.DISPLAY)
    assert await status_of(node, text) == 200
    query = "SELECT last_used_at FROM api_tokens WHERE id = $1"
    for _ in range(int(100 * UNIT)):
        if await database.pool.fetchval(query, info.id) is not None:
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("last_used_at was not recorded within 5 s")


async def test_sign_in_works_on_a_read_only_database_and_the_failed_write_is_logged_once(
    start_node: NodeFactory,
    service: StockService,
    database: Database,
    database_url: str,
    database_name: str,
    admin_database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    text, info = await service.create_token("floor", Role.DISPLAY)
    worker, _ = await service.create_token("dock", Role.WORKER)
    admin = await asyncpg.connect(admin_database_url)  # the owner: the app role may not
    try:
        await admin.execute(
            f'ALTER DATABASE "{database_name}" SET default_transaction_read_only = on'
        )
    finally:
        await admin.close()
    async with open_web_pool(database_url, max_size=6, acquire_timeout=2.0) as read_only:
        node = await start_node(database=read_only, token_last_used_interval=0.1)
        with caplog.at_level(logging.WARNING, logger="stock_core.store.tokens"):
            for _ in range(3):
                assert await status_of(node, text) == 200
                await asyncio.sleep(0.25 * UNIT)  # several flushes fail meanwhile
        # a write on the read-only server is an outage: 503 problem, nothing written
        body = {"kind": "receive", "sku": "WIDGET", "location": "A-01", "quantity": 1}
        headers = {"Authorization": f"Bearer {worker}", "Idempotency-Key": "ro-1"}
        async with (
            ClientSession() as session,
            session.post(node.url("/api/v1/movements"), json=body, headers=headers) as refused,
        ):
            assert refused.status == 503, await refused.text()
            assert refused.content_type == "application/problem+json"
        await stop_relays()
        await node.server.close()
    warnings = [r for r in caplog.records if "last used" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "read-only" in warnings[0].getMessage()
    assert (
        await database.pool.fetchval("SELECT last_used_at FROM api_tokens WHERE id = $1", info.id)
        is None
    )
    assert await database.pool.fetchval("SELECT count(*) FROM movements") == 0


# -- two processes, the CLI revoking ----------------------------------------------------


async def test_stockd_token_revoke_closes_live_feeds_on_two_web_processes(
    service: StockService, database_url: str, tmp_path: Path
) -> None:
    config = await asyncio.to_thread(write_config, tmp_path / "web.toml")
    webs = [
        StockdProcess("web", config, database_url=database_url, log_dir=tmp_path, name=f"web{n}")
        for n in range(2)
    ]
    display, info = await service.create_token("floor", Role.DISPLAY)
    try:
        await asyncio.gather(*(w.start(timeout=30 * UNIT) for w in webs))
        feeds = []
        for w in webs:
            assert w.url is not None
            feeds.append(await open_feed(w.url.replace("http://", "ws://") + "/feed", display))
        home = tmp_path / "cli"
        home.mkdir()
        run = await stockd("token", "revoke", info.prefix, home=home, url=database_url)
        assert run.returncode == 0, run.stderr
        closes = await asyncio.gather(*(closed_with(ws, REVOKED_WITHIN) for ws in feeds))
        assert closes == [(4401, "token revoked")] * 2
        async with ClientSession() as session:
            for w in webs:
                async with session.get(
                    f"{w.url}/api/v1/stock/WIDGET", headers={"Authorization": f"Bearer {display}"}
                ) as response:
                    assert response.status == 401
    finally:
        for w in webs:
            if w.running:
                await w.stop()
