"""``stockd webhooks add|list|remove|deliveries`` and ``stockd token create --role shop``,
run as a user runs them (the console script in a subprocess)."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tests.functional.command import stockd


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "stockd-home"
    path.mkdir()
    return path


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
