"""The handheld page at ``/scan/`` in headless Chromium, against the real app and
PostgreSQL (issue 21).

Scans go in as a worker's device sends them: keyboard-wedge bursts as trusted key
events (Chrome DevTools ``Input.dispatchKeyEvent``, a few milliseconds apart, ending in
Enter or Tab, GS1's separator as Ctrl+]), the camera through Chromium's fake capture
device fed with a video of a rendered EAN-13, and typed codes. What the tests assert
is the ledger and what the page shows through its testing hooks (the header of
``web_ui/static/scan/scan.js``). The same scans played by a simulated serial scanner on
a pty through the gateway must change stock exactly as the page's do.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from PIL import Image

from hardware_mocks.frames import HONEYWELL
from scanner_gateway.gateway import Gateway
from stock_core.domain.labels import ProductEntry
from stock_core.domain.labels import parse_request
from stock_core.domain.labels import product_labels
from stock_core.domain.token import Role
from stock_core.label_pdf import render_pdf
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.store.database import Database
from stock_core.store.database import open_database
from tests.browser import Browser
from tests.browser import Page
from tests.browser import needs_chromium
from tests.cluster import free_port
from tests.gateway_harness import all_connected
from tests.gateway_harness import ledger_rows
from tests.gateway_harness import open_rig
from tests.gateway_harness import outbox_payloads
from tests.gateway_harness import stock_rows
from tests.integration.catalog_fixture import load_sample_catalog
from tests.pg import PgCluster
from tests.timing import UNIT
from tests.unit.stock_core.test_labels import needs_pdftoppm
from web_ui.app import create_app
from web_ui.config import WebConfig

pytestmark = needs_chromium

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
W, H = 412, 915  # a phone, in CSS pixels
WIDGET_EAN = "5012345678900"
GADGET = "4006381333931"
GS = "\x1d"
GS1_LOT = "]C1" + "0105012345678900" + "10LOT-7" + GS + "17301231"

Start = Callable[[], Awaitable[TestServer]]


@pytest.fixture
async def start(database: Database, service: StockService) -> AsyncIterator[Start]:
    """Start the app on one port; started again after a stop, the same port."""
    port = free_port()
    servers: list[TestServer] = []

    async def start() -> TestServer:
        server = TestServer(create_app(WebConfig(database=database)), host="127.0.0.1", port=port)
        await server.start_server()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


# -- driving the page ---------------------------------------------------------------------


def js(value: str) -> str:
    return json.dumps(value)


def _key(ch: str) -> dict[str, Any]:
    if ch == GS:  # Ctrl+], as keyboard wedges type GS1's separator
        return {"key": "]", "code": "BracketRight", "modifiers": 2, "windowsVirtualKeyCode": 221}
    return {"key": ch, "text": ch}


_END = {
    "Enter": {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"},
    "Tab": {"key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9},
}


KEY_GAP = 0.004
"""Seconds between a wedge scanner's keys (DataWedge's default inter-character delay is 0)."""


async def burst(page: Page, code: str, end: str = "Enter") -> None:
    """A wedge scanner's burst: trusted key events, in order, ``KEY_GAP`` apart.

    Each event carries its time (CDP's ``timestamp``, which becomes the DOM event's
    ``timeStamp``), so a busy test machine delivering them late does not turn a
    scanner's burst into a person's typing."""
    at = time.time()
    events = []
    for n, ch in enumerate(code):
        events.append({"type": "keyDown", "timestamp": at + n * KEY_GAP, **_key(ch)})
        up = {k: v for k, v in _key(ch).items() if k != "text"}
        events.append({"type": "keyUp", "timestamp": at + n * KEY_GAP + 0.001, **up})
    done = at + len(code) * KEY_GAP
    events.append({"type": "keyDown", "timestamp": done, **_END[end]})
    up_end = {k: v for k, v in _END[end].items() if k != "text"}
    events.append({"type": "keyUp", "timestamp": done + 0.001, **up_end})
    await asyncio.gather(*(page.send("Input.dispatchKeyEvent", e) for e in events))


async def slow_typing(page: Page, text: str, gap: float = 0.15) -> None:
    """A person at the keyboard: a key every ``gap`` seconds, then Enter."""
    for ch in text:
        await page.send("Input.dispatchKeyEvent", {"type": "keyDown", **_key(ch)})
        await page.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": ch})
        await asyncio.sleep(gap)
    await page.send("Input.dispatchKeyEvent", {"type": "keyDown", **_END["Enter"]})
    await page.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": "Enter"})


async def attr(page: Page, selector: str, name: str) -> str | None:
    value = await page.evaluate(f"document.querySelector({js(selector)})?.getAttribute({js(name)})")
    return None if value is None else str(value)


async def wait_attr(
    page: Page, selector: str, name: str, expected: str, within: float = 10
) -> None:
    await page.wait_for(
        f"document.querySelector({js(selector)})?.getAttribute({js(name)}) === {js(expected)}",
        within,
        what=f"{selector}[{name}] to be {expected!r}",
        show=f"document.querySelector({js(selector)})?.getAttribute({js(name)})",
    )


async def answer(page: Page, seq: int, within: float = 10) -> dict[str, str]:
    """The page's answer to scan ``seq``, once it has one (from #recent)."""
    li = f'#recent li[data-seq="{seq}"]'
    await page.wait_for(
        f"['ack','nak'].includes(document.querySelector({js(li)})?.dataset.result)",
        within,
        what=f"an answer to scan {seq}",
        show="document.getElementById('recent').innerText",
    )
    shown: dict[str, str] = await page.evaluate(
        f"(() => {{ const li = document.querySelector({js(li)}); return {{result: "
        f"li.dataset.result, code: li.dataset.code, text: li.querySelector('.text').textContent,"
        f" message: document.getElementById('message').textContent}}; }})()"
    )
    return shown


async def load(page: Page, url: str) -> None:
    """A fresh load of ``url`` (not a jump within the page, as a new fragment would be)."""
    await page.navigate("about:blank")
    await page.navigate(url)


async def open_page(page: Page, server: TestServer, token: str) -> None:
    await load(page, str(server.make_url("/scan/")) + f"#token={token}")
    await wait_attr(page, "#conn", "data-state", "live")


async def shoot(page: Page, name: str) -> None:
    """A screenshot for the docs once the flash has faded (tests/artifacts/NAME.png)."""
    await page.wait_for("!document.getElementById('flash').classList.contains('on')", 5)
    await asyncio.sleep(0.5 * UNIT)
    await page.screenshot(ARTIFACTS / f"{name}.png")


async def scanner_of(page: Page) -> str:
    return str(await attr(page, "#scanner-id", "data-scanner"))


# -- the script both transports play -------------------------------------------------------

SCRIPT: list[tuple[str, str]] = [
    ("LOC:DOCK-1", "ack"),
    ("CMD:RECEIVE", "ack"),
    ("QTY:5", "ack"),
    (WIDGET_EAN, "ack"),  # receive 5
    (GADGET, "ack"),  # receive 1
    (GS1_LOT, "ack"),  # receive 1 of lot LOT-7, expiry 2030-12-31
    ("CMD:PICK", "ack"),
    (GADGET, "ack"),  # pick 1
    (GADGET, "nak"),  # none left: refused with the reason
    ("CMD:MOVE", "ack"),
    (WIDGET_EAN, "ack"),
    (WIDGET_EAN, "ack"),
    ("LOC:A-01", "ack"),  # move 2 from DOCK-1 to A-01
    ("CMD:COUNT", "ack"),
    ("QTY:3", "ack"),
    (WIDGET_EAN, "ack"),
    ("CMD:DONE", "ack"),  # count: A-01 holds 3 widgets
]


def ledger_shape(rows: list[dict[str, Any]]) -> list[tuple[str, str, str, str, int]]:
    return [(r["kind"], r["sku"], r["location"], r["lot"], r["delta"]) for r in rows]


async def played_on_a_pty(
    pg_cluster: PgCluster, tmp_path: Path
) -> tuple[list[str | None], Any, Any]:
    """The script on a simulated Honeywell on a pty, through the gateway, on a fresh database."""
    name = await pg_cluster.create_database()
    try:
        async with open_database(pg_cluster.url_for(name), max_size=4) as db:
            service = StockService(db.pool)
            await load_sample_catalog(service)
            rig = await open_rig("pty-1", "pty", HONEYWELL, tmp_path, mode="receive")
            gateway = Gateway(service, [rig.config], tmp_path / "spool", name="pty")
            await gateway.start()
            rig.gateway = gateway
            try:
                await all_connected(gateway)
                answers: list[str | None] = []
                for code, _ in SCRIPT:
                    aim = "]C1" if code.startswith("]C1") else None
                    answers.append(await rig.scan(code.removeprefix("]C1"), aim=aim))
            finally:
                await gateway.stop()
                await rig.close()
            return answers, ledger_shape(await ledger_rows(db.pool)), await stock_rows(db.pool)
    finally:
        await pg_cluster.drop_database(name)


async def test_wedge_bursts_change_stock_exactly_as_the_same_scans_on_a_pty(
    start: Start, worker: str, pool: Pool, pg_cluster: PgCluster, tmp_path: Path
) -> None:
    server = await start()
    async with Browser.launch(width=W, height=H) as browser:
        page = await browser.new_page(width=W, height=H)
        await open_page(page, server, worker)
        assert await attr(page, "#worker", "data-worker") == "ana"
        answers = []
        for seq, (code, _) in enumerate(SCRIPT, 1):
            await burst(page, code, end="Tab" if seq % 2 else "Enter")
            shown = await answer(page, seq)
            answers.append(shown["result"])
            if code == GS1_LOT:
                assert shown["code"] == GS1_LOT  # the separator arrived as GS
                assert "lot LOT-7" in shown["text"]
            if shown["result"] == "nak":
                assert "GADGET" in shown["message"]  # the reason, in large text
                assert await attr(page, "#flash", "data-result") == "nak"
                await shoot(page, "scan-refused")
            if code == WIDGET_EAN and seq == 12:  # two held for the move
                await wait_attr(page, "#held li", "data-quantity", "2")
                assert await attr(page, "#mode", "data-mode") == "move"
                await shoot(page, "scan-move")
        assert answers == [expected for _, expected in SCRIPT]
        assert await attr(page, "#location", "data-location") == "A-01"
        scanner = await scanner_of(page)
        assert not page.errors, page.errors
    rows = await ledger_rows(pool)
    assert {r["scanner"] for r in rows} == {scanner}
    assert [r["scan_seq"] for r in rows] == sorted(r["scan_seq"] for r in rows)
    rejected = await outbox_payloads(pool, "scan.rejected")
    assert [(e["scanner"], e["code"]) for e in rejected] == [(scanner, GADGET)]
    pty_answers, pty_ledger, pty_stock = await played_on_a_pty(pg_cluster, tmp_path)
    assert pty_answers == answers
    assert ledger_shape(rows) == pty_ledger
    assert await stock_rows(pool) == pty_stock
    assert pty_stock == {
        ("WIDGET", "DOCK-1"): 4,
        ("WIDGET", "A-01"): 3,
    }


async def test_a_person_typing_is_not_a_scan_and_a_typed_code_is_sent(
    start: Start, worker: str, pool: Pool
) -> None:
    server = await start()
    async with Browser.launch(width=W, height=H) as browser:
        page = await browser.new_page(width=W, height=H)
        await open_page(page, server, worker)
        await slow_typing(page, "LOC:A-01")  # focus on the capture: keys too slow to be a scan
        await asyncio.sleep(0.5 * UNIT)
        assert await page.evaluate("document.querySelectorAll('#recent li').length") == 0
        await page.evaluate("document.getElementById('manual-code').focus()")
        await slow_typing(page, "LOC:A-01")  # typed into the field, Enter sends it
        assert (await answer(page, 1))["result"] == "ack"
        await burst(page, WIDGET_EAN)  # a wedge burst while the field has the focus
        assert (await answer(page, 2))["text"] == "received 1 × WIDGET at A-01"
        assert await page.evaluate("document.getElementById('manual-code').value") == ""
        await page.evaluate("document.querySelector('button[data-code=\"CMD:PICK\"]').click()")
        assert (await answer(page, 3))["result"] == "ack"
        await wait_attr(page, "#mode", "data-mode", "pick")
        await shoot(page, "scan-ready")
    assert await stock_rows(pool) == {("WIDGET", "A-01"): 1}


# -- camera ---------------------------------------------------------------------------------


def ean13_video(folder: Path) -> Path:
    """A y4m video of the product label the project prints for WIDGET's EAN-13."""
    request = parse_request("products", size="100x50", reference_year=2026)
    labels = product_labels(request, [ProductEntry("WIDGET", "Widget", (("05012345678900", 1),))])
    (folder / "label.pdf").write_bytes(render_pdf(labels, request.size))
    subprocess.run(
        ["pdftoppm", "-r", "150", "-gray", "-png", "-singlefile", "label.pdf", "label"],
        cwd=folder,
        check=True,
        timeout=60,
    )
    label = Image.open(folder / "label.png").convert("L")
    label.thumbnail((600, 440))
    frame = Image.new("L", (640, 480), 255)
    frame.paste(label, ((640 - label.width) // 2, (480 - label.height) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * (320 * 240)
    video = folder / "ean13.y4m"
    with video.open("wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(10):
            out.write(b"FRAME\n" + luma + chroma + chroma)
    return video


@needs_pdftoppm
async def test_the_camera_reads_a_rendered_ean13_and_receives_the_product(
    start: Start, worker: str, pool: Pool, tmp_path: Path
) -> None:
    video = ean13_video(tmp_path)
    server = await start()
    flags = (
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    async with Browser.launch(width=W, height=H, flags=flags) as browser:
        page = await browser.new_page(width=W, height=H)
        await open_page(page, server, worker)
        await burst(page, "LOC:DOCK-1")
        assert (await answer(page, 1))["result"] == "ack"
        await page.evaluate("document.getElementById('camera-toggle').click()")
        await wait_attr(page, "#camera-panel", "data-state", "on", within=20)
        decoder = await attr(page, "#camera-panel", "data-decoder")
        assert decoder in ("zxing", "barcode-detector")
        shown = await answer(page, 2, within=30)
        assert shown["result"] == "ack", shown
        assert shown["code"] == "]E0" + WIDGET_EAN
        assert shown["text"] == "received 1 × WIDGET at DOCK-1"
        await shoot(page, "scan-camera")
        await asyncio.sleep(1.5 * UNIT)  # the label stays in view: still one scan
        await page.evaluate("document.getElementById('camera-toggle').click()")
        await wait_attr(page, "#camera-panel", "data-state", "off")
        assert not page.errors, page.errors
    assert await stock_rows(pool) == {("WIDGET", "DOCK-1"): 1}


# -- offline -------------------------------------------------------------------------------


async def test_scans_taken_offline_are_sent_in_order_once_each_and_a_refusal_stays(
    start: Start, worker: str, pool: Pool, service: StockService
) -> None:
    server = await start()
    async with Browser.launch(width=W, height=H) as browser:
        page = await browser.new_page(width=W, height=H)
        url = str(server.make_url("/scan/"))
        await open_page(page, server, worker)
        await wait_attr(page, "html", "data-offline-ready", "true", within=20)
        scanner = await scanner_of(page)
        await burst(page, "LOC:A-01")
        assert (await answer(page, 1))["result"] == "ack"
        for seq in range(2, 22):  # 20 receipts online
            await burst(page, WIDGET_EAN)
            assert (await answer(page, seq))["result"] == "ack"
        await server.close()  # the server goes away during the 50
        await wait_attr(page, "#conn", "data-state", "reconnecting")
        for _ in range(15):
            await burst(page, WIDGET_EAN)
        await wait_attr(page, "#queue-panel", "data-count", "15")
        assert await attr(page, "#flash", "data-result") == "pending"
        # a reload while scans wait: the page comes from the service worker, the scans
        # from IndexedDB
        await page.navigate(url)
        await wait_attr(page, "#queue-panel", "data-count", "15")
        assert await attr(page, "#conn", "data-state") != "live"
        assert await attr(page, "#worker", "data-worker") == "ana"  # as last heard
        assert await attr(page, "#location", "data-location") == "A-01"
        for _ in range(15):
            await burst(page, WIDGET_EAN)
        await burst(page, "CMD:PICK")
        await burst(page, GADGET)  # none at A-01: refused when it is sent
        await wait_attr(page, "#queue-panel", "data-count", "32")
        await shoot(page, "scan-offline")
        server = await start()  # back, on the same port
        await wait_attr(page, "#conn", "data-state", "live", within=30)
        await wait_attr(page, "#queue-panel", "data-count", "0", within=30)
        await wait_attr(page, "#exceptions-panel", "data-count", "1")
        reason = await attr(page, "#exceptions li", "data-reason")
        assert reason is not None
        assert "GADGET" in reason
        assert await attr(page, "#exceptions li", "data-code") == GADGET
        await shoot(page, "scan-exception")
        # it stays until resolved, reloads included
        await page.navigate(str(server.make_url("/scan/")))
        await wait_attr(page, "#exceptions-panel", "data-count", "1")
        await page.evaluate("document.querySelector('#exceptions button[data-resolve]').click()")
        await wait_attr(page, "#exceptions-panel", "data-count", "0")
    rows = await ledger_rows(pool, scanner)
    assert [(r["kind"], r["delta"]) for r in rows] == [("receive", 1)] * 50
    assert [r["scan_seq"] for r in rows] == list(range(2, 52))
    assert await stock_rows(pool) == {("WIDGET", "A-01"): 50}
    # and a manager sees the refusal, as a serial gateway's spooled scan refused on replay
    (late,) = await service.list_spool_exceptions()
    assert (late.scanner, late.scan_seq, late.problem_type) == (
        scanner,
        53,
        "insufficient-stock",
    )
    assert late.spooled_at is not None


# -- sign-in ---------------------------------------------------------------------------------


async def test_a_bad_or_missing_token_shows_the_sign_in_page(
    start: Start, worker: str, service: StockService
) -> None:
    display, _ = await service.create_token("floor", Role.DISPLAY)
    server = await start()
    async with Browser.launch(width=W, height=H) as browser:
        page = await browser.new_page(width=W, height=H)
        await page.navigate(str(server.make_url("/scan/")))
        await page.wait_for("!document.getElementById('signin').hidden", 10, "the sign-in form")
        assert await attr(page, "html", "data-signed-in") == "false"
        assert await attr(page, "#signin-reason", "data-reason") == ""
        await shoot(page, "scan-signin")
        await load(page, str(server.make_url("/scan/")) + "#token=stk_bogus_0000")
        await page.wait_for(
            "document.getElementById('signin-reason').dataset.reason.includes('token')",
            10,
            "the refusal's reason",
        )
        assert "#token" not in await page.evaluate("location.href")  # not left on screen
        await load(page, str(server.make_url("/scan/")) + f"#token={display}")
        await page.wait_for(
            "document.getElementById('signin-reason').dataset.reason.includes('worker')",
            10,
            "the role's refusal",
        )
        # the form signs in; a good token is kept for the device
        await page.evaluate(
            f"document.getElementById('signin-token').value = {js(worker)};"
            "document.getElementById('signin-submit').click()"
        )
        await wait_attr(page, "#conn", "data-state", "live")
        await page.navigate(str(server.make_url("/scan/")))
        await wait_attr(page, "#conn", "data-state", "live")
        assert await attr(page, "#worker", "data-worker") == "ana"
        assert not page.errors, page.errors


# -- the wedge's timing rule, on its own ----------------------------------------------------

WEDGE_CASES = """(async () => {
  const { Wedge, GS } = await import("/static/scan/wedge.js");
  const run = (keys) => {
    const got = [];
    const wedge = new Wedge({ onScan: (code) => got.push(code) });
    for (const [key, at, extra] of keys) {
      wedge.keydown({ key, timeStamp: at, target: document.body, preventDefault() {},
                      stopPropagation() {}, ctrlKey: false, ...(extra || {}) });
    }
    return got;
  };
  const typed = (text, gap, end = "Enter", endGap = gap) =>
    [...[...text].map((ch, i) => [ch, 1000 + i * gap]),
     [end, 1000 + (text.length - 1) * gap + endGap]];
  return {
    burst: run(typed("LOC:A-01", 4)),
    tab: run(typed("QTY:5", 4, "Tab")),
    person: run(typed("LOC:A-01", 120)),
    short: run(typed("AB", 2)),
    late_end: run(typed("LOC:A-01", 4, "Enter", 500)),
    ctrl_bracket: run([["0", 1], ["1", 3], ["]", 5, { ctrlKey: true }], ["2", 7], ["Enter", 9]]),
    gs_char: run([["0", 1], ["1", 3], [GS, 5], ["2", 7], ["Enter", 9]]),
    person_then_burst: run([["x", 0], ["y", 300], ...typed("QTY:2", 3)]),
    shift: run([["Q", 1], ["Shift", 2], ["T", 3], ["Y", 4], ["Enter", 5]]),
  };
})()"""


async def test_the_wedge_tells_a_scanner_burst_from_a_person_typing(start: Start) -> None:
    server = await start()
    async with Browser.launch(width=W, height=H) as browser:
        page = await browser.new_page(width=W, height=H)
        await load(page, str(server.make_url("/scan/")))
        got = await page.evaluate(WEDGE_CASES)
    assert got == {
        "burst": ["LOC:A-01"],
        "tab": ["QTY:5"],
        "person": [],
        "short": [],
        "late_end": [],
        "ctrl_bracket": ["01\x1d2"],
        "gs_char": ["01\x1d2"],
        "person_then_burst": ["QTY:2"],
        "shift": ["QTY"],
    }


async def test_the_floor_page_shows_the_handheld_among_the_scanners(
    start: Start, worker: str, service: StockService
) -> None:
    display, _ = await service.create_token("floor", Role.DISPLAY)
    server = await start()
    async with Browser.launch() as browser:
        floor = await browser.new_page()
        await load(floor, str(server.make_url("/")) + f"#token={display}")
        await floor.wait_for("document.getElementById('conn').dataset.state === 'live'", 10)
        hand = await browser.new_page(width=W, height=H)
        await open_page(hand, server, worker)
        chip = f'.chip[data-scanner="{await scanner_of(hand)}"]'
        await wait_attr(floor, chip, "data-state", "connected")
        await burst(hand, "LOC:A-01")
        await burst(hand, WIDGET_EAN)
        assert (await answer(hand, 2))["result"] == "ack"
        await floor.wait_for(
            f"[...document.querySelectorAll('#recent li')].some(li => "
            f"li.textContent.includes({js(await scanner_of(hand))}))",
            10,
            "the handheld's receipt among the recent scans",
        )
        await hand.navigate("about:blank")  # the page goes
        await wait_attr(floor, chip, "data-state", "offline")


async def test_a_serial_tracked_product_waits_for_its_serial_on_the_page(
    start: Start, worker: str, service: StockService, pool: Pool
) -> None:
    await service.import_products(
        b"sku,name,barcodes,category,unit_cost,weight_g,length_mm,width_mm,height_mm,"
        b"reorder_point,reorder_qty,lead_time_days,safety_stock,tracking\n"
        b"PHONE,Phone,09506000134352,phones,300,200,,,,0,0,0,0,serial\n"
    )
    server = await start()
    async with Browser.launch(width=W, height=H) as browser:
        page = await browser.new_page(width=W, height=H)
        await open_page(page, server, worker)
        await burst(page, "LOC:A-01")
        assert (await answer(page, 1))["result"] == "ack"
        await burst(page, "09506000134352")  # plain: acknowledged, waits for the serial
        assert (await answer(page, 2))["result"] == "ack"
        await wait_attr(page, "#serial-wait", "data-remaining", "1")
        assert await attr(page, "#serial-wait", "data-product") == "09506000134352"
        assert await page.evaluate("document.getElementById('serial-wait').hidden") is False
        await burst(page, "LOC:A-02")  # anything else meanwhile is refused
        refused = await answer(page, 3)
        assert refused["result"] == "nak"
        assert "SN:<serial>" in refused["message"]
        await burst(page, "SN:IMEI-0001")
        assert (await answer(page, 4))["result"] == "ack"
        await page.wait_for("document.getElementById('serial-wait').hidden", 10)
    view = await service.serial("PHONE", "IMEI-0001")
    assert view is not None
    assert (view.status, view.location) == ("in_stock", "A-01")
    assert await stock_rows(pool) == {("PHONE", "A-01"): 1}
