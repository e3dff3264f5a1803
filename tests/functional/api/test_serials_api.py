"""Serial numbers through the API (issue 17): products with ``tracking``, movements with
``serials``, ``GET /api/v1/serials/{sku}/{serial}``; every refusal a problem document
that changes nothing, and an Idempotency-Key replay applies once."""

from __future__ import annotations

from typing import Any

from stock_core.domain.token import Role
from stock_core.store.connection import Pool
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from tests.functional.api.conftest import post_movement
from tests.functional.api.conftest import snapshot


async def _json(response: Any) -> Any:
    return await response.json(content_type=None)


async def test_products_carry_their_tracking(client: Client, tokens: dict[Role, str]) -> None:
    manager = tokens[Role.MANAGER]
    made = await client.post(
        "/api/v1/products",
        json={"sku": "PHONE", "name": "Phone", "tracking": "serial"},
        headers=bearer(manager),
    )
    assert (made.status, (await _json(made))["tracking"]) == (201, "serial")
    plain = await client.get("/api/v1/products/WIDGET", headers=bearer(manager))
    assert (await _json(plain))["tracking"] == "none"
    bad = await client.patch(
        "/api/v1/products/WIDGET", json={"tracking": "batch"}, headers=bearer(manager)
    )
    assert bad.status == 422
    changed = await client.patch(
        "/api/v1/products/WIDGET", json={"tracking": "lot"}, headers=bearer(manager)
    )
    assert (await _json(changed))["tracking"] == "lot"


async def test_movements_by_serial_and_the_serials_history(
    client: Client, tokens: dict[Role, str], pool: Pool
) -> None:
    manager, worker = tokens[Role.MANAGER], tokens[Role.WORKER]
    await client.post(
        "/api/v1/products",
        json={"sku": "PHONE", "name": "Phone", "tracking": "serial"},
        headers=bearer(manager),
    )
    receive = {"kind": "receive", "sku": "PHONE", "location": "A-01", "serials": ["S1", "S2"]}
    status, posted = await post_movement(client, worker, "k1", receive)
    assert status == 201, posted
    assert [(m["serial"], m["delta"]) for m in posted["movements"]] == [("S1", 1), ("S2", 1)]
    before = await snapshot(pool)
    status, replayed = await post_movement(client, worker, "k1", receive)
    assert (status, replayed["movements"]) == (201, posted["movements"])
    assert await snapshot(pool) == before

    refusals: list[tuple[dict[str, Any], int, str]] = [
        (receive, 409, "serial-conflict"),  # S1 is in stock already
        ({**receive, "serials": ["S3"], "quantity": 2}, 422, "invalid-movement"),
        ({**receive, "serials": ["S3", "S3"]}, 422, "invalid-movement"),
        ({**receive, "serials": ["has space"]}, 422, "validation-error"),
        ({**receive, "serials": []}, 422, "validation-error"),
        ({"kind": "receive", "sku": "PHONE", "location": "A-01"}, 422, "validation-error"),
        (
            {"kind": "receive", "sku": "PHONE", "location": "A-01", "quantity": 1},
            422,
            "tracking-required",
        ),
        (
            {"kind": "receive", "sku": "WIDGET", "location": "A-01", "serials": ["W"]},
            422,
            "tracking-required",
        ),
        (
            {"kind": "pick", "sku": "PHONE", "location": "A-02", "serials": ["S1"]},
            409,
            "serial-conflict",
        ),
        (
            {
                "kind": "move",
                "sku": "PHONE",
                "location": "A-02",
                "to_location": "A-01",
                "serials": ["S2"],
            },
            409,
            "serial-conflict",
        ),
    ]
    for n, (body, code, kind) in enumerate(refusals):
        status, problem = await post_movement(client, worker, f"bad{n}", body)
        assert (status, problem["type"].split("/")[-1]) == (code, kind), (body, problem)
        assert problem["detail"]
    # a refused request keeps only its key, with the rejection a replay answers
    after = await snapshot(pool)
    assert {k: v for k, v in after.items() if k != "idempotency_keys"} == {
        k: v for k, v in before.items() if k != "idempotency_keys"
    }
    kept = await pool.fetchval("SELECT count(*) FROM idempotency_keys WHERE rejection IS NULL")
    assert kept == 1

    status, moved = await post_movement(
        client,
        worker,
        "k2",
        {
            "kind": "move",
            "sku": "PHONE",
            "location": "A-01",
            "to_location": "A-02",
            "serials": ["S2"],
        },
    )
    assert status == 201, moved
    status, picked = await post_movement(
        client,
        worker,
        "k3",
        {"kind": "pick", "sku": "PHONE", "location": "A-02", "quantity": 1, "serials": ["S2"]},
    )
    assert (status, picked["serial"], picked["kind"]) == (201, "S2", "pick")

    response = await client.get("/api/v1/serials/PHONE/S2", headers=bearer(worker))
    view = await _json(response)
    assert response.status == 200
    assert (view["sku"], view["serial"], view["status"], view["location"]) == (
        "PHONE",
        "S2",
        "shipped",
        None,
    )
    assert [(m["kind"], m["location"]) for m in view["history"]] == [
        ("receive", "A-01"),
        ("move_out", "A-01"),
        ("move_in", "A-02"),
        ("pick", "A-02"),
    ]
    response = await client.get("/api/v1/serials/PHONE/S1", headers=bearer(tokens[Role.DISPLAY]))
    assert response.status == 403
    for url, kind in (
        ("/api/v1/serials/PHONE/NOPE", "not-found"),
        ("/api/v1/serials/NOSUCH/S1", "unknown-product"),
    ):
        response = await client.get(url, headers=bearer(worker))
        problem = await _json(response)
        assert (response.status, problem["type"].split("/")[-1]) == (404, kind)
        assert response.content_type == "application/problem+json"
