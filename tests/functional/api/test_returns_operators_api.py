"""Operators, returns, scrap and quarantine through the API (issue 17): the operators
resource and report, movements naming an operator and a reason, quarantine locations,
``quarantined`` stock; every refusal a problem document that changes nothing."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from stock_core.domain.token import Role
from stock_core.store.connection import Pool
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import created_then_renamed
from tests.functional.api.conftest import get_json
from tests.functional.api.conftest import post_json
from tests.functional.api.conftest import post_movement
from tests.functional.api.conftest import snapshot


async def test_operators_are_kept_listed_and_named_by_movements(
    client: Client, tokens: dict[Role, str], pool: Pool
) -> None:
    manager, worker = tokens[Role.MANAGER], tokens[Role.WORKER]
    await created_then_renamed(client, "/api/v1/operators", manager, "ann", "Ann", "Ann Smith")
    await post_json(client, "/api/v1/operators", manager, {"code": "bob", "name": "Bob"})
    status, page = await get_json(client, "/api/v1/operators?limit=1", manager)
    assert status == 200
    assert ([o["code"] for o in page["items"]], page["next_cursor"]) == (["ann"], "ann")
    status, page = await get_json(
        client, f"/api/v1/operators?cursor={page['next_cursor']}", manager
    )
    assert [o["code"] for o in page["items"]] == ["bob"]
    # a worker may not keep operators; a bad code is a 422 and changes nothing
    status, problem = await post_json(
        client, "/api/v1/operators", worker, {"code": "x", "name": "X"}
    )
    assert status == 403
    before = await snapshot(pool)
    for body in ({"code": "a b", "name": "X"}, {"code": "cid", "name": ""}, {"code": "cid"}):
        status, problem = await post_json(client, "/api/v1/operators", manager, body)
        assert status == 422, problem
        assert problem["type"].endswith("validation-error")
    assert await snapshot(pool) == before

    receive: dict[str, Any] = {
        "kind": "receive",
        "sku": "WIDGET",
        "location": "A-01",
        "quantity": 5,
    }
    status, posted = await post_movement(client, worker, "r1", {**receive, "operator": "ann"})
    assert (status, posted["operator"], posted["actor"]) == (201, "ann", "api:test-worker")
    status, plain = await post_movement(client, worker, "r2", receive)
    assert (status, plain["operator"], plain["reason"]) == (201, None, None)
    before = await snapshot(pool)
    status, problem = await post_movement(client, worker, "r3", {**receive, "operator": "zed"})
    assert (status, problem["type"].split("/")[-1]) == (422, "unknown-operator")
    assert await snapshot(pool) == before

    status, anns = await get_json(client, "/api/v1/movements?operator=ann", manager)
    assert [(m["delta"], m["operator"]) for m in anns["items"]] == [(5, "ann")]
    status, text = await get_json(client, "/api/v1/movements.csv?operator=ann", manager)
    header, line = text.splitlines()
    assert header.endswith(",operator,reason,serial,warehouse")
    assert line.endswith(",ann,,,MAIN")
    today = datetime.now(UTC).date().isoformat()
    status, report = await get_json(
        client, f"/api/v1/reports/operators?from={today}&to={today}", manager
    )
    assert (status, report["items"]) == (
        200,
        [{"operator": "ann", "name": "Ann Smith", "movements": 1, "units": 5}],
    )
    status, problem = await get_json(
        client, "/api/v1/reports/operators?from=2025-02-01&to=2025-01-01", manager
    )
    assert status == 422


async def test_returns_scrap_and_quarantine_through_the_api(
    client: Client, tokens: dict[Role, str], pool: Pool
) -> None:
    manager, worker = tokens[Role.MANAGER], tokens[Role.WORKER]
    status, made = await post_json(
        client,
        "/api/v1/locations",
        manager,
        {"code": "Q-01", "zone": "RET", "type": "quarantine"},
    )
    assert (status, made["type"]) == (201, "quarantine")
    status, a01 = await get_json(client, "/api/v1/locations/A-01", manager)
    assert a01["type"] == "storage"
    receive = {"kind": "receive", "sku": "WIDGET", "location": "A-01", "quantity": 10}
    assert (await post_movement(client, worker, "in", receive))[0] == 201

    returned = {"kind": "return", "sku": "WIDGET", "location": "Q-01", "quantity": 3}
    status, posted = await post_movement(client, worker, "ret", {**returned, "reason": "Damaged"})
    assert status == 201, posted
    assert (posted["kind"], posted["delta"], posted["reason"]) == ("return", 3, "damaged")
    status, stock = await get_json(client, "/api/v1/stock/WIDGET", worker)
    assert (stock["on_hand"], stock["available"], stock["quarantined"]) == (13, 10, 3)
    rows = {r["location"]: r for r in stock["locations"]}
    assert (rows["Q-01"]["available"], rows["Q-01"]["quarantined"]) == (0, 3)
    assert rows["A-01"]["quarantined"] == 0

    before = await snapshot(pool)
    refusals = [
        ({**returned, "reason": "damaged", "location": "A-01"}, 409, "not-quarantine"),
        ({**returned, "reason": "stolen"}, 422, "unknown-reason"),
        (returned, 422, "validation-error"),  # no reason
        ({**returned, "reason": "no good"}, 422, "validation-error"),
        ({"kind": "pick", "sku": "WIDGET", "location": "Q-01", "quantity": 1}, 409,
         "quarantined-stock"),
        ({"kind": "scrap", "sku": "WIDGET", "location": "A-01", "quantity": 11,
          "reason": "lost"}, 409, "insufficient-stock"),
    ]  # fmt: skip
    for n, (body, code, kind) in enumerate(refusals):
        status, problem = await post_movement(client, worker, f"bad{n}", body)
        assert (status, problem["type"].split("/")[-1]) == (code, kind), (body, problem)
        assert problem["status"] == code
    after = await snapshot(pool)
    # refusals are remembered with their keys (a replay answers the same); nothing else
    assert {t: d for t, d in after.items() if t != "idempotency_keys"} == {
        t: d for t, d in before.items() if t != "idempotency_keys"
    }

    scrap = {"kind": "scrap", "sku": "WIDGET", "location": "A-01", "quantity": 2}
    status, posted = await post_movement(client, worker, "scrap", {**scrap, "reason": "lost"})
    assert (status, posted["kind"], posted["delta"], posted["reason"]) == (201, "scrap", -2, "lost")
    again = await post_movement(client, worker, "scrap", {**scrap, "reason": "lost"})
    assert again == (201, posted)  # replayed: the first answer, nothing changed
    move = {
        "kind": "move",
        "sku": "WIDGET",
        "location": "Q-01",
        "quantity": 3,
        "to_location": "A-01",
    }
    assert (await post_movement(client, worker, "release", move))[0] == 201
    status, stock = await get_json(client, "/api/v1/stock/WIDGET", worker)
    assert (stock["on_hand"], stock["available"], stock["quarantined"]) == (11, 11, 0)
    status, kinds = await get_json(client, "/api/v1/movements?kind=scrap", manager)
    assert [(m["kind"], m["reason"]) for m in kinds["items"]] == [("scrap", "lost")]
