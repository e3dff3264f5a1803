"""The manager console at /manage/ in headless Chromium, on the demo's data.

The demo warehouse (``stockd.demo.seed_demo``: 300 products, a year of demand history,
stock on the shelves, customer orders with backorders, purchase orders, one partial fill)
is loaded once into a template database, with today's forecasts computed; each test gets
a copy of it, the real app on a TestServer, and a fresh Chromium (:mod:`tests.browser`).
The tests sign in as a manager would, click through the views and read what the page
shows through its testing hooks (the data-* attributes its modules list), then check the
effect through the public API. Screenshots are kept under tests/artifacts/manage/.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import statistics
from collections.abc import AsyncIterator
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hardware_mocks.warehouse import build_warehouse
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.token import Role
from stock_core.errors import InsufficientStockError
from stock_core.service import StockService
from stock_core.store.database import Database
from stock_core.store.database import open_database
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from stockd.demo import seed_demo
from tests.browser import Browser
from tests.browser import Page
from tests.browser import needs_chromium
from tests.gateway_harness import scanner_state
from tests.pg import PgCluster
from tests.timing import UNIT
from web_ui.app import create_app
from web_ui.config import WebConfig

pytestmark = needs_chromium

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "manage"
FIRST_VIEW_BUDGET_MS = 1000

_copies = itertools.count()


# -- the demo's data, loaded once ------------------------------------------------------


async def _seed(cluster: PgCluster) -> str:
    name = await cluster.create_database()
    async with open_database(cluster.url_for(name), min_size=1, max_size=4) as db:
        service = StockService(db.pool)
        today = datetime.now(UTC).date()
        warehouse = await asyncio.to_thread(build_warehouse, today)
        await seed_demo(service, warehouse, today)
        # a few picks today, so the turnover report has goods out to show
        for n, product in enumerate(warehouse.products[:12]):
            await service.post(
                Envelope(
                    IdempotencyKey(f"console-pick-{n}"),
                    Pick(ProductRef(sku=Sku(product.sku)), LocationCode(product.home), 3),
                    actor="test",
                )
            )
        await service.refresh_forecasts()
    return name


@pytest.fixture(scope="module")
def demo_template(pg_cluster: PgCluster) -> Iterator[str]:
    name = asyncio.run(_seed(pg_cluster))
    yield name
    asyncio.run(pg_cluster.drop_database(name))


@pytest.fixture
async def demo_database(pg_cluster: PgCluster, demo_template: str) -> AsyncIterator[Database]:
    name = f"{demo_template}_copy{next(_copies)}"
    conn = await asyncpg.connect(pg_cluster.admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{demo_template}"')
    finally:
        await conn.close()
    try:
        async with open_database(pg_cluster.url_for(name), min_size=1, max_size=20) as db:
            yield db
    finally:
        await pg_cluster.drop_database(name)


@pytest.fixture
def app(demo_database: Database) -> web.Application:
    return create_app(WebConfig(database=demo_database))


@dataclass
class Console:
    server: TestServer
    service: StockService
    token: str

    @property
    def base(self) -> str:
        return str(self.server.make_url("/")).rstrip("/")

    def url(self, hash_: str = "") -> str:
        return f"{self.base}/manage/{hash_}"

    async def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """The public API, as a script would call it, with the console's token."""
        headers = {"Authorization": f"Bearer {self.token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, f"{self.base}/api/v1{path}", json=body, headers=headers) as r,
        ):
            if r.content_type == "text/csv":
                return r.status, await r.text()
            return r.status, await r.json(content_type=None)

    async def get(self, path: str) -> Any:
        """A read through the public API that must succeed."""
        status, body = await self.api("GET", path)
        assert status == 200, (path, body)
        return body


@pytest.fixture
async def console(app: web.Application, demo_database: Database) -> AsyncIterator[Console]:
    service = StockService(demo_database.pool)
    token, _ = await service.create_token("console test", Role.MANAGER)
    server = TestServer(app)
    await server.start_server()
    yield Console(server, service, token)
    await server.close()


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    async with Browser.launch(width=1500, height=1000) as launched:
        downloads = tmp_path / "downloads"
        downloads.mkdir()
        await launched.send(
            "Browser.setDownloadBehavior",
            {"behavior": "allow", "downloadPath": str(downloads), "eventsEnabled": True},
        )
        yield launched


async def new_tab(browser: Browser) -> Page:
    opened = await browser.new_page(width=1500, height=1000)
    # every Content-Security-Policy violation is recorded: the console runs under the policy
    await opened.send(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": "window.__csp = []; document.addEventListener('securitypolicyviolation',"
            " e => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));"
        },
    )
    return opened


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    opened = await new_tab(browser)
    yield opened
    assert opened.errors == [], f"JavaScript errors on the page: {opened.errors}"


# -- reading the page ----------------------------------------------------------------


def js(value: str) -> str:
    return json.dumps(value)


def q(selector: str) -> str:
    return f"document.querySelector({js(selector)})"


def count(selector: str) -> str:
    return f"document.querySelectorAll({js(selector)}).length"


async def text(page: Page, selector: str) -> str:
    value = await page.evaluate(f"{q(selector)}?.textContent ?? null")
    assert value is not None, f"nothing matches {selector}"
    return str(value)


async def wait_view(page: Page, view: str, within: float = 20.0) -> None:
    await page.wait_for(
        f"(() => {{ const v = document.getElementById('view');"
        f" return v.dataset.view === {js(view)} && v.dataset.state === 'ready'; }})()",
        within,
        what=f"the {view} view, ready",
        show="[document.getElementById('view').dataset.view, "
        "document.getElementById('view').dataset.state, "
        "document.getElementById('view').innerText.slice(0, 300), "
        "document.getElementById('signin-error').textContent]",
    )


async def go(page: Page, hash_: str, view: str) -> None:
    """Follow a link inside the console (the hash changes, no reload)."""
    await page.evaluate(f"location.hash = {js(hash_)}")
    await wait_view(page, view)


async def sign_in(page: Page, console: Console) -> None:
    await page.navigate(console.url(f"#token={console.token}"))
    await wait_view(page, "stock")


async def bookmark(browser: Browser, url: str) -> Page:
    """``url`` opened in a new tab, as a bookmark would be (the signed-in token is kept
    in this browser's storage)."""
    tab = await new_tab(browser)
    await tab.navigate(url)
    return tab


async def click(page: Page, selector: str) -> None:
    found = await page.evaluate(
        f"(() => {{ const e = {q(selector)}; if (e) e.click(); return !!e; }})()"
    )
    assert found, f"nothing to click at {selector}"


async def shot(page: Page, name: str) -> None:
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(ARTIFACTS / f"{name}.png")


async def downloaded(folder: Path, name: str, within: float = 10.0) -> str:
    """The text of a file the browser saved into ``folder`` once it is complete."""
    path = folder / name
    deadline = asyncio.get_running_loop().time() + within * UNIT
    while True:
        if path.exists() and not (folder / f"{name}.crdownload").exists():
            data = await asyncio.to_thread(path.read_text)
            if data:
                return data
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{name} was not downloaded into {folder}")
        await asyncio.sleep(0.05)


async def no_csp_violations(page: Page) -> None:
    assert await page.evaluate("window.__csp") == []


# -- signing in ------------------------------------------------------------------------


async def test_without_a_token_the_console_shows_its_sign_in_form(
    console: Console, page: Page
) -> None:
    await page.navigate(console.url())
    await page.wait_for(
        "document.getElementById('signin').dataset.state === 'signed-out'", what="sign-in form"
    )
    assert await page.evaluate("document.documentElement.dataset.signedIn") == "false"
    assert await page.evaluate("document.getElementById('signin').hidden") is False
    assert await page.evaluate("document.getElementById('view').hidden") is True
    assert "stockd token create --role manager" in await text(page, "#signin")
    await shot(page, "sign-in")
    # typing the token in signs in, and the view it lands on has data
    await page.evaluate(
        f"document.querySelector('#signin-form input[name=token]').value = {js(console.token)}"
    )
    await click(page, "#signin-form [data-action=sign-in]")
    await wait_view(page, "stock")
    assert await page.evaluate("document.documentElement.dataset.signedIn") == "true"
    # and signing out forgets it: a reload shows the form again
    await click(page, "[data-action=sign-out]")
    await page.wait_for("document.documentElement.dataset.signedIn === 'false'", what="signed out")
    await page.navigate(console.url())
    await page.wait_for(
        "document.getElementById('signin').dataset.state === 'signed-out'", what="sign-in form"
    )


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("#token=stk_not_a_real_token", "unauthorized"),
        ("?token=stk_not_a_real_token", "unauthorized"),
        ("display", "forbidden"),
    ],
)
async def test_a_bad_token_shows_the_sign_in_page_with_the_reason(
    console: Console, page: Page, how: str, reason: str
) -> None:
    if how == "display":
        display, _ = await console.service.create_token("floor", Role.DISPLAY)
        url = console.url(f"#token={display}")
    else:
        url = f"{console.base}/manage/{how}"
    await page.navigate(url)
    await page.wait_for(
        "document.getElementById('signin').dataset.state === 'rejected'",
        what="the sign-in page, token rejected",
        show="document.body.innerText.slice(0, 300)",
    )
    assert await page.evaluate("document.getElementById('signin-error').dataset.reason") == reason
    message = await text(page, "#signin-error")
    assert ("unknown, revoked or expired" if reason == "unauthorized" else "manager") in message
    assert await page.evaluate("document.getElementById('view').hidden") is True
    assert "Traceback" not in await page.evaluate("document.body.innerText")
    # the token is out of the address bar, and not remembered
    assert "stk_" not in await page.evaluate("location.href")
    assert await page.evaluate("localStorage.getItem('stockd.manage.token')") is None
    if reason == "unauthorized" and how.startswith("#"):
        await shot(page, "sign-in-rejected")


async def test_a_token_revoked_while_signed_in_returns_to_the_sign_in_page(
    console: Console, page: Page
) -> None:
    await sign_in(page, console)
    await page.wait_for(
        "document.getElementById('feed').dataset.state === 'live'", what="the feed live"
    )
    await console.get("/products?limit=1")  # the token works until it is revoked
    infos = await console.service.list_tokens()
    (mine,) = [t for t in infos if t.name == "console test"]
    await console.service.revoke_token(mine.id)
    await page.wait_for(
        "document.getElementById('signin').dataset.state === 'rejected'",
        what="the sign-in page after the revocation",
    )
    assert "token revoked" in await text(page, "#signin-error")


# -- the first view, and how fast it comes -----------------------------------------------


async def test_the_first_view_loads_in_under_a_second_on_the_demo(
    console: Console, browser: Browser, page: Page
) -> None:
    figures = []
    for n in range(3):
        if n:
            page = await new_tab(browser)  # a new tab each time
        await page.navigate(console.url(f"#token={console.token}"))
        await wait_view(page, "stock")
        timing = await page.evaluate(
            """(() => { const n = performance.getEntriesByType('navigation')[0];
                return {ready: Number(document.documentElement.dataset.firstViewMs),
                        dom: Math.round(n.domContentLoadedEventEnd),
                        resources: performance.getEntriesByType('resource').length,
                        slowest: performance.getEntriesByType('resource')
                          .sort((a, b) => b.duration - a.duration).slice(0, 3)
                          .map(r => `${new URL(r.name).pathname} ${Math.round(r.duration)} ms`)};
            })()"""
        )
        figures.append(timing)
    ready = [f["ready"] for f in figures]
    dom = [f["dom"] for f in figures]
    slowest = [f["slowest"] for f in figures]
    print(
        f"\nmanager console, first view (stock) ready after {ready} ms (median "
        f"{statistics.median(ready)} ms); DOMContentLoaded {dom} ms; "
        f"{figures[0]['resources']} resources; slowest {slowest}"
    )
    assert statistics.median(ready) < FIRST_VIEW_BUDGET_MS, figures


# -- the views ---------------------------------------------------------------------------


async def test_stock_view_shows_locations_lots_weights_searches_and_updates_live(
    console: Console, page: Page
) -> None:
    await sign_in(page, console)
    first = await page.evaluate(f"{q('tr[data-row=product]')}.dataset.sku")
    stock = await console.get(f"/stock/{first}")
    row = f'tr[data-row=product][data-sku="{first}"]'
    assert await text(page, f"{row} [data-field=on_hand]") == f"{stock['on_hand']:,}"
    assert await text(page, f"{row} [data-field=available]") == f"{stock['available']:,}"
    # one row per location and lot, with the expiry where the lot has one
    assert await page.evaluate(count(f'tr[data-row=location][data-sku="{first}"]')) == len(
        stock["locations"]
    )
    lotted = next((loc for loc in stock["locations"] if loc["expiry"]), None)
    if lotted is not None:
        lot_row = f'tr[data-row=location][data-sku="{first}"][data-lot="{lotted["lot"]}"]'
        assert await text(page, f"{lot_row} [data-field=expiry]") == lotted["expiry"]
    # weight and dimensions from the product master
    product = await console.get(f"/products/{first}")
    await page.wait_for(
        f"{q(row + ' [data-field=weight]')}.textContent.endsWith(' g')", what="the weight"
    )
    assert await text(page, f"{row} [data-field=weight]") == f"{product['weight_g']:,.0f} g"
    assert "mm" in await text(page, f"{row} [data-field=dimensions]")
    await shot(page, "stock")

    # live: a receipt shows without a reload
    before = stock["on_hand"]
    await console.service.post(
        Envelope(
            IdempotencyKey("console-live-1"),
            Receive(ProductRef(sku=Sku(first)), LocationCode(stock["locations"][0]["location"]), 7),
            actor="test",
        )
    )
    await page.wait_for(
        f"{q(row + ' [data-field=on_hand]')}.textContent === {js(f'{before + 7:,}')}",
        what="the live figure",
        show=f"{q(row + ' [data-field=on_hand]')}.textContent",
    )
    assert await page.evaluate(f"{q(row)}.dataset.live") == "true"

    # search by name, by barcode (a GTIN of any length), by location
    found = await console.get("/products?limit=5")
    target = found["items"][3]
    word = target["name"].split()[-1]  # the names end in their number: unique enough
    await go(page, f"#/stock?q={target['name'].replace(' ', '%20')}", "stock")
    assert await page.evaluate(
        "[...document.querySelectorAll('tr[data-row=product]')].map(r => r.dataset.sku)"
    ) == [target["sku"]]
    assert word in await text(page, "tr[data-row=product] [data-field=name]")
    gtin = target["barcodes"][0]["code"].lstrip("0")
    await go(page, f"#/stock?q={gtin}", "stock")
    assert await page.evaluate(
        "[...document.querySelectorAll('tr[data-row=product]')].map(r => r.dataset.sku)"
    ) == [target["sku"]]
    await go(page, "#/stock?location=A-01", "stock")
    locations = await page.evaluate(
        "[...document.querySelectorAll('tr[data-row=location]')].map(r => r.dataset.location)"
    )
    assert locations
    assert set(locations) == {"A-01"}
    # the search form fills the URL: a bookmark
    await page.evaluate(
        "(() => { const f = document.querySelector('form[data-form=stock-search]');"
        " f.elements.q.value = 'no such product'; f.elements.location.value = '';"
        " f.requestSubmit(); })()"
    )
    await page.wait_for("location.hash === '#/stock?q=no+such+product'", what="the search URL")
    await wait_view(page, "stock")
    assert await page.evaluate(count("[data-empty]")) == 1
    await no_csp_violations(page)


async def test_stock_csv_download_holds_every_row_with_weights(
    console: Console, page: Page, tmp_path: Path
) -> None:
    await sign_in(page, console)
    await go(page, "#/stock?zone=A", "stock")
    await click(page, "button[data-action=csv]")
    text_ = await downloaded(tmp_path / "downloads", "stock.csv")
    rows = list(csv.DictReader(io.StringIO(text_)))
    assert list(rows[0]) == [
        "sku", "name", "location", "zone", "lot", "expiry", "on_hand", "reserved", "available",
        "on_order", "backordered", "weight_g", "length_mm", "width_mm", "height_mm",
    ]  # fmt: skip
    page_ = await console.get("/stock?zone=A&limit=1000")
    products = [r for r in rows if r["location"] == ""]
    assert [r["sku"] for r in products] == [i["sku"] for i in page_["items"]]
    first = page_["items"][0]
    (line,) = [r for r in products if r["sku"] == first["sku"]]
    assert int(line["on_hand"]) == first["on_hand"]
    product = await console.get(f"/products/{first['sku']}")
    assert float(line["weight_g"]) == product["weight_g"]
    zones = {r["zone"] for r in rows if r["location"]}
    assert zones == {"A"}


async def test_alerts_view_acknowledges_an_alert(console: Console, page: Page) -> None:
    await sign_in(page, console)
    await go(page, "#/alerts", "alerts")
    waiting = "tr[data-alert-id][data-acknowledged=false]"
    assert await page.evaluate(count(waiting)) > 0
    alert_id = int(await page.evaluate(f"{q(waiting)}.dataset.alertId"))
    # the menu's count comes from the feed's snapshot, which may land after the view's own read
    await page.wait_for(
        "Number(document.getElementById('alert-count').dataset.count) > 0",
        what="the alert count from the feed",
    )
    badge = int(await page.evaluate("document.getElementById('alert-count').dataset.count"))
    await shot(page, "alerts")
    await click(page, f'tr[data-alert-id="{alert_id}"] button[data-action=acknowledge]')
    row = f'tr[data-alert-id="{alert_id}"]'
    await page.wait_for(f"{q(row)}?.dataset.acknowledged === 'true'", what="acknowledged")
    assert "by api:console test" in await text(page, f"{row} [data-field=acknowledged]")
    alert = await console.get(f"/alerts/{alert_id}")
    assert alert["acknowledged_by"] == "api:console test"
    # the feed's alert.acknowledged brings the count in the menu down
    await page.wait_for(
        f"Number(document.getElementById('alert-count').dataset.count) === {badge - 1}",
        what="the alert count to drop",
    )


async def test_spool_exceptions_view_resolves_one(console: Console, page: Page) -> None:
    envelope = Envelope(
        IdempotencyKey("dock-1:42"),
        Pick(ProductRef(sku=Sku("SKU-0001")), LocationCode("A-01"), 3),
        scanner=None,
    )
    await console.service.record_spool_exceptions(
        [(envelope, InsufficientStockError("SKU-0001", "A-01", 3, 0), datetime.now(UTC))]
    )
    await sign_in(page, console)
    await go(page, "#/exceptions", "exceptions")
    row = "tr[data-exception-id][data-resolved=false]"
    assert await page.evaluate(count(row)) == 1
    assert "pick 3 SKU-0001 at A-01" in await text(page, row)
    await shot(page, "exceptions")
    await page.evaluate(f"{q(row + ' input[name=resolution]')}.value = 'recounted A-01'")
    await click(page, f"{row} button[data-action=resolve]")
    await page.wait_for("!!document.querySelector('[data-empty]')", what="no open exceptions")
    listed = await console.get("/spool-exceptions?state=all")
    (item,) = listed["items"]
    assert (item["resolved"], item["resolution"]) == (True, "recounted A-01")
    await go(page, "#/exceptions?state=all", "exceptions")
    assert await page.evaluate(count("tr[data-exception-id][data-resolved=true]")) == 1


async def test_scanners_view_shows_status_and_counters_live(console: Console, page: Page) -> None:

    await console.service.save_scanner_states(
        [
            scanner_state(
                name,
                state,
                mode="pick",
                location="A-01",
                last_scan_at=datetime.now(UTC),
                last_code="5012345000008",
                counters={"frames": 40 + n, "acks": 38, "naks": 2},
            )
            for n, (name, state) in enumerate((("dock-1", "connected"), ("aisle-2", "connected")))
        ]
    )
    await sign_in(page, console)
    await go(page, "#/scanners", "scanners")
    assert await page.evaluate(count("tr[data-scanner]")) == 2
    assert await text(page, 'tr[data-scanner="aisle-2"] [data-counter=frames]') == "41"
    assert await text(page, 'tr[data-scanner="dock-1"] [data-counter=naks]') == "2"
    await console.service.append_events(
        [("scanner.status", {"scanner": "aisle-2", "state": "reconnecting", "detail": "EIO"})]
    )
    aisle = q('tr[data-scanner="aisle-2"]')
    await page.wait_for(f"{aisle}.dataset.state === 'reconnecting'", what="the live state")
    await shot(page, "scanners")


async def test_orders_view_shows_the_backorder_queue_and_partial_fills(
    console: Console, page: Page
) -> None:
    await sign_in(page, console)
    await go(page, "#/orders", "orders")
    queue = await console.get("/backorders")
    shown = await page.evaluate(
        "[...document.querySelectorAll('tr[data-backorder]')].map(r => [r.dataset.order,"
        " r.dataset.sku, Number(r.dataset.position), r.dataset.expected])"
    )
    assert shown == [
        [b["order"], b["sku"], b["position"], b["expected_date"] or ""] for b in queue["items"]
    ]
    assert all(expected for *_, expected in shown)  # each is covered by a purchase order
    # SO-1002 was partly filled: some reserved (five arrived on PO-2001), the rest waiting
    order = await console.get("/orders/SO-1002")
    line = order["lines"][0]
    assert line["backordered"] > 0
    assert line["reserved"] > 0
    row = f'table[data-table=orders] tr[data-order="SO-1002"][data-sku="{line["sku"]}"]'
    assert await page.evaluate(f"{q(row)}.dataset.fill") == "partial"
    assert await text(page, f"{row} [data-field=backordered]") == str(line["backordered"])
    await shot(page, "orders")
    # live: the order is cancelled elsewhere; its backorder leaves the queue
    status, _ = await console.api("POST", "/orders/SO-1002/cancel")
    assert status == 200
    gone = q('tr[data-backorder][data-order="SO-1002"]')
    await page.wait_for(f"!{gone}", what="the cancelled order's backorder to go")


async def test_purchase_orders_view_shows_what_was_received(console: Console, page: Page) -> None:
    await sign_in(page, console)
    await go(page, "#/purchase-orders", "purchase-orders")
    po = await console.get("/purchase-orders/PO-2001")
    line = po["lines"][0]
    row = f'tr[data-po="PO-2001"][data-sku="{line["sku"]}"]'
    assert await text(page, f"{row} [data-field=received]") == "5"
    assert await text(page, f"{row} [data-field=quantity]") == str(line["quantity"])
    assert await text(page, f"{row} [data-field=expected_date]") == po["expected_date"]
    assert await page.evaluate(count("tr[data-po][data-status=open]")) >= 4
    await shot(page, "purchase-orders")


async def test_count_tasks_view_opens_confirms_and_approves_a_task(
    console: Console, page: Page
) -> None:
    stock = await console.get("/stock/SKU-0001")
    where = stock["locations"][0]["location"]
    on_hand = sum(x["on_hand"] for x in stock["locations"] if x["location"] == where)
    await sign_in(page, console)
    await go(page, "#/count-tasks", "count-tasks")
    assert await page.evaluate("!!document.querySelector('[data-empty]')")
    form = "form[data-form=open-task]"
    await click(page, f"{form} button[data-action=open-task]")  # no locations: refused
    await page.wait_for(f"!!{q('#view [data-notice=error]')}", what="the refusal shown")
    assert (await console.get("/count-tasks?status=open"))["items"] == []
    await page.evaluate(f"{q(form + ' input[name=locations]')}.value = {js(where)}")
    await click(page, f"{form} button[data-action=open-task]")
    row = "tr[data-task-id][data-status=open]"
    await page.wait_for(f"!!{q(row)}", what="the new task in the list")
    assert await text(page, f"{row} [data-field=locations]") == where
    assert await text(page, f"{row} [data-field=counted]") == "0 of 1"
    task_id = await page.evaluate(f"{q(row)}.dataset.taskId")
    # a worker counts the location (here through the API): SKU-0001 as expected, and
    # nothing else, so every other product there counts as zero
    status, counted = await console.api(
        "POST",
        f"/count-tasks/{task_id}/counts",
        {"location": where, "lines": [{"sku": "SKU-0001", "quantity": on_hand}]},
    )
    assert status == 200, counted
    await page.wait_for(
        f"{q(row + ' [data-field=counted]')}?.textContent === '1 of 1'",
        what="the count, live from the feed",
    )
    await click(page, f"{row} button[data-action=confirm]")
    await page.wait_for(f"!{q(row)}", what="the task, confirmed (no longer open)")
    await go(page, "#/count-tasks?status=all", "count-tasks")
    lines = f"table[data-table=count-lines][data-task-id={js(str(task_id))}]"
    posted = f'{lines} tr[data-sku="SKU-0001"]'
    await page.wait_for(
        f"!!{q(posted)}",
        what="the confirmed lines",
        show="document.getElementById('view').innerText.slice(0, 600)",
    )
    assert await page.evaluate(f"{q(posted)}.dataset.status") == "posted"
    assert await text(page, f"{posted} [data-field=variance]") == "0"
    task = await console.get(f"/count-tasks/{task_id}")
    waiting = [x for x in task["lines"] if x["status"] == "pending_approval"]
    assert task["status"] == ("pending_approval" if waiting else "closed")
    assert await page.evaluate(count(f"{lines} tr[data-status=pending_approval]")) == len(waiting)
    await shot(page, "count-tasks")
    if waiting:
        pending = f"tr[data-task-id={js(str(task_id))}][data-status=pending_approval]"
        await click(page, f"{pending} button[data-action=approve]")
        await page.wait_for(
            f"!!{q(f'tr[data-task-id={js(str(task_id))}][data-status=closed]')}",
            what="the approved task, closed",
        )
        left = await console.get(f"/stock/{waiting[0]['sku']}")
        assert all(x["location"] != where or x["on_hand"] == 0 for x in left["locations"])
    assert (await console.get(f"/count-tasks/{task_id}"))["status"] == "closed"


async def test_replenishment_creates_a_purchase_order_from_selected_rows(
    console: Console, page: Page
) -> None:
    await sign_in(page, console)
    await go(page, "#/replenishment", "replenishment")
    rows = await page.evaluate(
        "[...document.querySelectorAll('table[data-table=replenishment] tbody tr')]"
        ".slice(0, 2).map(r => r.dataset.sku)"
    )
    assert len(rows) == 2
    suggested = await console.get("/replenishment?needed=true&limit=2")
    assert [i["sku"] for i in suggested["items"]] == rows
    for sku in rows:
        assert await page.evaluate(f"{q(f'tr[data-sku={js(sku)}]')}.dataset.orderBy")
    for sku in rows:
        await click(page, f'input[data-select="{sku}"]')
    await page.evaluate(f"{q(f'input[data-quantity={js(rows[1])}]')}.value = '77'")
    form = "form[data-form=create-po]"
    await page.evaluate(
        f"(() => {{ const f = {q(form)}; f.elements.number.value = 'PO-CONSOLE-1';"
        " f.elements.supplier.value = 'Acme'; f.elements.expected_date.value = '2031-03-04'; })()"
    )
    await shot(page, "replenishment")
    await click(page, "button[data-action=create-po]")
    await page.wait_for("!!document.querySelector('[data-created-po]')", what="the new PO")
    assert await page.evaluate(f"{q('[data-created-po]')}.dataset.createdPo") == "PO-CONSOLE-1"
    po = await console.get("/purchase-orders/PO-CONSOLE-1")
    assert (po["supplier"], po["expected_date"], po["status"]) == ("Acme", "2031-03-04", "open")
    first = suggested["items"][0]
    assert [(line["sku"], line["quantity"]) for line in po["lines"]] == [
        (first["sku"], first["order_quantity"]),
        (rows[1], 77),
    ]
    # it is on order now
    stock = await console.get(f"/stock/{rows[1]}")
    assert stock["on_order"] >= 77
    # the same number again is refused with the API's reason, shown on the page
    await click(page, f'input[data-select="{rows[0]}"]')
    await page.evaluate(f"{q(form)}.elements.number.value = 'PO-CONSOLE-1'")
    await page.evaluate(f"{q(form)}.elements.expected_date.value = '2031-03-05'")
    await click(page, "button[data-action=create-po]")
    await page.wait_for("!!document.querySelector('[data-notice=error]')", what="the refusal")


async def test_forecasts_view_charts_history_forecast_and_the_stockout_against_lead_time(
    console: Console, browser: Browser, page: Page
) -> None:
    await sign_in(page, console)
    # a bookmark: straight to one product's chart (the token is remembered)
    page = await bookmark(browser, console.url("#/forecasts/SKU-0002"))
    await wait_view(page, "forecasts")
    forecast = await console.get("/forecasts/SKU-0002?weeks=26&history=52")
    chart = "[data-chart=forecast]"
    await page.wait_for(f"!!{q(chart + ' canvas')}", what="the chart drawn")
    points = int(await page.evaluate(f"{q(chart)}.dataset.points"))
    assert points == len(forecast["history"]) + len(forecast["weeks"]) == 52 + 26
    assert await page.evaluate(f"{q(chart)}.dataset.series") == "Past demand,Forecast,Low,High"
    assert forecast["method"] in await text(page, "[data-field=method]")
    plan = forecast["replenishment"]
    assert await text(page, "[data-field=stockout_date] b") == (
        plan["stockout_date"] or "none in sight"
    )
    assert await text(page, "[data-field=arrival_date] b") == plan["arrival_date"]
    assert await text(page, "[data-field=lead_time_days] b") == f"{plan['lead_time_days']} days"
    short = plan["stockout_date"] is not None and plan["stockout_date"] < plan["arrival_date"]
    verdict = await page.evaluate(
        f"{q('[data-stockout-before-arrival]')}.dataset.stockoutBeforeArrival"
    )
    assert verdict == str(short).lower()
    await shot(page, "forecast")
    # the product field goes to another product's chart
    await page.evaluate(
        "(() => { const f = document.querySelector('form[data-form=forecast-sku]');"
        " f.elements.sku.value = 'SKU-0005'; f.requestSubmit(); })()"
    )
    await page.wait_for("location.hash.startsWith('#/forecasts/SKU-0005')", what="the URL")
    await wait_view(page, "forecasts")
    await page.wait_for(f"!!{q(chart + ' canvas')}", what="the second chart")
    # an unknown product: the API's reason, not a blank view
    await page.evaluate("location.hash = '#/forecasts/NO-SUCH-SKU'")
    await page.wait_for(
        "document.getElementById('view').dataset.state === 'error'", what="an error view"
    )
    assert "NO-SUCH-SKU" in await text(page, "[data-notice=error]")
    await no_csp_violations(page)
    assert page.errors == []


async def test_reports_view_charts_by_category_and_downloads_the_csv(
    console: Console, page: Page, tmp_path: Path
) -> None:
    await sign_in(page, console)
    today = datetime.now(UTC).date().isoformat()
    await go(page, f"#/reports?from=2020-01-01&to={today}&days=90&at={today}", "reports")
    valuation = await console.get(f"/reports/valuation?at={today}")
    categories = [c["category"] for c in valuation["categories"]]
    assert len(categories) == 6
    for report in ("turnover", "deadstock", "valuation"):
        chart = f"[data-chart={report}]"
        await page.wait_for(f"!!{q(chart + ' canvas')}", what=f"the {report} chart")
        assert int(await page.evaluate(f"{q(chart)}.dataset.points")) > 0
    shown = await page.evaluate(
        "[...document.querySelectorAll('table[data-table=valuation-categories] tr[data-category]')]"
        ".map(r => r.dataset.category)"
    )
    assert shown == categories
    turnover = await console.get(f"/reports/turnover?from=2020-01-01&to={today}")
    moved = [i["sku"] for i in turnover["items"] if i["units_out"] > 0]
    assert moved
    listed = await page.evaluate(
        "[...document.querySelectorAll('table[data-table=turnover-products] tr[data-sku]')]"
        ".map(r => r.dataset.sku)"
    )
    assert set(moved) <= set(listed)
    await shot(page, "reports")
    await click(page, "button[data-action=csv][data-report=valuation]")
    got = await downloaded(tmp_path / "downloads", "valuation.csv")
    expected = await console.get(f"/reports/valuation?at={today}&format=csv")
    assert got.splitlines() == expected.splitlines()
    assert got.splitlines()[0].startswith("sku")
    assert len(got.splitlines()) > 100


async def test_every_view_is_a_bookmark_and_the_menu_follows(
    console: Console, browser: Browser, page: Page
) -> None:
    await sign_in(page, console)
    for view in (
        "stock", "alerts", "exceptions", "scanners", "orders", "purchase-orders",
        "replenishment", "forecasts", "reports", "count-tasks",
    ):  # fmt: skip
        tab = await bookmark(browser, console.url(f"#/{view}"))
        await wait_view(tab, view)
        link = q(f"nav a[data-nav={js(view)}]")
        assert await tab.evaluate(f"{link}.getAttribute('aria-current')") == "page"
        assert tab.errors == []
        await tab.send("Page.close")
    tab = await bookmark(browser, console.url("#/nowhere"))
    await tab.wait_for(
        "document.getElementById('view').dataset.state === 'error'", what="no such view"
    )
    assert "No such view" in await tab.evaluate("document.getElementById('view').innerText")
    # /manage (no slash) finds the console
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{console.base}/manage", allow_redirects=False) as answer,
    ):
        assert (answer.status, answer.headers["Location"]) == (308, "/manage/")
