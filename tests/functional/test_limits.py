"""Limits that keep a web node (and the gateway beside it) serving under abuse or load:
feed socket caps and the hello deadline, the web pool's acquire deadline, body and
header read timeouts, the CSV export cap, and ``stockd serve``'s separate pools.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from pathlib import Path
from typing import Any

import pytest
import websockets
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from websockets.exceptions import InvalidStatus

from hardware_mocks.frames import gtin14
from hardware_mocks.pty_scanner import PtyScanner
from stock_core.domain.token import Role
from stock_core.errors import PoolExhaustedError
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.store.web_pool import open_web_pool
from tests.cluster import StockdProcess
from tests.functional.api.test_movements_csv import FILL
from tests.functional.conftest import ServerFactory
from tests.functional.feed_helpers import closed_with
from tests.functional.web_app import stop_relays
from tests.gateway_harness import ledger_rows
from tests.timing import UNIT


def feed_url(server: TestServer) -> str:
    return str(server.make_url("/feed")).replace("http://", "ws://")


# -- the feed ------------------------------------------------------------------------


async def test_sockets_that_never_say_hello_are_capped_and_closed_after_the_timeout(
    start_server: ServerFactory, service: StockService
) -> None:
    server = await start_server(hello_timeout=1.0 * UNIT, max_pending_hellos=3)
    url = feed_url(server)
    silent = [await websockets.connect(url) for _ in range(3)]
    with pytest.raises(InvalidStatus) as refused:  # a fourth waits for nobody
        await websockets.connect(url)
    assert refused.value.response.status_code == 503
    assert refused.value.response.headers["Retry-After"] == "1"
    assert b"/problems/busy" in refused.value.response.body
    closes = await asyncio.gather(*(closed_with(ws, 5.0) for ws in silent))
    codes = [code for code, _ in closes]
    assert codes == [4408] * 3
    # once they are gone, a display that does say hello gets in
    token, _ = await service.create_token("floor", Role.DISPLAY)
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5 * UNIT))["type"] == "snapshot"


async def test_feed_sockets_are_capped_per_node(
    start_server: ServerFactory, service: StockService
) -> None:
    server = await start_server(max_feed_clients=2, max_pending_hellos=2)
    url = feed_url(server)
    token, _ = await service.create_token("floor", Role.DISPLAY)
    displays = []
    for _ in range(2):
        ws = await websockets.connect(url)
        await ws.send(json.dumps({"type": "hello", "token": token}))
        await asyncio.wait_for(ws.recv(), 5 * UNIT)
        displays.append(ws)
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(url)
    assert refused.value.response.status_code == 503
    await displays[0].close()
    await asyncio.sleep(0.2 * UNIT)
    async with websockets.connect(url) as ws:  # room again
        await ws.send(json.dumps({"type": "hello", "token": token}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5 * UNIT))["type"] == "snapshot"
    await displays[1].close()


# -- the web pool ------------------------------------------------------------------------


async def test_a_request_that_gets_no_connection_in_time_answers_503_busy(
    start_server: ServerFactory, service: StockService, database_url: str
) -> None:
    token, _ = await service.create_token("floor", Role.DISPLAY)
    headers = {"Authorization": f"Bearer {token}"}
    async with open_web_pool(database_url, max_size=4, acquire_timeout=0.3 * UNIT) as small:
        server = await start_server(database=small)
        url = str(server.make_url("/api/v1/stock/WIDGET"))
        async with ClientSession() as session:
            async with session.get(url, headers=headers) as response:
                assert response.status == 200  # and the token is cached now
            held = await _take_every_free_connection(small.pool, 1.5 * UNIT)
            assert held
            try:
                started = asyncio.get_running_loop().time()
                async with session.get(url, headers=headers) as response:
                    waited = asyncio.get_running_loop().time() - started
                    assert response.status == 503
                    assert response.content_type == "application/problem+json"
                    assert response.headers["Retry-After"] == "1"
                    problem = await response.json(content_type=None)
                assert problem["type"] == "/problems/busy"
                assert "within 0.3 s" in problem["detail"]
                assert waited < 2.0 * UNIT
            finally:
                for conn in held:
                    await small.pool.release(conn)
            async with session.get(url, headers=headers) as response:
                assert response.status == 200
        await stop_relays()
        await server.close()


async def _take_every_free_connection(pool: Pool, seconds: float) -> list[Any]:
    """Hold every connection that is or comes free within ``seconds`` (the feed relay
    gives its listening connection back when it cannot get a second one)."""
    held = []
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        with contextlib.suppress(PoolExhaustedError):
            held.append(await pool.acquire(timeout=0.1))
    return held


# -- request bodies and headers ------------------------------------------------------


async def _raw_request(host: str, port: int, data: bytes, wait: float) -> bytes:
    """Send ``data``, then read what comes back within ``wait`` seconds (b"" if nothing)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                return await reader.read(65536)
        return b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_a_body_that_does_not_arrive_in_time_is_408(
    start_server: ServerFactory, service: StockService
) -> None:
    server = await start_server(body_timeout=0.5 * UNIT)
    token, _ = await service.create_token("worker", Role.WORKER)
    head = (
        "POST /api/v1/movements HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nIdempotency-Key: slow-1\r\n"
        "Content-Length: 200\r\n\r\n"
    ).encode()
    answer = await _raw_request(server.host, server.port or 0, head + b'{"kind": "rec', 5 * UNIT)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"/problems/request-timeout" in answer


# -- stockd processes ------------------------------------------------------------------


def _config(path: Path, web: dict[str, object], extra: str = "") -> Path:
    lines = ["[web]", 'host = "127.0.0.1"', "port = 0"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in web.items()]
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


async def test_a_connection_slow_to_send_its_headers_is_closed(
    database_url: str, tmp_path: Path
) -> None:
    config = await asyncio.to_thread(_config, tmp_path / "web.toml", {"header_timeout_s": 0.5})
    node = StockdProcess("web", config, database_url=database_url, log_dir=tmp_path)
    await node.start(timeout=30 * UNIT)
    try:
        assert node.url is not None
        host, port = node.url.removeprefix("http://").split(":")
        started = asyncio.get_running_loop().time()
        answer = await _raw_request(host, int(port), b"GET /healthz HTTP/1.1\r\nHost: x\r\n", 5.0)
        assert answer == b""  # closed without an answer ...
        assert asyncio.get_running_loop().time() - started < 3.0 * UNIT  # ... soon
        whole = await _raw_request(host, int(port), b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 5)
        assert whole.startswith(b"HTTP/1.1 200 ")
    finally:
        await node.stop()


class SlowReader:
    """A CSV download read a few bytes at a time, through a tiny receive buffer."""

    def __init__(self, host: str, port: int, path: str, token: str) -> None:
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
        self.host, self.port = host, port
        self.status: int | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (self.host, self.port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
        writer.write(self.request)
        status_line = await reader.readline()
        self.status = int(status_line.split()[1])
        self.task = asyncio.create_task(self._dribble(reader, writer))
        return self.status

    async def _dribble(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                chunk = await reader.read(64)
                if not chunk:
                    return
                await asyncio.sleep(0.5)
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await self.task


async def test_slow_csv_downloads_delay_neither_an_api_write_nor_a_scan(
    service: StockService, pool: Pool, database_url: str, tmp_path: Path
) -> None:
    """``stockd serve``: the web app's exports are capped and on their own pool."""
    async with pool.acquire() as conn, conn.transaction():
        for statement in FILL:
            await conn.execute(statement, 100_000)
    scanner = await PtyScanner.create(tmp_path / "tty-slow", name="dock-9")
    scanners = (
        f'[[scanners]]\nid = "dock-9"\nurl = "{scanner.path}"\nbaudrate = 115200\n'
        'terminator = "CRLF"\nfeedback = "honeywell"\nmode = "receive"\nlocation = "DOCK-1"\n'
        f'[gateway]\nspool_dir = "{tmp_path / "spool"}"\nreconnect_max_s = 0.5\n'
    )
    config = await asyncio.to_thread(
        _config,
        tmp_path / "serve.toml",
        {"pool_size": 6, "max_exports": 2, "acquire_timeout_s": 2.0},
        scanners,
    )
    node = StockdProcess("serve", config, database_url=database_url, log_dir=tmp_path)
    manager, _ = await service.create_token("reports", Role.MANAGER)
    readers: list[SlowReader] = []
    await node.start(timeout=30 * UNIT)
    try:
        assert node.url is not None
        host, port = node.url.removeprefix("http://").split(":")
        for _ in range(8):  # a BI tool opening export after export
            readers.append(SlowReader(host, int(port), "/api/v1/movements.csv", manager))
        statuses = [await r.start() for r in readers]
        assert sorted(statuses) == [200, 200] + [503] * 6
        stalled = (  # the two exports, each stalled inside its cursor's transaction
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'idle in transaction' AND query ILIKE '%FROM movements%' "
            "AND state_change < now() - interval '1 second'"
        )
        for _ in range(int(200 * UNIT)):
            if await pool.fetchval(stalled) >= 2:
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the slow exports do not hold their connections")

        # an API write, through the web pool, is not kept waiting ...
        started = asyncio.get_running_loop().time()
        async with (
            ClientSession() as session,
            session.post(
                f"{node.url}/api/v1/movements",
                json={"kind": "receive", "sku": "WIDGET", "location": "A-01", "quantity": 2},
                headers={"Authorization": f"Bearer {manager}", "Idempotency-Key": "during"},
            ) as response,
        ):
            assert response.status == 201, await response.text()
        assert asyncio.get_running_loop().time() - started < 1.5 * UNIT

        # ... nor is a scan, on the gateway's own pool: acked and in the ledger, not spooled
        before = scanner.feedback
        scanner.send_scan(f"01{gtin14('05012345678900')}10LOT-SLOW", aim="]C1")
        after = await scanner.wait_feedback(before.events + 1, 2.0 * UNIT)
        assert after.acks == before.acks + 1
        rows = [r for r in await ledger_rows(pool, "dock-9") if r["lot"] == "LOT-SLOW"]
        assert len(rows) == 1
        assert "spooling scans" not in node.tail(100_000)
    finally:
        for reader in readers:
            await reader.stop()
        await node.stop()
        await scanner.aclose()
