"""A client generated from the OpenAPI document by ``openapi-python-client`` runs an
order → backorder → receipt → filled flow against a live ``stockd web``.

openapi-python-client is installed in its own virtual environment (under the user's
cache directory, once; its pinned dependencies stay out of stockd's), the client is
generated into the test's temporary directory, and the flow runs in that
environment's Python, as an integrator's program would.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import aiohttp
import pytest

from stock_core.domain.token import Role
from stock_core.service import StockService
from stock_core.store.database import open_database
from tests.functional.command import running
from tests.integration.catalog_fixture import load_sample_catalog
from tests.timing import UNIT

_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "stockd-tests"
_VENV = _CACHE / "openapi-python-client"

_FLOW = """
import json, sys
from stockd_client import AuthenticatedClient
from stockd_client.api.orders import create_order, get_order, list_backorders
from stockd_client.api.purchase_orders import create_purchase_order, receive_purchase_order
from stockd_client.models import (
    LineIn, OrderIn, PurchaseOrderIn, ReceiptIn, ReceiptLineIn, OrderOut, PageBackorderOut,
    PostedMovements,
)
import datetime

base, manager, worker = sys.argv[1:4]
boss = AuthenticatedClient(base_url=base, token=manager)
hand = AuthenticatedClient(base_url=base, token=worker)
made = create_order.sync(client=boss, body=OrderIn(
    number="SO-GEN-1", lines=[LineIn(sku="GADGET", quantity=4)], customer="C-9",
    customer_email="c9@example.com"))
assert isinstance(made, OrderOut), made
waiting = list_backorders.sync(client=boss, sku="GADGET")
assert isinstance(waiting, PageBackorderOut), waiting
po = create_purchase_order.sync(client=boss, body=PurchaseOrderIn(
    number="PO-GEN-1", expected_date=datetime.date(2031, 3, 1),
    lines=[LineIn(sku="GADGET", quantity=4)]))
dated = list_backorders.sync(client=boss, sku="GADGET")
received = receive_purchase_order.sync(
    "PO-GEN-1", client=hand, idempotency_key="gen-1",
    body=ReceiptIn(location="A-01", lines=[ReceiptLineIn(sku="GADGET", quantity=4)]))
assert isinstance(received, PostedMovements), received
after = get_order.sync("SO-GEN-1", client=boss)
left = list_backorders.sync(client=boss, sku="GADGET")
print(json.dumps({
    "created": [[l.reserved, l.backordered] for l in made.lines],
    "waiting": [[b.order, b.quantity, b.expected_date] for b in waiting.items],
    "dated": [str(b.expected_date) for b in dated.items],
    "received": [m.delta for m in received.movements],
    "after": [[l.reserved, l.backordered] for l in after.lines],
    "customer_email": after.customer_email,
    "left": len(left.items),
}))
"""


async def _run(*args: str | Path, cwd: Path | None = None, timeout: float = 300) -> str:  # noqa: ASYNC109
    process = await asyncio.create_subprocess_exec(
        *map(str, args),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(timeout):
        out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()[-4000:]
    return out.decode()


async def _generator() -> Path:
    """openapi-python-client's command, in its own environment (made once)."""
    tool = _VENV / "bin" / "openapi-python-client"
    if not tool.exists():
        await _run(sys.executable, "-m", "venv", "--clear", _VENV)
        await _run(_VENV / "bin" / "pip", "install", "-q", "openapi-python-client>=0.21")
    return tool


@pytest.mark.timeout(600)
async def test_a_generated_client_runs_an_order_backorder_receipt_fill_flow(
    database_url: str, tmp_path: Path
) -> None:
    tool = await _generator()
    async with open_database(database_url) as db:
        service = StockService(db.pool)
        await load_sample_catalog(service)
        manager, _ = await service.create_token("gen-manager", Role.MANAGER)
        worker, _ = await service.create_token("gen-worker", Role.WORKER)
    home = tmp_path / "home"
    home.mkdir()
    async with running(
        "web", home=home, url=database_url, ready=r"stockd web: ", env={"STOCKD_WEB__PORT": "0"}
    ) as web:
        base = web.find(r"floor page and API at (http://[^ ]+)/ ").group(1)
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{base}/api/v1/openapi.json") as response,
        ):
            document = await response.read()
        (tmp_path / "openapi.json").write_bytes(document)
        await _run(
            tool, "generate", "--path", "openapi.json", "--meta", "none",
            "--output-path", "stockd_client", cwd=tmp_path,
        )  # fmt: skip
        (tmp_path / "flow.py").write_text(_FLOW)
        out = await _run(
            _VENV / "bin" / "python", "flow.py", base, manager, worker,
            cwd=tmp_path, timeout=60 * UNIT,
        )  # fmt: skip
    assert web.returncode == 0, web.stderr
    found = json.loads(out.strip().splitlines()[-1])
    assert found == {
        "created": [[0, 4]],
        "waiting": [["SO-GEN-1", 4, None]],
        "dated": ["2031-03-01"],
        "received": [4],
        "after": [[4, 0]],
        "customer_email": "c9@example.com",
        "left": 0,
    }
