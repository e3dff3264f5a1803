"""``Idempotency-Key`` on POST /api/v1/movements: a replay answers the first response
and changes nothing; the same key with another body is 409; a missing key is 400."""

from __future__ import annotations

from stock_core.domain.token import Role
from stock_core.store.connection import Pool
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from tests.functional.api.conftest import post_movement
from tests.functional.api.conftest import snapshot

RECEIVE = {"kind": "receive", "sku": "WIDGET", "location": "A-01", "quantity": 5}
PICK = {"kind": "pick", "sku": "WIDGET", "location": "A-01", "quantity": 4}


async def test_a_replayed_key_returns_the_first_response_and_changes_nothing(
    client: Client, tokens: dict[Role, str], pool: Pool
) -> None:
    headers = {**bearer(tokens[Role.WORKER]), "Idempotency-Key": "receipt-1"}
    first = await client.post("/api/v1/movements", json=RECEIVE, headers=headers)
    first_body = await first.read()
    assert first.status == 201
    before = await snapshot(pool)
    again = await client.post("/api/v1/movements", json=RECEIVE, headers=headers)
    assert again.status == 201
    assert await again.read() == first_body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await snapshot(pool) == before
    stock = await (await client.get("/api/v1/stock/WIDGET", headers=headers)).json()
    assert stock["on_hand"] == 5


async def test_the_same_key_with_a_different_body_is_a_conflict(
    client: Client, tokens: dict[Role, str], pool: Pool
) -> None:
    token = tokens[Role.WORKER]
    assert (await post_movement(client, token, "k-1", RECEIVE))[0] == 201
    before = await snapshot(pool)
    status, problem = await post_movement(client, token, "k-1", RECEIVE | {"quantity": 6})
    assert status == 409
    assert problem["type"] == "/problems/idempotency-conflict"
    assert problem["status"] == 409
    assert await snapshot(pool) == before


async def test_a_refused_pick_is_replayed_as_refused_even_after_stock_arrives(
    client: Client, tokens: dict[Role, str], pool: Pool
) -> None:
    token = tokens[Role.WORKER]
    status, refused = await post_movement(client, token, "pick-1", PICK)
    assert status == 409
    assert refused["type"] == "/problems/insufficient-stock"
    assert refused["shortfall"] == 4
    assert (await post_movement(client, token, "receive-1", RECEIVE))[0] == 201
    before = await snapshot(pool)
    assert await post_movement(client, token, "pick-1", PICK) == (409, refused)
    assert await snapshot(pool) == before
    assert (await post_movement(client, token, "pick-2", PICK))[0] == 201


async def test_keys_are_scoped_to_the_token(client: Client, tokens: dict[Role, str]) -> None:
    status_a, first = await post_movement(client, tokens[Role.WORKER], "shared", RECEIVE)
    status_b, second = await post_movement(client, tokens[Role.MANAGER], "shared", RECEIVE)
    assert (status_a, status_b) == (201, 201)
    assert first["id"] != second["id"]


async def test_a_post_without_idempotency_key_is_400_and_changes_nothing(
    client: Client, tokens: dict[Role, str], pool: Pool
) -> None:
    before = await snapshot(pool)
    for headers in ({}, {"Idempotency-Key": "has space"}, {"Idempotency-Key": "x" * 129}):
        response = await client.post(
            "/api/v1/movements", json=RECEIVE, headers={**bearer(tokens[Role.WORKER]), **headers}
        )
        assert response.status == 400
        assert response.content_type == "application/problem+json"
        assert (await response.json(content_type=None))["type"] == "/problems/bad-request"
    assert await snapshot(pool) == before
