"""Who scanned, end to end (issue 17): ``stockd import operators``, then ``stockd
serve`` with two pty scanners, a handheld on ``/scan/ws``, the API and the floor page
in headless Chromium. Badges sign workers in and out (and idle ones out), a scanner
with ``require_operator`` refuses product scans until someone signs in, and every
movement carries its operator: in the ledger, the movement filter, the report, the
scanners list, the feed and on the floor."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import websockets

from hardware_mocks.frames import HONEYWELL
from hardware_mocks.pty_scanner import PtyScanner
from tests.browser import Page
from tests.browser import needs_chromium
from tests.functional.command import running
from tests.functional.command import stockd
from tests.functional.pty_scans import answer
from tests.functional.pty_scans import first_answer
from tests.functional.pty_scans import honeywell_scanner
from tests.functional.pty_scans import import_csvs
from tests.functional.pty_scans import write
from tests.integration.catalog_fixture import LOCATIONS_CSV
from tests.integration.catalog_fixture import PRODUCTS_CSV
from tests.timing import UNIT

pytestmark = needs_chromium

WIDGET = "05012345678900"
OPERATORS_CSV = b"code,name\nann,Ann Smith\nbob,Bob Jones\n"


def config(path: Path, dock: PtyScanner, aisle: PtyScanner) -> Path:
    settings = {"mode": "receive", "location": "A-01"}
    scanners = honeywell_scanner(
        dock.path.name, dock.path, **settings, require_operator=True
    ) + honeywell_scanner(
        aisle.path.name,
        aisle.path,
        **settings,
        operator_idle_minutes=0.05,  # three seconds
    )
    return write(path, scanners.encode())


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}

    async def get(self, path: str) -> Any:
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.base + path, headers=self.headers) as reply,
        ):
            assert reply.status == 200, await reply.text()
            if reply.content_type == "text/csv":
                return await reply.text()
            return await reply.json()

    async def scanner(self, scanner_id: str) -> dict[str, Any]:
        listed = await self.get("/api/v1/scanners")
        return next(s for s in listed["items"] if s["id"] == scanner_id)


async def handheld(base: str, token: str, *codes: str) -> list[dict[str, Any]]:
    """Scans from the handheld page's socket, as /scan/ sends them: their replies."""
    replies = []
    async with websockets.connect(base.replace("http://", "ws://") + "/scan/ws") as ws:
        await ws.send(json.dumps({"type": "hello", "token": token, "scanner": "phone-1"}))
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 10 * UNIT))
        seq = welcome["last_seq"]
        for code in codes:
            seq += 1
            await ws.send(json.dumps({"type": "scan", "seq": seq, "code": code}))
            replies.append(json.loads(await asyncio.wait_for(ws.recv(), 10 * UNIT)))
    return replies


async def chip_operator(page: Page, scanner_id: str, operator: str) -> None:
    chip = f"document.querySelector('.chip[data-scanner=\"{scanner_id}\"]')"
    await page.wait_for(
        f"{chip} && {chip}.dataset.operator === {json.dumps(operator)}",
        15.0,
        f"{scanner_id}'s chip showing operator {operator!r}",
        show=f"{chip} && {chip}.outerHTML",
    )


async def test_badges_sign_workers_in_and_every_movement_says_who(
    database_url: str, home: Path, tmp_path: Path, page: Page
) -> None:
    runs = await import_csvs(
        tmp_path,
        home,
        database_url,
        ("locations", LOCATIONS_CSV),
        ("products", PRODUCTS_CSV),
        ("operators", OPERATORS_CSV),
    )
    assert "operators: 2 created, 0 updated" in runs["operators"].stdout
    tokens = {}
    for role in ("manager", "display", "worker"):
        made = await stockd(
            "token", "create", "--role", role, "--name", role, home=home, url=database_url
        )
        tokens[role] = made.stdout.strip().splitlines()[-1]
    async with (
        await PtyScanner.create(tmp_path / "dock-1", HONEYWELL) as dock,
        await PtyScanner.create(tmp_path / "aisle-1", HONEYWELL) as aisle,
        running(
            "--config", config(tmp_path / "stockd.toml", dock, aisle), "serve",
            home=home, url=database_url, ready=r"stockd serve: ",
            env={"STOCKD_WEB__PORT": "0"},
        ) as serve,
    ):  # fmt: skip
        base = serve.find(r"floor page and API at (http://[^ ]+)/").group(1)
        api = Api(base, tokens["manager"])
        await first_answer(dock, "LOC:A-01")
        await first_answer(aisle, "LOC:A-01")
        await page.navigate(f"{base}/#token={tokens['display']}")
        await page.wait_for("document.getElementById('conn').dataset.state === 'live'", 15.0)

        # require_operator: no product scan until someone signs in; unknown badges refused
        assert await answer(dock, WIDGET) == "nak"
        assert await answer(dock, "USR:zed") == "nak"
        assert await answer(dock, "USR:ann") == "ack"
        await chip_operator(page, "dock-1", "ann")
        assert (await api.scanner("dock-1"))["operator"] == "ann"
        assert await answer(dock, "QTY:5") == "ack"
        assert await answer(dock, WIDGET) == "ack"
        assert await answer(dock, "CMD:LOGOUT") == "ack"
        await chip_operator(page, "dock-1", "")
        assert await answer(dock, WIDGET) == "nak"

        # a scanner without the rule takes scans from no one, then from bob until he idles
        assert await answer(aisle, WIDGET) == "ack"
        assert await answer(aisle, "USR:bob") == "ack"
        assert await answer(aisle, "CMD:PICK") == "ack"
        assert await answer(aisle, WIDGET) == "ack"
        await chip_operator(page, "aisle-1", "bob")
        await chip_operator(page, "aisle-1", "")  # three seconds without a scan
        assert (await api.scanner("aisle-1"))["operator"] is None
        assert await answer(aisle, WIDGET) == "ack"

        # a handheld signs in the same way, and its movements carry the operator too
        replies = await handheld(base, tokens["worker"], "USR:bob", "LOC:A-02", "QTY:2", WIDGET)
        assert [r["type"] for r in replies] == ["ack"] * 4
        assert replies[0]["detail"] == "signed in: Bob Jones (bob)"
        assert (await api.scanner("phone-1"))["operator"] == "bob"

        rejected = await api.get("/api/v1/movements?operator=ann")
        assert [(m["kind"], m["delta"], m["scanner"]) for m in rejected["items"]] == [
            ("receive", 5, "dock-1")
        ]
        bobs = await api.get("/api/v1/movements?operator=bob")
        assert [(m["kind"], m["delta"], m["scanner"]) for m in bobs["items"]] == [
            ("pick", -1, "aisle-1"),
            ("receive", 2, "phone-1"),
        ]
        everyone = await api.get("/api/v1/movements")
        assert [m["operator"] for m in everyone["items"]] == [
            "ann",
            None,
            "bob",
            None,
            "bob",
        ]
        today = datetime.now(UTC).date().isoformat()
        report = await api.get(f"/api/v1/reports/operators?from={today}&to={today}")
        assert report["items"] == [
            {"operator": "ann", "name": "Ann Smith", "movements": 1, "units": 5},
            {"operator": "bob", "name": "Bob Jones", "movements": 2, "units": 3},
        ]
        csv_text = await api.get(f"/api/v1/reports/operators?from={today}&to={today}&format=csv")
        assert csv_text.splitlines() == [
            "operator,name,movements,units",
            "ann,Ann Smith,1,5",
            "bob,Bob Jones,2,3",
        ]
        shown = await page.evaluate(
            "[...document.querySelectorAll('.chip')].map(c => c.dataset.scanner + '=' + "
            "c.dataset.operator)"
        )
        assert "phone-1=bob" in shown
    assert serve.returncode == 0, serve.stderr
    assert "Traceback" not in str(serve.stderr)
