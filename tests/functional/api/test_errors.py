"""Errors are problem documents with stable types and precise statuses."""

from __future__ import annotations

import io

import pytest
from aiohttp import ClientResponse

from stock_core.domain.token import Role
from stock_core.store.connection import Pool
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from tests.functional.api.conftest import snapshot
from web_ui.problem import PROBLEMS


async def _problem(response: ClientResponse) -> dict[str, object]:
    assert response.content_type == "application/problem+json"
    body: dict[str, object] = await response.json(content_type=None)
    assert body["status"] == response.status
    assert str(body["type"]).startswith("/problems/")
    return body


async def test_a_body_over_1_mib_is_413_and_changes_nothing(
    client: Client, tokens: dict[Role, str], pool: Pool
) -> None:
    before = await snapshot(pool)
    big = b'{"sku": "X", "name": "' + b"n" * (1 << 20) + b'"}'
    response = await client.post(
        "/api/v1/products",
        data=io.BytesIO(big),
        headers={**bearer(tokens[Role.MANAGER]), "Content-Type": "application/json"},
    )
    assert response.status == 413
    assert (await _problem(response))["type"] == "/problems/payload-too-large"
    assert await snapshot(pool) == before


@pytest.mark.parametrize(
    ("content_type", "data", "status", "problem"),
    [
        ("text/plain", b'{"sku": "X", "name": "x"}', 415, "unsupported-media-type"),
        ("application/json", b'{"sku": "X", "name": ', 400, "bad-request"),
        ("application/json", b'{"sku": "X"}', 422, "validation-error"),
        (
            "application/json",
            b'{"sku": "X", "name": "x", "unit_cost": -1}',
            422,
            "validation-error",
        ),
    ],
)
async def test_unreadable_or_invalid_bodies(
    client: Client,
    tokens: dict[Role, str],
    pool: Pool,
    content_type: str,
    data: bytes,
    status: int,
    problem: str,
) -> None:
    before = await snapshot(pool)
    response = await client.post(
        "/api/v1/products",
        data=data,
        headers={**bearer(tokens[Role.MANAGER]), "Content-Type": content_type},
    )
    assert response.status == status
    body = await _problem(response)
    assert body["type"] == f"/problems/{problem}"
    if status == 422:
        assert body["errors"]
    assert await snapshot(pool) == before


async def test_invalid_query_is_422_and_unknown_ids_are_404(
    client: Client, tokens: dict[Role, str]
) -> None:
    headers = bearer(tokens[Role.MANAGER])
    for url in (
        "/api/v1/movements?limit=0",
        "/api/v1/movements?kind=steal",
        "/api/v1/stock?below_reorder_point=maybe",
    ):
        response = await client.get(url, headers=headers)
        assert response.status == 422, url
        errors = (await _problem(response))["errors"]
        assert isinstance(errors, list)
        assert errors[0]["loc"][0] == "query"
    for url in (
        "/api/v1/movements/999",
        "/api/v1/movements/abc",
        "/api/v1/alerts/0",
        "/api/v1/nothing",
    ):
        response = await client.get(url, headers=headers)
        assert response.status == 404, url
        await _problem(response)


async def test_every_problem_type_is_described(client: Client) -> None:
    for name, (status, title) in PROBLEMS.items():
        response = await client.get(f"/problems/{name}")
        assert response.status == 200
        described = await response.json()
        assert described["type"] == f"/problems/{name}"
        assert (described["status"], described["title"]) == (status, title)
        assert len(described["description"]) > len("x")
    assert (await client.get("/problems/no-such-thing")).status == 404
