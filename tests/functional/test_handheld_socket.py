"""The handheld socket ``/scan/ws`` against the real app and PostgreSQL, with a
``websockets`` client playing the page: scans in, exactly one ack or nak each, stock
changed once however often a scan is sent, the session kept across connections and
servers, and the handheld among the scanners."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiohttp
import pytest
import websockets
from aiohttp.test_utils import TestServer
from websockets.asyncio.client import ClientConnection

from stock_core.domain.token import Role
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.store.database import Database
from tests.faultproxy import FaultProxy
from tests.functional.conftest import ServerFactory
from tests.gateway_harness import ledger_rows
from tests.gateway_harness import outbox_payloads
from tests.gateway_harness import stock_rows
from tests.timing import UNIT
from web_ui.app import create_app
from web_ui.config import WebConfig

WIDGET_EAN = "5012345678900"
GADGET = "4006381333931"


class Handheld:
    """The page's side of the socket: hello, then one scan at a time."""

    def __init__(self, server: TestServer, token: str, scanner: str = "web-test1") -> None:
        self.server = server
        self.url = str(server.make_url("/scan/ws")).replace("http://", "ws://")
        self.token = token
        self.scanner = scanner
        self.ws: ClientConnection | None = None
        self.welcome: dict[str, Any] = {}

    async def connect(self, **hello: Any) -> dict[str, Any]:
        self.ws = await websockets.connect(self.url)
        message = {"type": "hello", "token": self.token, "scanner": self.scanner, **hello}
        await self.ws.send(json.dumps(message))
        self.welcome = await self.receive()
        return self.welcome

    async def receive(self) -> dict[str, Any]:
        assert self.ws is not None
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), 10 * UNIT))
        return message

    async def scan(self, seq: int, code: str) -> dict[str, Any]:
        assert self.ws is not None
        await self.ws.send(json.dumps({"type": "scan", "seq": seq, "code": code}))
        reply = await self.receive()
        assert reply["seq"] == seq, reply
        return reply

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


@pytest.fixture
async def handheld(start_server: ServerFactory, worker: str) -> AsyncIterator[Handheld]:
    """The worker's handheld on a server of its own, hello said (the answer on
    ``welcome``); closed at the end."""
    hh = Handheld(await start_server(), worker)
    await hh.connect()
    yield hh
    await hh.close()


async def _scanners(server: TestServer, service: StockService) -> list[dict[str, Any]]:
    manager, _ = await service.create_token("boss", Role.MANAGER)
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            server.make_url("/api/v1/scanners"), headers={"Authorization": f"Bearer {manager}"}
        ) as response,
    ):
        assert response.status == 200
        body = await response.json()
    items: list[dict[str, Any]] = body["items"]
    return items


async def test_scans_are_taken_through_the_gateways_session_and_answered_once_each(
    handheld: Handheld, service: StockService, pool: Pool
) -> None:
    hh, welcome = handheld, handheld.welcome
    assert welcome["type"] == "welcome"
    assert (welcome["worker"], welcome["last_seq"]) == ("ana", 0)
    assert welcome["session"]["mode"] == "receive"
    script = [
        ("LOC:A-01", "ack"),
        ("QTY:5", "ack"),
        (WIDGET_EAN, "ack"),
        ("CMD:PICK", "ack"),
        (GADGET, "nak"),  # nothing of it at A-01
        ("LOC:NOWHERE", "nak"),
        (WIDGET_EAN, "ack"),
        ("]C1" + "0105012345678900" + "10LOT-7\x1d" + "17301231", "ack"),  # no lot 7 here
    ]
    replies = [await hh.scan(seq, code) for seq, (code, _) in enumerate(script, 1)]
    assert [r["type"] for r in replies] == [
        "ack",
        "ack",
        "ack",
        "ack",
        "nak",
        "nak",
        "ack",
        "nak",
    ]
    assert replies[2]["detail"] == "received 5 × WIDGET at A-01"
    assert replies[2]["movements"][0]["delta"] == 5
    assert "GADGET" in replies[4]["reason"]
    assert replies[5]["reason"] == "unknown location NOWHERE"
    assert replies[6]["session"]["mode"] == "pick"
    assert await stock_rows(pool) == {("WIDGET", "A-01"): 4}
    rows = await ledger_rows(pool, "web-test1")
    assert [(r["kind"], r["delta"], r["scan_seq"], r["idempotency_key"]) for r in rows] == [
        ("receive", 5, 3, "handheld:web-test1:3"),
        ("pick", -1, 7, "handheld:web-test1:7"),
    ]
    rejected = await outbox_payloads(pool, "scan.rejected")
    assert [(e["scanner"], e["code"]) for e in rejected] == [
        ("web-test1", GADGET),
        ("web-test1", "LOC:NOWHERE"),
        ("web-test1", "]C10105012345678900" + "10LOT-7<GS>17301231"),
    ]
    listed = {s["id"]: s for s in await _scanners(hh.server, service)}
    assert listed["web-test1"]["state"] == "connected"
    assert listed["web-test1"]["mode"] == "pick"
    assert listed["web-test1"]["location"] == "A-01"


async def test_a_scan_sent_again_gets_its_first_reply_and_changes_nothing(
    handheld: Handheld, start_server: ServerFactory, worker: str, pool: Pool
) -> None:
    hh = handheld
    await hh.scan(1, "LOC:A-01")
    first = await hh.scan(2, WIDGET_EAN)
    again = await hh.scan(2, WIDGET_EAN)
    assert again["replayed"] is True
    assert {**again, "replayed": False} == first
    await hh.close()
    # another server (a restart): the session and the last scan are kept
    other = await start_server()
    hh = Handheld(other, worker)
    welcome = await hh.connect()
    assert welcome["last_seq"] == 2
    assert welcome["session"]["location"] == "A-01"
    assert (await hh.scan(2, WIDGET_EAN))["replayed"] is True
    assert (await hh.scan(3, WIDGET_EAN))["detail"] == "received 1 × WIDGET at A-01"
    assert await stock_rows(pool) == {("WIDGET", "A-01"): 2}
    await hh.close()


async def test_a_count_in_progress_survives_a_reconnect(
    handheld: Handheld, start_server: ServerFactory, worker: str, pool: Pool
) -> None:
    hh = handheld
    for seq, code in enumerate(["CMD:COUNT", "LOC:A-02", "QTY:3", GADGET], 1):
        assert (await hh.scan(seq, code))["type"] == "ack"
    await hh.close()
    hh = Handheld(await start_server(), worker)
    welcome = await hh.connect()
    pending = welcome["session"]["pending"]
    assert [(line["barcode"], line["quantity"]) for line in pending] == [("0" + GADGET, 3)]
    done = await hh.scan(5, "CMD:DONE")
    assert done["type"] == "ack", done
    assert await stock_rows(pool) == {("GADGET", "A-02"): 3}
    await hh.close()


async def test_a_scan_taken_offline_and_refused_now_is_a_spool_exception_for_a_manager(
    handheld: Handheld, service: StockService
) -> None:
    hh = handheld
    assert hh.ws is not None
    await hh.scan(1, "CMD:PICK")
    await hh.scan(2, "LOC:A-01")
    taken = "2026-12-07T10:00:00+00:00"
    for seq, offline in ((3, False), (4, True)):
        message = {"type": "scan", "seq": seq, "code": GADGET, "offline": offline}
        await hh.ws.send(json.dumps({**message, "taken_at": taken}))
        assert (await hh.receive())["type"] == "nak"
    (late,) = await service.list_spool_exceptions()
    assert (late.scanner, late.scan_seq, late.key) == ("web-test1", 4, "handheld:web-test1:4")
    assert late.spooled_at is not None
    assert late.spooled_at.isoformat() == taken


async def test_gs1_separator_the_device_sends_is_read_as_fnc1(
    start_server: ServerFactory, worker: str, pool: Pool
) -> None:
    hh = Handheld(await start_server(), worker)
    await hh.connect(gs1_separator="~")
    await hh.scan(1, "LOC:A-01")
    reply = await hh.scan(2, "]C1" + "0105012345678900" + "10LOT-7~" + "17301231")
    assert reply["type"] == "ack", reply
    assert reply["movements"][0]["lot"] == "LOT-7"
    await hh.close()


async def test_the_handheld_shows_offline_when_its_page_goes(
    handheld: Handheld, service: StockService, pool: Pool
) -> None:
    await handheld.close()
    listed: dict[str, dict[str, Any]] = {}
    for _ in range(100):
        listed = {s["id"]: s for s in await _scanners(handheld.server, service)}
        if listed["web-test1"]["state"] == "offline":
            break
        await asyncio.sleep(0.05 * UNIT)
    assert listed["web-test1"]["state"] == "offline"
    statuses = await outbox_payloads(pool, "scanner.status")
    assert [s["state"] for s in statuses if s["scanner"] == "web-test1"] == [
        "connected",
        "offline",
    ]


async def test_the_same_handheld_connecting_again_closes_its_older_socket(
    start_server: ServerFactory, worker: str
) -> None:
    server = await start_server()
    first, second = Handheld(server, worker), Handheld(server, worker)
    await first.connect()
    await second.connect()
    assert first.ws is not None
    with pytest.raises(websockets.ConnectionClosed):
        await first.receive()
    assert first.ws.close_code == 4409
    assert (await second.scan(1, "CMD:PICK"))["type"] == "ack"
    await second.close()


@pytest.mark.parametrize(
    ("hello", "code"),
    [
        ({"type": "hello", "token": "stk_nope", "scanner": "web-x"}, 4401),
        ({"type": "hello", "scanner": "web-x"}, 4400),
        ({"type": "hello", "token": "t", "scanner": "no spaces"}, 4400),
        ({"type": "hello", "token": "t", "scanner": "web-x", "gs1_separator": "A"}, 4400),
    ],
)
async def test_a_bad_hello_closes_with_its_reason(
    start_server: ServerFactory, hello: dict[str, Any], code: int
) -> None:
    server = await start_server()
    url = str(server.make_url("/scan/ws")).replace("http://", "ws://")
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps(hello))
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5 * UNIT)
        assert ws.close_code == code


async def test_a_display_token_may_not_scan(
    start_server: ServerFactory, service: StockService
) -> None:
    display, _ = await service.create_token("floor", Role.DISPLAY)
    hh = Handheld(await start_server(), display)
    with pytest.raises(websockets.ConnectionClosed):
        await hh.connect()
    assert hh.ws is not None
    assert (hh.ws.close_code, hh.ws.close_reason) == (4403, "scanning needs a worker token")


async def test_malformed_messages_get_an_error_and_the_socket_stays(
    start_server: ServerFactory, worker: str, pool: Pool
) -> None:
    hh = Handheld(await start_server(), worker)
    await hh.connect()
    assert hh.ws is not None
    for bad in ["not json", json.dumps({"type": "dance"}), json.dumps({"type": "scan"})]:
        await hh.ws.send(bad)
        assert (await hh.receive())["type"] == "error"
    await hh.ws.send(json.dumps({"type": "scan", "seq": 0, "code": "x"}))
    error = await hh.receive()
    assert "seq" in error["reason"]
    await hh.ws.send(json.dumps({"type": "ping"}))
    assert await hh.receive() == {"type": "pong", "last_seq": 0}
    garbage = await hh.scan(1, "\x07\x08")
    assert garbage["type"] == "nak"
    assert await ledger_rows(pool) == []
    await hh.close()


async def test_the_page_is_served_at_scan(start_server: ServerFactory) -> None:
    server = await start_server()
    async with aiohttp.ClientSession() as http:
        async with http.get(server.make_url("/scan/")) as page:
            assert page.status == 200
            assert "stockd" in await page.text()
        async with http.get(server.make_url("/scan"), allow_redirects=False) as bare:
            assert (bare.status, bare.headers["Location"]) == (308, "/scan/")


@pytest.mark.parametrize("code", [WIDGET_EAN, "LOC:A-01"])
async def test_with_the_database_away_the_socket_closes_1013_and_the_scan_is_taken_once_later(
    gateway_db: Database,
    proxy: FaultProxy,
    service: StockService,
    worker: str,
    pool: Pool,
    code: str,
) -> None:
    """The web node has no spool: it takes no scan while PostgreSQL is away, and says so
    with 1013; the page keeps the scan and sends it again, and it changes stock once."""
    server = TestServer(create_app(WebConfig(database=gateway_db)))
    await server.start_server()
    try:
        hh = Handheld(server, worker)
        await hh.connect()
        await hh.scan(1, "LOC:A-01")
        assert hh.ws is not None
        await proxy.acut()
        await hh.ws.send(json.dumps({"type": "scan", "seq": 2, "code": code}))
        with pytest.raises(websockets.ConnectionClosed):
            await hh.receive()
        assert hh.ws.close_code == 1013
        await proxy.arestore()
        welcome: dict[str, Any] = {}
        for _ in range(100):  # the page reconnects with backoff until the node answers
            try:
                welcome = await hh.connect()
                break
            except (websockets.ConnectionClosed, OSError):
                await asyncio.sleep(0.1 * UNIT)
        assert welcome["session"]["location"] == "A-01"
        first = await hh.scan(2, code)
        assert first["type"] == "ack", first
        assert (await hh.scan(2, code))["replayed"] is True
        await hh.close()
        # a hello while PostgreSQL is away is answered 1013 too
        await proxy.acut()
        with pytest.raises(websockets.ConnectionClosed):
            await Handheld(server, worker, scanner="web-later").connect()
        await proxy.arestore()
    finally:
        await server.close()
    assert await stock_rows(pool) == ({("WIDGET", "A-01"): 1} if code == WIDGET_EAN else {})


async def test_a_scan_whose_reply_is_no_longer_kept_is_answered_already_taken(
    handheld: Handheld, pool: Pool
) -> None:
    hh = handheld
    await hh.scan(1, "LOC:A-01")
    await hh.scan(2, WIDGET_EAN)
    await pool.execute("DELETE FROM handheld_replies")  # long ago, beyond the kept replies
    again = await hh.scan(2, WIDGET_EAN)
    assert (again["type"], again["detail"], again["replayed"]) == ("ack", "already taken", True)
    assert await stock_rows(pool) == {("WIDGET", "A-01"): 1}


async def test_an_unreadable_stored_session_starts_afresh(
    handheld: Handheld, start_server: ServerFactory, worker: str, pool: Pool
) -> None:
    await handheld.scan(1, "CMD:PICK")
    await handheld.close()
    await pool.execute("""UPDATE handheld_sessions SET session = '{"mode": "dance"}'""")
    hh = Handheld(await start_server(), worker)
    welcome = await hh.connect()
    assert (welcome["session"]["mode"], welcome["last_seq"]) == ("receive", 1)
    await hh.close()


async def test_a_silent_or_binary_hello_is_refused(
    start_server: ServerFactory, worker: str
) -> None:
    hh = Handheld(await start_server(hello_timeout=0.2), worker)
    async with websockets.connect(hh.url) as silent:
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(silent.recv(), 5 * UNIT)
        assert silent.close_code == 4408
    async with websockets.connect(hh.url) as binary:
        await binary.send(b"\x00hello")
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(binary.recv(), 5 * UNIT)
        assert binary.close_code == 4400
    await hh.connect()
    assert hh.ws is not None
    await hh.ws.send(b"binary frames are ignored")
    await hh.ws.send(json.dumps({"type": "ping"}))
    assert (await hh.receive())["type"] == "pong"
    await hh.close()


async def test_the_service_worker_is_served_at_the_pages_scope(start_server: ServerFactory) -> None:
    server = await start_server()
    async with (
        aiohttp.ClientSession() as http,
        http.get(server.make_url("/scan/sw.js")) as sw,
    ):
        assert sw.status == 200
        assert sw.headers["Content-Type"].startswith("text/javascript")
        assert "/scan/" in await sw.text()


async def test_beyond_the_pending_hello_limit_the_upgrade_is_refused_busy(
    start_server: ServerFactory, worker: str
) -> None:
    hh = Handheld(await start_server(max_pending_hellos=1), worker)
    async with websockets.connect(hh.url):  # says nothing yet
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(hh.url)
        assert refused.value.response.status_code == 503
    for _ in range(50):  # the first one gone: room again
        try:
            await hh.connect()
            break
        except websockets.InvalidStatus:
            await asyncio.sleep(0.05 * UNIT)
    assert hh.welcome["type"] == "welcome"
    await hh.close()


def test_the_service_worker_keeps_every_file_the_page_loads() -> None:
    """Every file the page loads (its modules, theirs, the camera decoder's) is in sw.js's
    SHELL, so the page loads offline whole; a new import left out fails here, not in a
    dead spot in the aisle."""
    static = Path(__file__).resolve().parents[2] / "web_ui" / "static"
    shell = set(re.findall(r'"(/[^"]+)"', (static / "scan" / "sw.js").read_text()))
    index = (static / "scan" / "index.html").read_text()
    wanted = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', index))
    todo = [u for u in wanted if u.endswith(".js")]
    while todo:
        url = todo.pop()
        text = (static / url.removeprefix("/static/")).read_text()
        found = re.findall(r'from "([^"]+)"', text) + re.findall(
            r'"(/static/[^"]+\.(?:js|wasm|css))"', text
        )
        for target in found:
            absolute = urljoin(url, target)
            if absolute not in wanted:
                wanted.add(absolute)
                if absolute.endswith(".js"):
                    todo.append(absolute)
    assert "/static/vendor/zxing-wasm/share.js" in wanted  # followed the decoder's imports
    assert wanted | {"/scan/"} <= shell, sorted(wanted - shell)


async def test_a_handheld_signs_an_operator_in_and_may_require_one(
    database: Database, service: StockService, worker: str, pool: Pool
) -> None:
    await service.import_operators(b"code,name\nW0042,Ann Smith\n")
    app = create_app(WebConfig(database=database, handheld_require_operator=True))
    server = TestServer(app)
    await server.start_server()
    try:
        hh = Handheld(server, worker, scanner="web-badge")
        await hh.connect()
        script = ["LOC:A-01", WIDGET_EAN, "USR:nobody", "USR:W0042", WIDGET_EAN, "CMD:LOGOUT"]
        replies = [await hh.scan(seq, code) for seq, code in enumerate(script, 1)]
        assert [r["type"] for r in replies] == ["ack", "nak", "nak", "ack", "ack", "ack"]
        assert replies[1]["reason"] == "sign in first: scan your badge (USR:)"
        assert replies[2]["reason"] == "unknown operator nobody"
        assert replies[3]["detail"] == "signed in: Ann Smith (W0042)"
        assert replies[4]["session"]["operator"] == "W0042"
        assert replies[5]["session"]["operator"] is None
        await hh.close()
        rows = await pool.fetch("SELECT scanner, operator, delta FROM movements")
        assert [tuple(r) for r in rows] == [("web-badge", "W0042", 1)]
        statuses = await outbox_payloads(pool, "scanner.status")
        assert [s.get("operator") for s in statuses if "operator" in s] == ["W0042", None]
    finally:
        await server.close()
