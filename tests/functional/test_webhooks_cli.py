"""``stockd webhooks add|list|remove|deliveries``, ``stockd token create --role shop`` and
``stockd web`` delivering webhooks (``[web] webhooks``, ``webhook_timeout_s``), run as a
user runs them (the console script in a subprocess)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from stock_core.domain.token import Role
from stock_core.service import StockService
from stock_core.store.database import open_database
from tests.functional.api.test_webhooks import Receiver
from tests.functional.command import running
from tests.functional.command import stockd
from tests.integration.catalog_fixture import load_sample_catalog
from tests.timing import UNIT


async def test_webhooks_add_list_deliveries_remove(database_url: str, home: Path) -> None:
    added = await stockd(
        "webhooks", "add", "https://shop.example/hooks", "--events", "backorder.*, order.shipped",
        "--description", "shop", home=home, url=database_url,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    first, secret = added.stdout.strip().splitlines()
    assert first.startswith("webhook 1: https://shop.example/hooks for backorder.*,order.shipped")
    assert secret.startswith("whsec_")
    mine = "whsec_" + "B" * 44
    again = await stockd(
        "webhooks", "add", "http://127.0.0.1:9/x", "--events", "*", "--secret", mine,
        home=home, url=database_url,
    )  # fmt: skip
    assert (again.returncode, again.stdout.strip().splitlines()[-1]) == (0, mine)

    listed = await stockd("webhooks", "list", home=home, url=database_url)
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.strip().splitlines()[1:]
    assert [r.split()[0] for r in rows] == ["1", "2"]
    assert rows[0].split()[3:] == ["https://shop.example/hooks", "backorder.*,order.shipped"]

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO webhook_deliveries (webhook_id, msg_id, seq, type, body, status, "
            "attempts, last_status) VALUES (1, 'msg_5', 5, 'order.shipped', '{}', 'delivered', "
            "1, 204)"
        )
    finally:
        await conn.close()
    log = await stockd("webhooks", "deliveries", "1", home=home, url=database_url)
    assert log.returncode == 0, log.stderr
    (row,) = log.stdout.strip().splitlines()[1:]
    assert row.split()[1:6] == ["5", "delivered", "1", "204", "order.shipped"]
    none = await stockd(
        "webhooks", "deliveries", "1", "--status", "failed", home=home, url=database_url
    )
    assert none.stdout.strip().splitlines()[1:] == []

    removed = await stockd("webhooks", "remove", "1", home=home, url=database_url)
    assert (removed.returncode, removed.stdout.strip()) == (
        0,
        "removed webhook 1 (https://shop.example/hooks)",
    )
    gone = await stockd("webhooks", "remove", "1", home=home, url=database_url)
    assert gone.returncode == 1
    assert gone.stderr_lines[-1] == "stockd: no webhook 1 (stockd webhooks list shows them)"
    gone = await stockd("webhooks", "deliveries", "1", home=home, url=database_url)
    assert gone.returncode == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("add", "ftp://x.example/", "--events", "*"), "not an http(s) URL"),
        (("add", "https://x.example/", "--events", "nope.*"), "unknown event type 'nope.*'"),
        (("add", "https://x.example/", "--events", " , "), "name at least one event type"),
        (("add", "https://x.example/", "--events", "*", "--secret", "abc"), "starts with whsec_"),
        (("deliveries", "1", "--limit", "0"), "--limit must be 1 to 1000"),
    ],
)
async def test_webhooks_refuses_bad_arguments_in_one_line(
    home: Path, args: tuple[str, ...], says: str
) -> None:
    run = await stockd("webhooks", *args, home=home, url=None)
    assert run.returncode == 2
    assert says in run.stderr_lines[-1]


async def test_token_create_makes_a_shop_token(database_url: str, home: Path) -> None:
    made = await stockd(
        "token", "create", "--role", "shop", "--name", "storefront", home=home, url=database_url
    )
    assert made.returncode == 0, made.stderr
    first, token = made.stdout.strip().splitlines()
    assert first.startswith("created shop token ")
    assert token.startswith("stk_")


async def _order_through(base: str, token: str, number: str) -> None:
    body = {"number": number, "lines": [{"sku": "SPROCKET", "quantity": 1}]}
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{base}/api/v1/orders", json=body, headers=headers) as response,
    ):
        assert response.status == 201, await response.text()


async def _delivered(receiver: Receiver, seconds: float) -> bool:
    for _ in range(int(seconds * 10)):
        if receiver.got.get("shop"):
            return True
        await asyncio.sleep(0.1)
    return bool(receiver.got.get("shop"))


@pytest.mark.parametrize("enabled", [True, False], ids=["webhooks", "webhooks-off"])
async def test_stockd_web_delivers_webhooks_unless_turned_off(
    database_url: str, home: Path, enabled: bool
) -> None:
    receiver = Receiver()
    await receiver.up()
    try:
        async with open_database(database_url) as db:
            service = StockService(db.pool)
            await load_sample_catalog(service)
            manager, _ = await service.create_token("m", Role.MANAGER)
        added = await stockd(
            "webhooks", "add", receiver.url("shop"), "--events", "order.created",
            home=home, url=database_url,
        )  # fmt: skip
        receiver.secrets["shop"] = added.stdout.strip().splitlines()[-1]
        env = {"STOCKD_WEB__PORT": "0", "STOCKD_WEB__WEBHOOK_TIMEOUT_S": "3"}
        if not enabled:
            env["STOCKD_WEB__WEBHOOKS"] = "false"
        async with running(
            "web", home=home, url=database_url, ready=r"stockd web: ", env=env
        ) as web:
            base = web.find(r"floor page and API at (http://[^ ]+)/ ").group(1)
            await _order_through(base, manager, "SO-W1")
            await _delivered(receiver, (20 if enabled else 3) * UNIT)
        assert web.returncode == 0, web.stderr
        if not enabled:
            assert "shop" not in receiver.got
            # The event waits in the outbox: a node that delivers sends it when it starts.
            env.pop("STOCKD_WEB__WEBHOOKS")
            async with running(
                "web", home=home, url=database_url, ready=r"stockd web: ", env=env
            ) as web:
                assert await _delivered(receiver, 20 * UNIT), "never delivered"
        (got,) = receiver.got["shop"]
        assert (got.body["type"], got.body["data"]["order"]) == ("order.created", "SO-W1")
    finally:
        await receiver.close()


async def test_a_bad_webhook_setting_stops_start_up_in_one_line(home: Path) -> None:
    run = await stockd("web", home=home, url=None, env={"STOCKD_WEB__WEBHOOK_TIMEOUT_S": "0"})
    assert run.returncode == 2
    (line,) = run.stderr_lines
    assert line.startswith("stockd: bad setting web.webhook_timeout_s:")
    assert line.endswith("[environment STOCKD_WEB__WEBHOOK_TIMEOUT_S]")
