"""Capacity through the API: limits on locations, refused receipts and moves, batches,
and the space report (JSON and CSV)."""

from __future__ import annotations

from typing import Any

from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.token import Role
from stock_core.errors import CapacityExceededError
from stock_core.service import StockService
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from tests.functional.api.conftest import post_movement


async def _call(client: Client, method: str, url: str, token: str, body: Any = None) -> Any:
    response = await client.request(method, url, json=body, headers=bearer(token))
    if response.content_type == "text/csv":
        return response.status, await response.text()
    return response.status, await response.json(content_type=None)


def _receive(sku: str, where: str, n: int) -> dict[str, Any]:
    return {"kind": "receive", "sku": sku, "location": where, "quantity": n}


async def test_receipts_and_moves_that_would_overfill_a_location_are_refused(
    client: Client, tokens: dict[Role, str], service: StockService
) -> None:
    manager, worker = tokens[Role.MANAGER], tokens[Role.WORKER]
    limits = {"code": "BIN-1", "zone": "S", "max_weight_g": 1000, "max_volume_cm3": 500}
    status, created = await _call(client, "POST", "/api/v1/locations", manager, limits)
    assert status == 201, created
    assert (created["max_weight_g"], created["max_volume_cm3"]) == (1000, 500)
    status, fetched = await _call(client, "GET", "/api/v1/locations/A-01", manager)
    assert (fetched["max_weight_g"], fetched["max_volume_cm3"]) == (None, None)

    # WIDGET: 120 g and 50 x 40 x 30 mm = 60 cm3 a unit.
    assert (await post_movement(client, worker, "w8", _receive("WIDGET", "BIN-1", 8)))[0] == 201
    status, problem = await post_movement(client, worker, "w1", _receive("WIDGET", "BIN-1", 1))
    assert (status, problem["type"]) == (409, "/problems/capacity-exceeded")
    assert problem["detail"] == (
        "BIN-1 is full: weight 1080 g > max 1000 g; volume 540 cm3 > max 500 cm3"
    )
    assert (problem["location"], problem["weight_g"], problem["max_weight_g"]) == (
        "BIN-1",
        1080,
        1000,
    )
    again = await post_movement(client, worker, "w1", _receive("WIDGET", "BIN-1", 1))
    assert again == (status, problem)  # a replay answers the first result

    # SPROCKET weighs 15 g and has no dimensions: it takes no volume.
    assert (await post_movement(client, worker, "s2", _receive("SPROCKET", "BIN-1", 2)))[0] == 201
    status, problem = await post_movement(client, worker, "s1", _receive("SPROCKET", "BIN-1", 1))
    assert status == 409
    assert problem["detail"] == "BIN-1 is full: weight 1005 g > max 1000 g"

    assert (await post_movement(client, worker, "a5", _receive("SPROCKET", "A-01", 5)))[0] == 201
    move = {
        "kind": "move",
        "sku": "SPROCKET",
        "location": "A-01",
        "quantity": 1,
        "to_location": "BIN-1",
    }
    status, problem = await post_movement(client, worker, "m1", move)
    assert (status, problem["type"]) == (409, "/problems/capacity-exceeded")
    pick = {"kind": "pick", "sku": "SPROCKET", "location": "BIN-1", "quantity": 2}
    assert (await post_movement(client, worker, "p2", pick))[0] == 201
    status, moved = await post_movement(client, worker, "m2", move)
    assert status == 201, moved
    level = await service.stock_of("SPROCKET")
    assert {x.location: x.on_hand for x in level.locations} == {"A-01": 4, "BIN-1": 1}

    # Set-based: a batch of plain scans is decided in order against the same limits.
    def env(key: str, command: Receive | Pick) -> Envelope:
        return Envelope(IdempotencyKey(key), command)

    sprocket, widget, bin1 = (
        ProductRef(sku=Sku("SPROCKET")),
        ProductRef(sku=Sku("WIDGET")),
        LocationCode("BIN-1"),
    )
    outcomes = await service.post_batch(
        [
            env("b1", Receive(sprocket, bin1, 1)),  # 960 + 15 + 15 = 990
            env("b2", Receive(sprocket, bin1, 1)),  # 1005: refused
            env("b3", Pick(widget, bin1, 1)),  # 870
            env("b4", Receive(sprocket, bin1, 1)),  # 885
        ]
    )
    assert [isinstance(o, CapacityExceededError) for o in outcomes] == [False, True, False, False]
    assert (await service.verify()).ok

    status, space = await _call(client, "GET", "/api/v1/reports/space", manager)
    assert status == 200
    by_zone = {item["zone"]: item for item in space["items"]}
    assert by_zone["S"] == {
        "zone": "S",
        "weight_g": 885.0,
        "max_weight_g": 1000.0,
        "volume_cm3": 420.0,
        "max_volume_cm3": 500.0,
    }
    assert (by_zone["A"]["weight_g"], by_zone["A"]["max_weight_g"]) == (60.0, None)
    status, text = await _call(
        client, "GET", "/api/v1/reports/space?warehouse=MAIN&format=csv", manager
    )
    assert status == 200
    lines = text.splitlines()
    assert lines[0] == "zone,weight_g,max_weight_g,volume_cm3,max_volume_cm3"
    assert "S,885.0,1000.0,420.0,500.0" in lines
    status, space = await _call(client, "GET", "/api/v1/reports/space?warehouse=NONE", manager)
    assert (status, space["items"]) == (200, [])
    status, _ = await _call(client, "GET", "/api/v1/reports/space?warehouse=bad!", manager)
    assert status == 422
    status, _ = await _call(client, "GET", "/api/v1/reports/space", worker)
    assert status == 403


async def test_a_negative_limit_is_refused(client: Client, tokens: dict[Role, str]) -> None:
    body = {"code": "BIN-2", "max_weight_g": -1}
    status, problem = await _call(client, "POST", "/api/v1/locations", tokens[Role.MANAGER], body)
    assert (status, problem["type"]) == (422, "/problems/validation-error")


async def test_limits_are_changed_and_removed_with_patch(
    client: Client, tokens: dict[Role, str]
) -> None:
    manager, worker = tokens[Role.MANAGER], tokens[Role.WORKER]
    body = {"code": "BIN-3", "max_weight_g": 100, "max_volume_cm3": 50}
    assert (await _call(client, "POST", "/api/v1/locations", manager, body))[0] == 201
    status, problem = await post_movement(client, worker, "g1", _receive("SPROCKET", "BIN-3", 7))
    assert (status, problem["type"]) == (409, "/problems/capacity-exceeded")
    status, changed = await _call(
        client, "PATCH", "/api/v1/locations/BIN-3", manager, {"max_weight_g": 105}
    )
    assert status == 200, changed
    assert (changed["max_weight_g"], changed["max_volume_cm3"]) == (105, 50)
    assert (await post_movement(client, worker, "g2", _receive("SPROCKET", "BIN-3", 7)))[0] == 201
    status, changed = await _call(
        client, "PATCH", "/api/v1/locations/BIN-3", manager, {"max_weight_g": None}
    )
    assert (changed["max_weight_g"], changed["max_volume_cm3"]) == (None, 50)
    assert (await post_movement(client, worker, "g3", _receive("SPROCKET", "BIN-3", 70)))[0] == 201
    status, problem = await _call(
        client, "PATCH", "/api/v1/locations/NOPE", manager, {"max_weight_g": 1}
    )
    assert (status, problem["type"]) == (404, "/problems/unknown-location")
    status, _ = await _call(client, "PATCH", "/api/v1/locations/BIN-3", worker, {})
    assert status == 403
    status, _ = await _call(
        client, "PATCH", "/api/v1/locations/BIN-3", manager, {"max_volume_cm3": -1}
    )
    assert status == 422
