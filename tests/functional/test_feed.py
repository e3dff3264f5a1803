from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from datetime import date

import asyncpg
import pytest
import websockets
from aiohttp.test_utils import TestServer

from stock_core.domain.movement import Adjust
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.token import Role
from stock_core.errors import StockRejection
from stock_core.service import StockService
from stock_core.store.database import Database
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from tests.functional.feed_helpers import Display
from tests.pg import UNSEQUENCED
from tests.timing import UNIT
from web_ui.app import create_app
from web_ui.bus import HISTORY_CHANGED
from web_ui.config import WebConfig

_keys = itertools.count()
SKUS = ["WIDGET", "GADGET", "SPROCKET", "BOLT", "NUT"]


def receive(sku: str, n: int = 1) -> Envelope:
    return Envelope(
        IdempotencyKey(f"feed-{next(_keys)}"),
        Receive(ProductRef(sku=Sku(sku)), LocationCode("A-01"), n),
    )


def pick(sku: str, n: int = 1) -> Envelope:
    return Envelope(
        IdempotencyKey(f"feed-{next(_keys)}"),
        Pick(ProductRef(sku=Sku(sku)), LocationCode("A-01"), n),
    )


@pytest.fixture
async def token(service: StockService) -> str:
    text, _ = await service.create_token("floor", Role.DISPLAY)
    return text


ServerFactory = Callable[..., Awaitable[str]]


@pytest.fixture
async def feed_url(
    database: Database, service: StockService
) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    servers: list[TestServer] = []

    async def start(**options: object) -> str:
        app = create_app(WebConfig(database=database, **options))  # type: ignore[arg-type]
        server = TestServer(app)
        await server.start_server()
        servers.append(server)
        return str(server.make_url("/feed")).replace("http://", "ws://")

    yield start
    for server in servers:
        await server.close()


async def head_seq(service: StockService) -> int:
    return (await service.feed_bounds())[1]


async def test_snapshot_then_live_events(
    feed_url: ServerFactory, service: StockService, token: str
) -> None:
    display = Display(await feed_url(), token)
    snapshot = await display.connect()
    assert snapshot["type"] == "snapshot"
    assert {s["sku"] for s in snapshot["stock"]} >= set(SKUS)
    await service.post(receive("WIDGET", 3))
    await display.collect(snapshot["seq"] + 1)
    changed = [e for e in display.events if e["type"] == "stock.changed"]
    assert changed[0]["sku"] == "WIDGET"
    assert changed[0]["on_hand"] == 3
    assert {"seq", "type", "ts", "location", "delta", "available", "movement_id", "scanner"} <= set(
        changed[0]
    )
    await display.close()


async def test_reconnect_with_since_gets_every_event_once_in_order(
    feed_url: ServerFactory, service: StockService, token: str
) -> None:
    url = await feed_url()
    display = Display(url, token)
    await display.connect()
    stop = asyncio.Event()

    async def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            sku = SKUS[(n + i) % len(SKUS)]
            envelope = receive(sku, 2) if i % 3 else pick(sku, 1)
            with contextlib.suppress(StockRejection):
                await service.post(envelope)
            i += 1
            await asyncio.sleep(0.03)

    writers = [asyncio.create_task(writer(n)) for n in range(20)]
    await asyncio.sleep(0.5 * UNIT)
    seen = display.last_seq or 0
    await display.collect(seen + 5)
    await display.close()
    away_from = display.last_seq
    assert away_from is not None
    await asyncio.sleep(2 * UNIT)
    display2 = Display(url, token)
    await display2.connect(since=away_from)
    await asyncio.sleep(0.5 * UNIT)
    stop.set()
    await asyncio.gather(*writers)
    await asyncio.sleep(0.3 * UNIT)  # let the relay sequence the last commits
    newest = await head_seq(service)
    await display2.collect(newest)
    seqs = [e["seq"] for e in display2.events]
    assert seqs == list(range(away_from + 1, newest + 1))  # every event, once, in order
    assert not [m for m in display2.messages if m["type"] == "snapshot"]
    events = await service.events_after(away_from, 100_000)
    assert [e.seq for e in events] == seqs
    await display2.close()


async def test_display_away_too_long_gets_a_snapshot(
    feed_url: ServerFactory, service: StockService, token: str
) -> None:
    url = await feed_url(catch_up_limit=5)
    for _ in range(10):
        await service.post(receive("BOLT"))
    await asyncio.sleep(0.5 * UNIT)
    display = Display(url, token)
    await display.connect(since=0)
    assert display.ws is not None
    first = json.loads(await asyncio.wait_for(display.ws.recv(), 5 * UNIT))
    assert first["type"] == "snapshot"
    assert first["reason"] == "too far behind"
    await display.close()


@pytest.mark.parametrize(
    ("hello", "code"),
    [
        ({"type": "hello", "token": "stk_nope0000_" + "x" * 43, "since": None}, 4401),
        ({"type": "hello", "token": "garbage"}, 4401),
        ({"type": "subscribe"}, 4400),
        ("not json", 4400),
        ({"type": "hello", "token": "t", "since": -1}, 4400),
    ],
)
async def test_bad_hello_closes_with_a_clear_code(
    feed_url: ServerFactory, hello: object, code: int
) -> None:
    url = await feed_url()
    async with websockets.connect(url) as ws:
        await ws.send(hello if isinstance(hello, str) else json.dumps(hello))
        with pytest.raises(websockets.ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 5 * UNIT)
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == code
    assert info.value.rcvd.reason


async def test_no_hello_times_out(feed_url: ServerFactory) -> None:
    url = await feed_url(hello_timeout=0.3)
    async with websockets.connect(url) as ws:
        with pytest.raises(websockets.ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 5 * UNIT)
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 4408


async def test_malformed_message_after_hello_gets_an_error_and_the_feed_goes_on(
    feed_url: ServerFactory, service: StockService, token: str
) -> None:
    display = Display(await feed_url(), token)
    snapshot = await display.connect()
    assert display.ws is not None
    await display.ws.send("{bad")
    reply = json.loads(await asyncio.wait_for(display.ws.recv(), 5 * UNIT))
    assert reply["type"] == "error"
    await service.post(receive("NUT"))
    await display.collect(snapshot["seq"] + 1)
    await display.close()


async def test_200_displays_one_frozen_all_others_get_everything(
    feed_url: ServerFactory, service: StockService, token: str
) -> None:
    url = await feed_url(feed_queue_limit=50)
    displays = [Display(url, token) for _ in range(199)]
    await asyncio.gather(*(d.connect() for d in displays))
    frozen = Display(url, token)
    await frozen.connect()  # and then never reads again
    start = newest = await head_seq(service)
    # In steps of ten, each read by the others before the next: the relay then never
    # publishes more at once than a display's queue holds (a busy machine let it number
    # 80 events in one step, past the limit of 50, and every display fell back to a
    # snapshot), while the frozen display's share keeps piling up.
    for step in range(15):
        for i in range(10):
            await service.post(receive(SKUS[(step * 10 + i) % len(SKUS)]))
        await asyncio.sleep(0.05 * UNIT)
        newest = await head_seq(service)
        await asyncio.gather(*(d.collect(newest, patience=30) for d in displays))
    # the relay may number the last step's events after the head was read
    await asyncio.gather(*(d.collect(start + 150, patience=30) for d in displays))
    newest = await head_seq(service)
    await asyncio.gather(*(d.collect(newest, patience=30) for d in displays))
    for d in displays:
        seqs = [e["seq"] for e in d.events]
        assert seqs == list(range(start + 1, newest + 1))
    await asyncio.gather(*(d.close() for d in [*displays, frozen]))


async def test_two_web_nodes_on_one_database_see_the_same_events(
    feed_url: ServerFactory, service: StockService, token: str
) -> None:
    a = Display(await feed_url(), token)
    b = Display(await feed_url(), token)
    await a.connect()
    await b.connect()
    start = await head_seq(service)
    for _ in range(20):
        await service.post(receive("GADGET"))
    await asyncio.sleep(0.3 * UNIT)
    newest = await head_seq(service)
    await a.collect(newest)
    await b.collect(newest)
    assert [e["seq"] for e in a.events] == [e["seq"] for e in b.events]
    assert [e["seq"] for e in a.events] == list(range(start + 1, newest + 1))
    await a.close()
    await b.close()


async def test_expired_stock_raises_and_clears_the_expired_alert_on_the_feed(
    feed_url: ServerFactory, service: StockService, token: str
) -> None:
    display = Display(await feed_url(), token)
    snapshot = await display.connect()
    widget = ProductRef(sku=Sku("WIDGET"))
    for lot, n, expiry in (("NEW", 20, date(2099, 1, 1)), ("OLD", 4, date(2020, 1, 1))):
        await service.post(
            Envelope(
                IdempotencyKey(f"feed-{next(_keys)}"),
                Receive(widget, LocationCode("A-01"), n, lot=lot, expiry=expiry),
            )
        )
    # receive NEW, receive OLD, raise expired: three events
    await display.collect(snapshot["seq"] + 3)
    raised = [e for e in display.events if e["type"] == "alert.raised"]
    assert [(e["kind"], e["sku"], e["available"], e["expired"]) for e in raised] == [
        ("expired", "WIDGET", 20, 4)
    ]
    changed = [e for e in display.events if e["type"] == "stock.changed"]
    assert [(e["on_hand"], e["available"]) for e in changed] == [(20, 20), (24, 20)]
    await service.post(
        Envelope(
            IdempotencyKey(f"feed-{next(_keys)}"),
            Adjust(widget, LocationCode("A-01"), -4, lot="OLD"),
        )
    )
    await display.collect(snapshot["seq"] + 5)  # the write-off, the clear
    cleared = [e for e in display.events if e["type"] == "alert.cleared"]
    assert [(e["alert_id"], e["kind"]) for e in cleared] == [(raised[0]["alert_id"], "expired")]
    again = Display(await feed_url(), token)
    fresh = await again.connect()
    assert fresh["seq"] > snapshot["seq"]
    assert not [a for a in fresh["alerts"] if a["kind"] == "expired"]
    await display.close()
    await again.close()


async def test_a_failover_that_lost_events_sends_displays_a_snapshot_and_every_new_event(
    feed_url: ServerFactory,
    service: StockService,
    token: str,
    database: Database,
    admin_database_url: str,
) -> None:
    """An asynchronous standby promoted without the last events: its outbox ends
    earlier and numbers new events with the lost ones' seq values. Here the lost events
    are deleted from the outbox and every session cut (what a failover does to them);
    the relay notices, and displays get a snapshot instead of missing the new events."""
    url = await feed_url()
    live = Display(url, token)
    await live.connect()
    for _ in range(5):
        await service.post(receive("WIDGET", 2))
    admin = await asyncpg.connect(admin_database_url)
    try:
        for _ in range(200):  # every event numbered
            if not await admin.fetchval(UNSEQUENCED):
                break
            await asyncio.sleep(0.05 * UNIT)
        published = await head_seq(service)
        await live.collect(published)
        common = published - 3
        gone = await admin.fetch("DELETE FROM feed WHERE seq > $1 RETURNING outbox_id", common)
        await admin.execute("DELETE FROM outbox WHERE id = ANY($1)", [r[0] for r in gone])
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    async with asyncio.timeout(10 * UNIT):  # the relay finds the history changed
        while not [m for m in live.messages if m.get("reason") == HISTORY_CHANGED]:
            live.messages.append(json.loads(await live.ws.recv()))  # type: ignore[union-attr]
    snapshot = live.messages[-1]
    assert snapshot["type"] == "snapshot"
    assert snapshot["seq"] == common
    await database.pool.expire_connections()
    for _ in range(4):  # new events: seqs common + 1 … common + 4, the lost ones' numbers
        await service.post(receive("GADGET", 1))
    newest = 0
    async with asyncio.timeout(10 * UNIT):  # numbered by the relay, in its own time
        while newest < common + 4 or newest != await head_seq(service):
            newest = await head_seq(service)
            await asyncio.sleep(0.3)
    async with asyncio.timeout(10 * UNIT):
        while live.messages[-1].get("seq") != newest:
            live.messages.append(json.loads(await live.ws.recv()))  # type: ignore[union-attr]
    after = [m["seq"] for m in live.messages[live.messages.index(snapshot) + 1 :]]
    assert after == list(range(common + 1, newest + 1))  # every new event, once
    assert after == [e.seq for e in await service.events_after(common, 1000)]
    widget = next(s for s in snapshot["stock"] if s["sku"] == "WIDGET")
    assert int(widget["on_hand"]) == (await service.stock_of("WIDGET")).on_hand  # the truth

    # a display that was sent lost events and comes back: a snapshot, not the new ones
    stale = Display(url, token)
    await stale.connect(since=published)
    await stale.collect(newest)
    assert stale.messages[0]["type"] == "snapshot"
    assert stale.messages[0]["reason"] == HISTORY_CHANGED
    # one that saw only events both histories share: the new events, no snapshot
    sound = Display(url, token)
    await sound.connect(since=common)
    await sound.collect(newest)
    assert [m["seq"] for m in sound.messages] == list(range(common + 1, newest + 1))
    for display in (live, stale, sound):
        await display.close()
