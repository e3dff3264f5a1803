"""The floor display page in headless Chromium against the real app, feed and database.

Each test starts the real aiohttp app on a TestServer, opens ``/#token=...`` in a
fresh headless Chromium (driven over CDP by :mod:`tests.browser`) and changes stock
through :class:`StockService`; what it asserts is what the page *shows*, read from
the DOM, so a page that shows no live change fails.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from stock_core.domain.movement import Command
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Line
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.movement import ReceiveTransfer
from stock_core.domain.movement import ShipTransfer
from stock_core.domain.orders import OrderLineRequest
from stock_core.domain.token import Role
from stock_core.model import ScannerState
from stock_core.service import StockService
from stock_core.store.database import Database
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import ScannerId
from stock_core.types import Sku
from stock_core.types import TransferNumber
from stock_core.types import WarehouseCode
from tests.browser import Page
from tests.browser import needs_chromium
from tests.timing import UNIT
from web_ui import feed
from web_ui.app import create_app
from web_ui.config import WebConfig

pytestmark = needs_chromium

SCREENSHOT = Path(__file__).resolve().parent.parent / "artifacts" / "floor.png"

_keys = itertools.count()


def _envelope(command: Command, scanner: str | None) -> Envelope:
    return Envelope(
        IdempotencyKey(f"floor-{next(_keys)}"),
        command,
        actor="test",
        scanner=ScannerId(scanner) if scanner else None,
        scan_seq=next(_keys) if scanner else None,
    )


def receive(sku: str, n: int, location: str = "A-01", scanner: str | None = None) -> Envelope:
    return _envelope(Receive(ProductRef(sku=Sku(sku)), LocationCode(location), n), scanner)


def pick(sku: str, n: int, location: str = "A-01", scanner: str | None = None) -> Envelope:
    return _envelope(Pick(ProductRef(sku=Sku(sku)), LocationCode(location), n), scanner)


# -- reading the page ----------------------------------------------------------------


def js(value: str) -> str:
    """A JavaScript string literal."""
    return json.dumps(value)


def q(selector: str) -> str:
    """JavaScript for the element matching ``selector`` (or null)."""
    return f"document.querySelector({js(selector)})"


def tile(sku: str, zone: str) -> str:
    return f'.tile[data-sku="{sku}"][data-zone="{zone}"]'


async def text(page: Page, selector: str) -> str | None:
    value = await page.evaluate(f"{q(selector)}?.textContent ?? null")
    return None if value is None else str(value)


async def wait_text(page: Page, selector: str, expected: str, within: float = 10.0) -> None:
    await page.wait_for(
        f"{q(selector)}?.textContent === {js(expected)}",
        within,
        what=f"{selector} to read {expected!r}",
        show=f"{q(selector)}?.textContent ?? null",
    )


async def wait_live(page: Page, within: float = 10.0) -> None:
    await page.wait_for(
        "document.getElementById('conn').dataset.state === 'live'", within, "the live indicator"
    )


async def open_live(page: Page, url: str) -> None:
    """Open the floor page at ``url`` and wait until it says it is live."""
    await page.navigate(url)
    await wait_live(page)


async def snapshots(page: Page) -> int:
    return int(await page.evaluate("Number(document.documentElement.dataset.snapshots || 0)"))


async def seq_shown(page: Page) -> int:
    return int(str(await text(page, "#seq")))


RECENT_ROWS = """[...document.querySelectorAll('#recent li:not([hidden])')].map(li => ({
    sku: li.dataset.sku, seq: Number(li.dataset.seq), text: li.textContent,
    delta: li.querySelector('.delta').textContent}))"""


async def recent_rows(page: Page) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await page.evaluate(RECENT_ROWS)
    return rows


async def wait_recent(page: Page, sku: str, delta: str, where: str) -> None:
    """Wait until the newest recent-scan row is ``sku`` ``delta`` at ``where``."""
    await page.wait_for(
        f"""(() => {{
            const li = document.querySelector('#recent li:not([hidden])');
            return !!li && li.dataset.sku === {js(sku)}
                && li.querySelector('.delta').textContent === {js(delta)}
                && li.textContent.includes({js(where)});
        }})()""",
        what=f"a recent scan {sku} {delta} at {where}",
        show=RECENT_ROWS,
    )


# -- fixtures -------------------------------------------------------------------------


@dataclass
class Floor:
    app: web.Application
    server: TestServer
    token: str

    def url(self, query: str | None = None, fragment: str | None = None) -> str:
        base = str(self.server.make_url("/"))
        if query is not None:
            base += f"?{query}"
        return base if fragment is None else f"{base}#{fragment}"

    @property
    def page_url(self) -> str:
        return self.url(fragment=f"token={self.token}")


@pytest.fixture
async def service(service: StockService) -> StockService:
    """The sample catalog, and some stock to show."""
    svc = service
    # WIDGET in two zones (A and DOCK), GADGET in B, BOLT and NUT in A (NUT below its
    # reorder point, so an alert is already active), SPROCKET nowhere ("—").
    for envelope in (
        receive("WIDGET", 30, "A-01"),
        receive("WIDGET", 5, "DOCK-1"),
        receive("GADGET", 20, "B-01"),
        receive("BOLT", 500, "A-02"),
        receive("NUT", 60, "A-02"),
    ):
        await svc.post(envelope)
    return svc


async def _start(app: web.Application, service: StockService) -> Floor:
    server = TestServer(app)
    await server.start_server()
    token, _ = await service.create_token("floor", Role.DISPLAY)
    return Floor(app, server, token)


# The apps are built outside the event loop: create_app resolves the static directory.
@pytest.fixture
def app(database: Database) -> web.Application:
    return create_app(WebConfig(database=database))


@pytest.fixture
def small_queue_app(database: Database) -> web.Application:
    """An app that sends a fresh snapshot to any display more than 20 events behind."""
    return create_app(WebConfig(database=database, feed_queue_limit=20))


@pytest.fixture
async def floor(app: web.Application, service: StockService) -> AsyncIterator[Floor]:
    started = await _start(app, service)
    yield started
    await started.server.close()


@pytest.fixture
async def small_queue_floor(
    small_queue_app: web.Application, service: StockService
) -> AsyncIterator[Floor]:
    started = await _start(small_queue_app, service)
    yield started
    await started.server.close()


# -- tests ----------------------------------------------------------------------------


async def test_floor_page_shows_scans_alerts_and_rejections_live(
    floor: Floor, service: StockService, page: Page
) -> None:
    await open_live(page, floor.page_url)
    # the token stays in the fragment, which is never sent to the server
    assert await page.evaluate("location.search") == ""
    assert await page.evaluate("location.hash") == f"#token={floor.token}"
    # the snapshot: a product in two zones has a tile in each; one with no stock is in "—"
    await wait_text(page, f"{tile('WIDGET', 'A')} .avail", "35")
    assert await text(page, f"{tile('WIDGET', 'DOCK')} .avail") == "35"
    assert await text(page, f"{tile('SPROCKET', '—')} .word") == "out"
    assert await text(page, f"{tile('BOLT', 'A')} .word") == "ok"
    first_seq = await seq_shown(page)
    assert first_seq > 0

    # a scan: it shows in recent scans and the product's figure changes in every zone
    await service.post(pick("WIDGET", 5, "A-01", scanner="aisle-7"))
    await wait_recent(page, "WIDGET", "\u22125", "A-01")
    assert "aisle-7" in (await recent_rows(page))[0]["text"]
    await wait_text(page, f"{tile('WIDGET', 'A')} .avail", "30")
    await wait_text(page, f"{tile('WIDGET', 'DOCK')} .avail", "30")
    assert await seq_shown(page) > first_seq

    # down to the reorder point: a low_stock alert flashes in the banner, the tile is low
    await service.post(pick("WIDGET", 20, "A-01", scanner="aisle-7"))
    flashing = '.alert.flashing[data-sku="WIDGET"][data-kind="low_stock"]'
    await page.wait_for(f"!!{q(flashing)}", what="a flashing WIDGET low_stock alert")
    assert "WIDGET" in str(await text(page, flashing))
    await wait_text(page, f"{tile('WIDGET', 'A')} .avail", "10")
    assert await page.evaluate(f"{q(tile('WIDGET', 'A'))}.classList.contains('low')")

    # a rejected scan, in the red panel, naming scanner, code and reason
    await service.append_events(
        [("scan.rejected", {"scanner": "dock-1", "code": "123", "reason": "unknown product 123"})]
    )
    await page.wait_for(
        "document.querySelector('#rejected li:not([hidden])')?.textContent"
        ".includes('unknown product 123') ?? false",
        what="the rejected scan",
    )
    rejected = str(await text(page, "#rejected li"))
    assert "dock-1" in rejected
    assert "123" in rejected

    # scanner states as chips
    await service.append_events(
        [
            ("scanner.status", {"scanner": "dock-1", "state": "connected", "detail": "ok"}),
            ("scanner.status", {"scanner": "aisle-7", "state": "reconnecting", "detail": "EIO"}),
            ("scanner.status", {"scanner": "aisle-9", "state": "misconfigured", "detail": "baud"}),
        ]
    )
    await page.wait_for(
        """['dock-1:connected', 'aisle-7:reconnecting', 'aisle-9:misconfigured'].every(
            want => [...document.querySelectorAll('.chip')].some(
                c => `${c.dataset.scanner}:${c.dataset.state}` === want))""",
        what="three scanner chips",
    )
    # it really flashes: the alert's background alternates (and the picture shows it lit)
    background = f"getComputedStyle({q(flashing)}).backgroundColor"
    dark = await page.evaluate(background)
    await page.wait_for(f"{background} !== {js(dark)}", what="the alert's flash to change")
    await page.wait_for(f"{background} !== 'rgb(5, 8, 12)'", what="the alert lit")
    await page.screenshot(SCREENSHOT)

    # acknowledged: still shown, no longer flashing; cleared: gone
    alert_id = int(await page.evaluate(f"{q(flashing)}.dataset.alertId"))
    this_alert = q(f'.alert[data-alert-id="{alert_id}"]')
    assert await service.acknowledge_alert(alert_id, "manager") is not None
    await page.wait_for(
        f"""(() => {{ const a = {this_alert};
            return !!a && a.classList.contains('acknowledged')
                && !a.classList.contains('flashing'); }})()""",
        what="the acknowledged alert to stop flashing",
    )
    await service.post(receive("WIDGET", 100, "A-01"))
    await page.wait_for(f"!{this_alert}", what="the cleared alert to go")
    await wait_text(page, f"{tile('WIDGET', 'A')} .avail", "110")
    assert await snapshots(page) == 1  # all of it applied incrementally


async def test_floor_page_reconnects_by_itself_with_since(
    floor: Floor, service: StockService, page: Page
) -> None:
    await open_live(page, floor.page_url)
    await wait_text(page, f"{tile('GADGET', 'B')} .avail", "20")
    assert await snapshots(page) == 1

    await feed.close_all(floor.app)  # the server drops every display
    await page.wait_for(
        "document.getElementById('conn').dataset.state === 'reconnecting'",
        what="the indicator to show the lost connection",
    )
    # a scan while the page is away: it must arrive through `since`, not be lost
    await service.post(pick("GADGET", 1, "B-01", scanner="aisle-2"))
    await wait_live(page, within=15.0)
    await wait_text(page, f"{tile('GADGET', 'B')} .avail", "19")
    await wait_recent(page, "GADGET", "\u22121", "B-01")
    assert await snapshots(page) == 1  # caught up with the missed events, no snapshot

    # and the live stream goes on after the reconnect
    await service.post(receive("GADGET", 4, "B-01", scanner="dock-1"))
    await wait_recent(page, "GADGET", "+4", "B-01")
    await wait_text(page, f"{tile('GADGET', 'B')} .avail", "23")
    assert await page.evaluate("document.getElementById('conn').dataset.state") == "live"


async def test_floor_page_applies_a_snapshot_sent_mid_stream(
    small_queue_floor: Floor, service: StockService, page: Page
) -> None:
    floor = small_queue_floor
    await open_live(page, floor.page_url)
    await wait_text(page, f"{tile('BOLT', 'A')} .avail", "500")
    # one transaction of 300 picks: the relay publishes them at once, the page's queue
    # (20) overflows, and the server sends it a fresh snapshot instead of the backlog
    await service.post_batch([pick("BOLT", 1, "A-02", scanner="aisle-2") for _ in range(300)])
    await page.wait_for(
        "Number(document.documentElement.dataset.snapshots) >= 2",
        what="a second snapshot",
    )
    await wait_text(page, f"{tile('BOLT', 'A')} .avail", "200")
    # live events after the snapshot still apply on top of it
    await service.post(pick("BOLT", 7, "A-02", scanner="aisle-2"))
    await wait_text(page, f"{tile('BOLT', 'A')} .avail", "193")
    await wait_recent(page, "BOLT", "\u22127", "A-02")
    assert await seq_shown(page) == (await service.feed_bounds())[1]


async def test_floor_page_keeps_up_with_a_burst_of_events(
    floor: Floor, service: StockService, page: Page
) -> None:
    await open_live(page, floor.page_url)
    await page.evaluate(
        """window.longTasks = [];
        new PerformanceObserver(list => {
            for (const e of list.getEntries()) window.longTasks.push(e.duration);
        }).observe({type: 'longtask'}); true"""
    )
    burst = [receive("NUT" if i % 2 else "BOLT", 1, "A-02", scanner="dock-1") for i in range(2000)]
    await service.post_batch(burst)
    await wait_text(page, f"{tile('BOLT', 'A')} .avail", "1500", within=20.0)
    await wait_text(page, f"{tile('NUT', 'A')} .avail", "1060")
    assert await snapshots(page) == 1  # every event applied one by one, none coalesced
    assert len(await recent_rows(page)) == 15  # the list stays capped
    longest = max(await page.evaluate("window.longTasks"), default=0.0)
    assert longest < 500 * UNIT, f"the page froze for {longest:.0f} ms"


async def test_floor_page_without_a_token_says_how_to_get_one(floor: Floor, page: Page) -> None:
    await page.navigate(floor.url())
    await page.wait_for(
        "document.getElementById('conn').dataset.state === 'no-token'", what="no-token state"
    )
    notice = str(await text(page, "#notice"))
    assert "No display token" in notice
    assert "/#token=" in notice
    assert await page.evaluate("document.getElementById('notice').hidden") is False


async def test_floor_page_stops_on_a_rejected_token(floor: Floor, page: Page) -> None:
    # an old bookmark with ?token=: the token moves into the fragment, off the query
    await page.navigate(floor.url("token=not-a-real-token"))
    await page.wait_for(
        "document.getElementById('conn').dataset.state === 'auth-failed'", what="auth-failed"
    )
    assert await page.evaluate("location.search") == ""
    assert await page.evaluate("location.hash") == "#token=not-a-real-token"
    assert await text(page, "#conn") == "token rejected"
    assert "rejected" in str(await text(page, "#notice"))
    await asyncio.sleep(1.5 * UNIT)  # longer than the first backoff: no retry happened
    assert await page.evaluate("document.getElementById('conn').dataset.state") == "auth-failed"
    # the token was remembered: a reload without it tries it again (and is refused again)
    await page.navigate(floor.url())
    await page.wait_for(
        "document.getElementById('conn').dataset.state === 'auth-failed'", what="auth-failed"
    )


async def test_floor_page_stops_when_its_token_is_revoked_while_live(
    floor: Floor, service: StockService, page: Page
) -> None:
    await open_live(page, floor.page_url)
    (token,) = [t for t in await service.list_tokens() if t.name == "floor"]
    await service.revoke_token(token.id)  # as the CLI does: the database notifies the node
    await page.wait_for(
        "document.getElementById('conn').dataset.state === 'auth-failed'",
        within=5.0,
        what="auth-failed after the revocation",
    )
    assert "token revoked" in str(await text(page, "#notice"))
    await asyncio.sleep(1.5 * UNIT)  # and it does not retry
    assert await page.evaluate("document.getElementById('conn').dataset.state") == "auth-failed"


async def test_floor_page_switches_to_a_token_typed_into_its_fragment(
    floor: Floor, service: StockService, page: Page
) -> None:
    await page.navigate(floor.url(fragment="token=stk_nope0000_" + "x" * 43))
    await page.wait_for(
        "document.getElementById('conn').dataset.state === 'auth-failed'", what="auth-failed"
    )
    await page.evaluate(f"location.hash = {js('token=' + floor.token)}")
    await wait_live(page)
    assert await page.evaluate("document.getElementById('notice').hidden") is True


async def test_floor_page_works_under_its_content_security_policy(floor: Floor, page: Page) -> None:
    await page.navigate(floor.page_url)
    await wait_live(page)  # scripts ran, the feed's WebSocket was allowed
    # floor.css applied (no inline style needed) ...
    assert await page.evaluate("getComputedStyle(document.body).margin") == "0px"
    # ... and the policy is in force: an injected inline script does not run
    ran = await page.evaluate(
        """(() => { const s = document.createElement('script');
            s.textContent = 'window.injected = true'; document.head.appendChild(s);
            return window.injected === true; })()"""
    )
    assert ran is False


# -- backorders waiting and reservations (issue 12.14) ------------------------------

BACKORDER_ROWS = """[...document.querySelectorAll('#backorders li:not([hidden])')].map(li => ({
    order: li.dataset.order, sku: li.dataset.sku, quantity: Number(li.dataset.quantity),
    text: li.textContent}))"""


async def wait_backorders(page: Page, expected: list[tuple[str, str, int]]) -> list[Any]:
    """Wait until the panel lists exactly ``expected`` (order, sku, quantity), in order."""
    want = [{"order": o, "sku": s, "quantity": n} for o, s, n in expected]
    await page.wait_for(
        f"""(() => {{
            const rows = {BACKORDER_ROWS}.map(r => ({{order: r.order, sku: r.sku,
                quantity: r.quantity}}));
            const panel = document.getElementById('backorders-panel');
            return JSON.stringify(rows) === {js(json.dumps(want, separators=(",", ":")))}
                && panel.dataset.count === {js(str(len(expected)))};
        }})()""",
        what=f"backorders waiting {expected}",
        show=BACKORDER_ROWS,
    )
    rows: list[Any] = await page.evaluate(BACKORDER_ROWS)
    return rows


async def test_floor_page_shows_backorders_waiting_live(
    floor: Floor, service: StockService, page: Page
) -> None:
    # waiting before the page opens: 25 GADGET ordered, 20 in stock, 5 backordered, and a
    # purchase order that will bring them
    await service.create_order("SO-1", [OrderLineRequest("GADGET", 25)])
    await service.create_purchase_order("PO-1", date(2031, 1, 15), [OrderLineRequest("GADGET", 10)])
    await open_live(page, floor.page_url)
    (row,) = await wait_backorders(page, [("SO-1", "GADGET", 5)])
    assert "expected 2031-01-15" in row["text"]
    assert await text(page, "#backorder-count") == "(1)"
    # the purchase order moves: the date follows at once (backorder.eta_changed)
    await service.reschedule_purchase_order("PO-1", date(2031, 1, 10))
    await page.wait_for(
        """[...document.querySelectorAll('#backorders li[data-order="SO-1"]')]
            .some(li => li.textContent.includes('expected 2031-01-10'))""",
        what="the rescheduled date",
        show=BACKORDER_ROWS,
    )

    # a new backorder appears at once (35 WIDGET in stock, 40 ordered)
    await service.create_order("SO-2", [OrderLineRequest("WIDGET", 40)])
    await wait_backorders(page, [("SO-1", "GADGET", 5), ("SO-2", "WIDGET", 5)])
    # a receipt fills the oldest first, partly
    await service.post(receive("GADGET", 3, "B-01", scanner="dock-1"))
    await wait_backorders(page, [("SO-1", "GADGET", 2), ("SO-2", "WIDGET", 5)])
    # a cancelled order takes its backorders with it
    await service.cancel_order("SO-2")
    await wait_backorders(page, [("SO-1", "GADGET", 2)])
    # filled: nothing waits
    await service.post(receive("GADGET", 2, "B-01", scanner="dock-1"))
    await wait_backorders(page, [])
    assert await page.evaluate("!document.getElementById('backorders-empty').hidden")

    # a reload reads the same state back (from the API after the snapshot)
    await service.create_order("SO-3", [OrderLineRequest("SPROCKET", 4)])
    await wait_backorders(page, [("SO-3", "SPROCKET", 4)])
    await page.navigate("about:blank")
    await open_live(page, floor.page_url)
    await wait_backorders(page, [("SO-3", "SPROCKET", 4)])


async def test_reservations_change_availability_but_are_not_recent_scans(
    floor: Floor, service: StockService, page: Page
) -> None:
    await open_live(page, floor.page_url)
    await wait_text(page, f"{tile('BOLT', 'A')} .avail", "500")
    await service.post(pick("NUT", 1, "A-02", scanner="aisle-2"))  # a scan, for contrast
    await wait_recent(page, "NUT", "\u22121", "A-02")
    before = await recent_rows(page)

    # an order reserves 100 BOLT: available drops at once, and no "scan" appears
    await service.create_order("SO-R", [OrderLineRequest("BOLT", 100)])
    await wait_text(page, f"{tile('BOLT', 'A')} .avail", "400")
    await service.cancel_order("SO-R")  # releasing it: back to 500, still no scan
    await wait_text(page, f"{tile('BOLT', 'A')} .avail", "500")
    await service.post(pick("NUT", 2, "A-02", scanner="aisle-2"))
    await wait_recent(page, "NUT", "\u22122", "A-02")
    after = await recent_rows(page)
    assert [r["seq"] for r in after[1:]] == [r["seq"] for r in before][: len(after) - 1]
    assert not [r for r in after if "reserve" in r["text"]]

    # nor among the recent scans a fresh snapshot brings
    await page.navigate("about:blank")
    await open_live(page, floor.page_url)
    await wait_recent(page, "NUT", "\u22122", "A-02")
    rows = await recent_rows(page)
    assert [r["seq"] for r in rows] == [r["seq"] for r in after]
    assert await text(page, f"{tile('BOLT', 'A')} .avail") == "500"


async def test_floor_page_lists_expired_stock_as_an_alert_and_leaves_it_out_of_available(
    floor: Floor, service: StockService, page: Page
) -> None:
    await open_live(page, floor.page_url)
    await wait_text(page, f"{tile('BOLT', 'A')} .avail", "500")
    old = Receive(
        ProductRef(sku=Sku("BOLT")), LocationCode("A-02"), 7, lot="OLD", expiry=date(2020, 1, 1)
    )
    await service.post(Envelope(IdempotencyKey(f"floor-{next(_keys)}"), old, actor="test"))
    expired = '.alert[data-sku="BOLT"][data-kind="expired"]'
    await page.wait_for(f"!!{q(expired)}", what="an expired BOLT alert")
    shown = await text(page, expired) or ""
    assert "EXPIRED" in shown
    assert "7 expired" in shown
    assert await text(page, f"{tile('BOLT', 'A')} .avail") == "500"  # on hand 507
    # a fresh snapshot shows the same
    await page.navigate("about:blank")
    await open_live(page, floor.page_url)
    await page.wait_for(f"!!{q(expired)}", what="the expired alert in the snapshot")
    assert "7 expired" in (await text(page, expired) or "")
    assert await text(page, f"{tile('BOLT', 'A')} .avail") == "500"


async def test_floor_page_shows_scans_waiting_in_a_gateways_spool(
    floor: Floor, service: StockService, page: Page
) -> None:
    spool = {
        "depth": 12,
        "size_bytes": 3600,
        "cap_bytes": 1 << 30,
        "oldest_age_s": 40.0,
        "replaying": False,
        "quarantined": 0,
        "alarm": False,
        "full": False,
    }
    await open_live(page, floor.page_url)
    assert await page.evaluate("document.getElementById('spool').hidden") is True
    await service.save_gateway_state("edge-1", spool)  # polled from /healthz
    await wait_text(page, "#spool", "12 scans spooled, waiting for the database", within=15.0)
    assert await page.evaluate("document.getElementById('spool').dataset.depth") == "12"
    await service.save_gateway_state("edge-1", {**spool, "full": True, "alarm": True})
    await page.wait_for(
        "document.getElementById('spool').dataset.full === 'true'", 15.0, "the full spool"
    )
    assert "spool full" in str(await page.evaluate("document.getElementById('spool').textContent"))


async def test_floor_page_shows_who_is_signed_in_on_each_scanner(
    floor: Floor, service: StockService, page: Page
) -> None:
    # as stored (the snapshot), then as signed in and out (scanner.status events)
    await service.save_scanner_states(
        [
            ScannerState(
                id="dock-1",
                gateway="edge-1",
                url="/dev/ttyUSB0",
                state="connected",
                detail="",
                mode="receive",
                location="DOCK-1",
                last_scan_at=None,
                last_code=None,
                counters={},
                operator="W0042",
            )
        ]
    )
    await open_live(page, floor.page_url)
    chip = q('.chip[data-scanner="dock-1"]')
    await page.wait_for(f"{chip}?.dataset.operator === 'W0042'", what="W0042 on dock-1's chip")
    assert "W0042" in str(await page.evaluate(f"{chip}.textContent"))
    status = {"scanner": "dock-1", "state": "connected", "detail": ""}
    await service.append_events([("scanner.status", {**status, "operator": "W0043"})])
    await page.wait_for(f"{chip}.dataset.operator === 'W0043'", what="W0043 signed in instead")
    await service.append_events([("scanner.status", {**status, "operator": None})])
    await page.wait_for(f"{chip}.dataset.operator === ''", what="no one signed in")
    assert "W004" not in str(await page.evaluate(f"{chip}.textContent"))
    # a status without the field (a link change from an older gateway) keeps who it showed
    await service.append_events([("scanner.status", {**status, "operator": "W0042"})])
    await page.wait_for(f"{chip}.dataset.operator === 'W0042'", what="W0042 again")
    await service.append_events([("scanner.status", {**status, "state": "reconnecting"})])
    await page.wait_for(f"{chip}.dataset.state === 'reconnecting'", what="the link change")
    assert await page.evaluate(f"{chip}.dataset.operator") == "W0042"


async def test_floor_page_of_one_warehouse_shows_only_its_stock_and_scans(
    floor: Floor, service: StockService, page: Page
) -> None:
    await service.import_locations(b"code,zone,name,gln,warehouse\nE-01,E,,,EAST\n")
    await service.post(receive("WIDGET", 7, "E-01"))
    await open_live(page, floor.url("warehouse=EAST", f"token={floor.token}"))
    assert await page.evaluate("document.documentElement.dataset.warehouse") == "EAST"
    assert "EAST" in str(await text(page, "#brand"))
    # the snapshot: EAST's figures only (MAIN's 35 widgets in A and DOCK are not here)
    await wait_text(page, f"{tile('WIDGET', 'E')} .avail", "7")
    assert await page.evaluate(f"!{q(tile('WIDGET', 'A'))}")
    assert await text(page, f"{tile('GADGET', '—')} .word") == "out"

    # a scan in MAIN changes nothing here; one in EAST does
    before = await seq_shown(page)
    await service.post(pick("WIDGET", 5, "A-01", scanner="main-1"))
    await page.wait_for(f"Number({q('#seq')}.textContent) > {before}", what="the feed to move")
    assert await text(page, f"{tile('WIDGET', 'E')} .avail") == "7"
    assert [r["sku"] for r in await recent_rows(page)] == ["WIDGET"]  # the receipt at E-01
    await service.post(pick("WIDGET", 2, "E-01", scanner="east-1"))
    await wait_recent(page, "WIDGET", "\u22122", "E-01")
    await wait_text(page, f"{tile('WIDGET', 'E')} .avail", "5")

    # a transfer: leaving MAIN is not shown, arriving in EAST is
    number = TransferNumber("T-1")
    widget = ProductRef(sku=Sku("WIDGET"))
    await service.post(
        _envelope(
            ShipTransfer(number, LocationCode("A-01"), (Line(widget, 4),), WarehouseCode("EAST")),
            None,
        )
    )
    await service.post(
        _envelope(ReceiveTransfer(number, LocationCode("E-01"), (Line(widget, 4),)), None)
    )
    await wait_text(page, f"{tile('WIDGET', 'E')} .avail", "9")
    assert [r["delta"] for r in await recent_rows(page)][:2] == ["+4", "\u22122"]

    # rejections of a scanner of another warehouse are left out
    await service.append_events(
        [
            (
                "scan.rejected",
                {"scanner": "main-1", "code": "1", "reason": "main's", "warehouse": "MAIN"},
            ),
            (
                "scan.rejected",
                {"scanner": "east-1", "code": "2", "reason": "east's", "warehouse": "EAST"},
            ),
        ]
    )
    await page.wait_for(
        "document.querySelector('#rejected li:not([hidden])')"
        '?.textContent.includes("east\'s") ?? false',
        what="EAST's rejected scan",
    )
    assert "main's" not in str(
        await page.evaluate("document.getElementById('rejected').textContent")
    )
    # a fresh snapshot (a reload) agrees with what the events made of it
    await page.navigate("about:blank")
    await open_live(page, floor.url("warehouse=EAST", f"token={floor.token}"))
    await wait_text(page, f"{tile('WIDGET', 'E')} .avail", "9")
    assert await snapshots(page) == 1


async def test_floor_page_of_an_unknown_warehouse_says_so_and_stops(
    floor: Floor, page: Page
) -> None:
    await page.navigate(floor.url("warehouse=NOPE", f"token={floor.token}"))
    await page.wait_for(
        "document.getElementById('conn').dataset.state === 'auth-failed'", what="the refusal"
    )
    notice = str(await page.evaluate("document.getElementById('notice').textContent"))
    assert "No warehouse NOPE" in notice
