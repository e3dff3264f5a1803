"""Count tasks through the API: open, count (blind to workers), confirm, approve."""

from __future__ import annotations

import json
from typing import Any

from stock_core.domain.token import Role
from stock_core.service import StockService
from stock_core.store.connection import Pool
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from tests.functional.api.conftest import post_movement


async def _call(
    client: Client, method: str, url: str, token: str, body: Any = None, **headers: str
) -> tuple[int, Any]:
    response = await client.request(method, url, json=body, headers={**bearer(token), **headers})
    return response.status, await response.json(content_type=None)


async def _receive(client: Client, token: str, key: str, sku: str, where: str, n: int) -> None:
    body = {"kind": "receive", "sku": sku, "location": where, "quantity": n}
    assert (await post_movement(client, token, key, body))[0] == 201


async def _on_hand(pool: Pool, sku: str, location: str) -> int:
    async with pool.acquire() as conn:
        value = await conn.fetchval(
            "SELECT coalesce(sum(s.on_hand), 0) FROM stock s JOIN products p ON p.id = "
            "s.product_id JOIN locations l ON l.id = s.location_id WHERE p.sku = $1 "
            "AND l.code = $2",
            sku,
            location,
        )
    return int(value)


async def _events(pool: Pool, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT type, payload FROM outbox WHERE type LIKE $1 ORDER BY id", prefix + "%"
        )
    return [(r["type"], json.loads(r["payload"])) for r in rows]


async def test_a_blind_zone_count_is_kept_then_confirmed_and_approved(
    client: Client, tokens: dict[Role, str], pool: Pool, service: StockService
) -> None:
    manager, worker = tokens[Role.MANAGER], tokens[Role.WORKER]
    await _receive(client, worker, "r1", "WIDGET", "A-01", 20)
    await _receive(client, worker, "r2", "GADGET", "A-01", 5)
    await _receive(client, worker, "r3", "WIDGET", "A-02", 10)

    status, task = await _call(
        client, "POST", "/api/v1/count-tasks", manager, {"zone": "A", "blind": True}
    )
    assert status == 201, task
    assert (task["status"], task["locations"], task["blind"]) == ("open", ["A-01", "A-02"], True)
    url = f"/api/v1/count-tasks/{task['id']}"

    status, problem = await _call(
        client, "POST", "/api/v1/count-tasks", manager, {"locations": ["A-01"]}
    )
    assert (status, problem["type"]) == (409, "/problems/conflict")
    assert "A-01" in problem["detail"]

    # A worker counts A-01: WIDGET 20, GADGET not there. Stock does not change yet.
    count = {"location": "A-01", "lines": [{"sku": "WIDGET", "quantity": 20}]}
    status, seen = await _call(client, "POST", url + "/counts", worker, count)
    assert status == 200, seen
    assert seen["lines"] == [
        {
            "location": "A-01",
            "sku": "GADGET",
            "lot": "",
            "expected": None,
            "counted": 0,
            "variance": None,
            "status": "counted",
        },
        {
            "location": "A-01",
            "sku": "WIDGET",
            "lot": "",
            "expected": None,
            "counted": 20,
            "variance": None,
            "status": "counted",
        },
    ]
    assert await _on_hand(pool, "GADGET", "A-01") == 5
    status, managed = await _call(client, "GET", url, manager)
    assert [(x["sku"], x["expected"], x["variance"]) for x in managed["lines"]] == [
        ("GADGET", 5, -5),
        ("WIDGET", 20, 0),
    ]
    assert managed["counted_locations"] == ["A-01"]

    status, problem = await _call(
        client, "POST", url + "/counts", worker, {"location": "B-01", "lines": count["lines"]}
    )
    assert (status, problem["type"]) == (409, "/problems/conflict")
    status, problem = await _call(client, "POST", url + "/confirm", worker)
    assert status == 403

    # One more WIDGET arrives before confirmation: expected is what is there then (21).
    await _receive(client, worker, "r4", "WIDGET", "A-01", 1)
    status, confirmed = await _call(client, "POST", url + "/confirm", manager)
    assert status == 200, confirmed
    assert confirmed["status"] == "pending_approval"
    assert confirmed["lines"] == [
        {
            "location": "A-01",
            "sku": "GADGET",
            "lot": "",
            "expected": 5,
            "counted": 0,
            "variance": -5,
            "status": "pending_approval",
        },
        {
            "location": "A-01",
            "sku": "WIDGET",
            "lot": "",
            "expected": 21,
            "counted": 20,
            "variance": -1,
            "status": "posted",
        },
    ]
    assert await _on_hand(pool, "WIDGET", "A-01") == 20
    assert await _on_hand(pool, "GADGET", "A-01") == 5
    assert await _on_hand(pool, "WIDGET", "A-02") == 10  # not counted: untouched

    status, problem = await _call(client, "POST", url + "/confirm", manager)
    assert (status, problem["type"]) == (409, "/problems/count-task-state")
    status, problem = await _call(client, "POST", url + "/counts", worker, count)
    assert (status, problem["type"]) == (409, "/problems/count-task-state")

    status, approved = await _call(client, "POST", url + "/approve", manager)
    assert status == 200, approved
    assert approved["status"] == "closed"
    assert {x["status"] for x in approved["lines"]} == {"posted"}
    assert await _on_hand(pool, "GADGET", "A-01") == 0
    status, problem = await _call(client, "POST", url + "/approve", manager)
    assert (status, problem["type"]) == (409, "/problems/count-task-state")

    status, moves = await _call(client, "GET", "/api/v1/movements?kind=count", manager)
    counts = [(m["sku"], m["location"], m["delta"]) for m in moves["items"] if m["kind"] == "count"]
    assert counts == [("WIDGET", "A-01", -1), ("GADGET", "A-01", -5)]
    events = await _events(pool, "count_task.")
    assert [t for t, _ in events] == [
        "count_task.opened",
        "count_task.counted",
        "count_task.confirmed",
        "count_task.approved",
    ]
    assert "expected" not in events[1][1]
    assert events[2][1]["pending_approval"] == 1

    # With the task closed, a count of A-01 posts at once again.
    status, problem = await _call(client, "GET", "/api/v1/count-tasks?status=closed", worker)
    assert [t["id"] for t in problem["items"]] == [task["id"]]
    assert (await service.verify()).ok


async def test_tasks_by_locations_and_abc_class(
    client: Client, tokens: dict[Role, str], service: StockService
) -> None:
    manager, worker = tokens[Role.MANAGER], tokens[Role.WORKER]
    await _receive(client, worker, "r1", "GADGET", "B-01", 10)
    await _receive(client, worker, "r2", "GADGET", "A-02", 1)
    await _receive(client, worker, "r3", "WIDGET", "A-01", 5)
    pick = {"kind": "pick", "sku": "GADGET", "location": "B-01", "quantity": 8}
    assert (await post_movement(client, worker, "p1", pick))[0] == 201
    pick = {"kind": "pick", "sku": "WIDGET", "location": "A-01", "quantity": 1}
    assert (await post_movement(client, worker, "p2", pick))[0] == 201

    status, task = await _call(client, "POST", "/api/v1/count-tasks", manager, {"abc_class": "A"})
    assert (status, task["locations"], task["scope"]) == (201, ["A-02", "B-01"], {"abc_class": "A"})
    status, problem = await _call(
        client, "POST", "/api/v1/count-tasks", manager, {"locations": ["NOPE"]}
    )
    assert (status, problem["type"]) == (404, "/problems/unknown-location")
    for bad in ({}, {"zone": "A", "locations": ["A-01"]}, {"zone": "EMPTY"}):
        status, problem = await _call(client, "POST", "/api/v1/count-tasks", manager, bad)
        assert (status, problem["type"]) == (422, "/problems/invalid-count-task"), bad
    status, problem = await _call(
        client, "POST", "/api/v1/count-tasks", manager, {"abc_class": "D"}
    )
    assert status == 422

    # Not blind: a worker sees expected; a count below it beyond 10 % waits.
    url = f"/api/v1/count-tasks/{task['id']}"
    body = {"location": "B-01", "lines": [{"sku": "GADGET", "quantity": 1}]}
    status, seen = await _call(
        client, "POST", url + "/counts", worker, body, **{"Idempotency-Key": "c1"}
    )
    assert seen["lines"][0]["expected"] == 2
    status, confirmed = await _call(client, "POST", url + "/confirm", manager)
    assert [(x["location"], x["status"]) for x in confirmed["lines"]] == [
        ("B-01", "pending_approval")
    ]
    assert (await service.stock_of("GADGET")).on_hand == 3
    status, problem = await _call(client, "GET", "/api/v1/count-tasks/999", worker)
    assert status == 404
    status, problem = await _call(client, "POST", "/api/v1/count-tasks/999/counts", worker, body)
    assert (status, problem["type"]) == (404, "/problems/not-found")
    status, problem = await _call(client, "POST", "/api/v1/count-tasks/999/confirm", manager)
    assert (status, problem["type"]) == (404, "/problems/not-found")
    status, problem = await _call(client, "POST", "/api/v1/count-tasks/999/approve", manager)
    assert (status, problem["type"]) == (404, "/problems/not-found")
    nowhere = {"location": "NOPE", "lines": [{"sku": "GADGET", "quantity": 1}]}
    status, problem = await _call(client, "POST", url + "/counts", worker, nowhere)
    assert (status, problem["type"]) == (404, "/problems/unknown-location")
    status, task2 = await _call(client, "POST", "/api/v1/count-tasks", manager, {"zone": "A"})
    assert status == 201
    unknown = {"location": "A-01", "lines": [{"sku": "NOPE", "quantity": 1}]}
    status, problem = await _call(
        client, "POST", f"/api/v1/count-tasks/{task2['id']}/counts", worker, unknown
    )
    assert (status, problem["type"]) == (404, "/problems/unknown-product")
    status, page = await _call(client, "GET", "/api/v1/count-tasks?limit=1", worker)
    assert ([t["id"] for t in page["items"]], page["next_cursor"]) == (
        [task["id"]],
        str(task["id"]),
    )
    status, page = await _call(client, "GET", "/api/v1/count-tasks?status=open", worker)
    assert [t["id"] for t in page["items"]] == [task2["id"]]
    status, problem = await _call(
        client, "POST", f"/api/v1/count-tasks/{task2['id']}/approve", manager
    )
    assert (status, problem["type"]) == (409, "/problems/count-task-state")
