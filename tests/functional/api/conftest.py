"""The app on a fresh database with the sample catalog, and one token per role."""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from stock_core.domain.token import Role
from stock_core.service import StockService
from stock_core.store.connection import Pool

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[[web.Application], Awaitable[Client]]

SNAPSHOT_TABLES = {
    "products": "SELECT * FROM products",
    "product_barcodes": "SELECT * FROM product_barcodes",
    "locations": "SELECT * FROM locations",
    "stock": "SELECT * FROM stock",
    "serials": "SELECT * FROM serials",
    "movements": "SELECT * FROM movements",
    "idempotency_keys": "SELECT * FROM idempotency_keys",
    "alerts": "SELECT * FROM alerts",
    "spool_exceptions": "SELECT * FROM spool_exceptions",
    "scanner_states": "SELECT * FROM scanner_states",
    # last_used_at moves on every authenticated request: not a change a caller made
    "api_tokens": "SELECT id, name, role, prefix, secret_hash, revoked_at FROM api_tokens",
    "outbox": "SELECT id, type, payload FROM outbox",
    "warehouses": "SELECT * FROM warehouses",
    "transfers": "SELECT * FROM transfers",
    "transfer_lines": "SELECT * FROM transfer_lines",
}


async def snapshot(pool: Pool) -> dict[str, str]:
    """A digest of every table a request could change."""
    found = {}
    async with pool.acquire() as conn:
        for table, query in SNAPSHOT_TABLES.items():
            found[table] = await conn.fetchval(
                f"SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' "
                f"ORDER BY t::text)), '') FROM ({query}) t"
            )
    return found


@pytest.fixture
async def tokens(service: StockService) -> dict[Role, str]:
    made = {}
    for role in Role:
        text, _ = await service.create_token(f"test-{role.value}", role)
        made[role] = text
    return made


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def get_json(client: Client, url: str, token: str) -> tuple[int, Any]:
    """GET ``url``: the status and the JSON body (the text when the answer is CSV)."""
    response = await client.get(url, headers=bearer(token))
    if response.content_type == "text/csv":
        return response.status, await response.text()
    return response.status, await response.json(content_type=None)


async def post_json(client: Client, url: str, token: str, body: Any) -> tuple[int, Any]:
    """POST ``body`` as JSON to ``url``: the status and the JSON body."""
    response = await client.post(url, json=body, headers=bearer(token))
    return response.status, await response.json(content_type=None)


async def created_then_renamed(
    client: Client, url: str, token: str, code: str, name: str, new_name: str
) -> None:
    """A code-keyed resource (a warehouse, an operator) POSTed to ``url`` is created
    (201, as sent); POSTed again with the same code and ``new_name``, it is renamed
    (200)."""
    status, made = await post_json(client, url, token, {"code": code, "name": name})
    assert (status, made["code"], made["name"]) == (201, code, name)
    status, renamed = await post_json(client, url, token, {"code": code, "name": new_name})
    assert (status, renamed["name"]) == (200, new_name)


async def post_movement(
    client: Client, token: str, key: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        "/api/v1/movements", json=body, headers={**bearer(token), "Idempotency-Key": key}
    )
    payload: dict[str, Any] = await response.json(content_type=None)
    return response.status, payload
