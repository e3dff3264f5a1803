"""Products, locations, alerts, spool exceptions, tokens and scanners through the API."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.token import Role
from stock_core.errors import InsufficientStockError
from stock_core.model import ScannerState
from stock_core.service import StockService
from stock_core.store.database import Database
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from tests.functional.api.conftest import post_movement
from tests.functional.web_app import stop_relays
from tests.gateway_harness import scanner_state
from web_ui.app import create_app
from web_ui.config import WebConfig


async def _json(client: Client, method: str, url: str, token: str, **kw: Any) -> tuple[int, Any]:
    response = await client.request(method, url, headers=bearer(token), **kw)
    return response.status, await response.json(content_type=None)


async def test_products_are_created_read_and_changed(
    client: Client, tokens: dict[Role, str]
) -> None:
    token = tokens[Role.MANAGER]
    body = {
        "sku": "CRATE",
        "name": "Crate",
        "unit_cost": "12.5",
        "weight_g": 900,
        "reorder_point": 4,
        "barcodes": [{"code": "4006381333948"}, {"code": "14006381333945", "pack_size": 6}],
    }
    status, created = await _json(client, "POST", "/api/v1/products", token, json=body)
    assert status == 201
    assert created["barcodes"] == [
        {"code": "04006381333948", "pack_size": 1},
        {"code": "14006381333945", "pack_size": 6},
    ]
    assert (created["unit_cost"], created["weight_g"], created["height_mm"]) == (12.5, 900, None)
    status, problem = await _json(client, "POST", "/api/v1/products", token, json=body)
    assert (status, problem["type"]) == (409, "/problems/conflict")
    taken = {"sku": "OTHER", "name": "Other", "barcodes": [{"code": "05012345678900"}]}
    status, problem = await _json(client, "POST", "/api/v1/products", token, json=taken)
    assert (status, problem["type"]) == (409, "/problems/conflict")
    assert "WIDGET" in problem["detail"]
    bad_gtin = {"sku": "OTHER", "name": "Other", "barcodes": [{"code": "4006381333949"}]}
    status, problem = await _json(client, "POST", "/api/v1/products", token, json=bad_gtin)
    assert (status, problem["type"]) == (422, "/problems/validation-error")

    change = {"reorder_point": 9, "height_mm": 120.5, "barcodes": []}
    status, changed = await _json(client, "PATCH", "/api/v1/products/CRATE", token, json=change)
    assert status == 200
    assert (changed["reorder_point"], changed["height_mm"], changed["barcodes"]) == (9, 120.5, [])
    assert (changed["name"], changed["weight_g"]) == ("Crate", 900)
    status, problem = await _json(
        client, "PATCH", "/api/v1/products/CRATE", token, json={"name": None}
    )
    assert status == 422
    status, _ = await _json(client, "PATCH", "/api/v1/products/NOPE", token, json={"name": "n"})
    assert status == 404
    status, fetched = await _json(client, "GET", "/api/v1/products/CRATE", token)
    assert fetched == changed


async def test_locations_are_created_and_conflicts_refused(
    client: Client, tokens: dict[Role, str]
) -> None:
    token = tokens[Role.MANAGER]
    body = {"code": "C-01", "zone": "C", "name": "Aisle C", "gln": "4012345000016"}
    status, created = await _json(client, "POST", "/api/v1/locations", token, json=body)
    assert (status, created["code"], created["gln"]) == (201, "C-01", "4012345000016")
    status, _ = await _json(client, "POST", "/api/v1/locations", token, json=body)
    assert status == 409
    status, _ = await _json(
        client, "POST", "/api/v1/locations", token, json={"code": "C-02", "gln": "4012345000009"}
    )
    assert status == 409  # B-01 has that GLN
    status, _ = await _json(
        client, "POST", "/api/v1/locations", token, json={"code": "C-03", "gln": "4012345000017"}
    )
    assert status == 422  # bad check digit
    status, page = await _json(client, "GET", "/api/v1/locations?zone=C", token)
    assert [loc["code"] for loc in page["items"]] == ["C-01"]
    status, one = await _json(client, "GET", "/api/v1/locations/C-01", token)
    assert one == created


async def test_alerts_are_listed_and_acknowledged_once_by_a_manager(
    client: Client, tokens: dict[Role, str]
) -> None:
    worker = tokens[Role.WORKER]
    receive = {"kind": "receive", "sku": "WIDGET", "location": "A-01", "quantity": 12}
    assert (await post_movement(client, worker, "a", receive))[0] == 201
    pick = {"kind": "pick", "sku": "WIDGET", "location": "A-01", "quantity": 5}
    assert (await post_movement(client, worker, "b", pick))[0] == 201
    status, page = await _json(client, "GET", "/api/v1/alerts", tokens[Role.DISPLAY])
    assert status == 200
    (alert,) = page["items"]
    assert (alert["kind"], alert["sku"], alert["available"], alert["threshold"]) == (
        "low_stock",
        "WIDGET",
        7,
        10,
    )
    assert alert["acknowledged_at"] is None
    url = f"/api/v1/alerts/{alert['id']}/acknowledge"
    status, acked = await _json(client, "POST", url, tokens[Role.MANAGER])
    assert (status, acked["acknowledged_by"]) == (200, "api:test-manager")
    status, again = await _json(client, "POST", url, tokens[Role.ADMIN])
    assert again == acked
    status, _ = await _json(client, "POST", "/api/v1/alerts/999/acknowledge", tokens[Role.MANAGER])
    assert status == 404


async def test_spool_exceptions_are_listed_and_resolved(
    client: Client, tokens: dict[Role, str], service: StockService
) -> None:
    envelope = Envelope(
        IdempotencyKey("dock-1:42"),
        Pick(ProductRef(sku=Sku("WIDGET")), LocationCode("A-01"), 3),
        scanner=None,
    )
    await service.record_spool_exceptions(
        [(envelope, InsufficientStockError("WIDGET", "A-01", 3, 0), datetime.now(UTC))]
    )
    token = tokens[Role.MANAGER]
    status, page = await _json(client, "GET", "/api/v1/spool-exceptions", token)
    (item,) = page["items"]
    assert (item["key"], item["problem_type"], item["resolved"]) == (
        "dock-1:42",
        "insufficient-stock",
        False,
    )
    url = f"/api/v1/spool-exceptions/{item['id']}/resolve"
    status, resolved = await _json(client, "POST", url, token, json={"resolution": "recounted"})
    assert (status, resolved["resolved"], resolved["resolution"]) == (200, True, "recounted")
    status, page = await _json(client, "GET", "/api/v1/spool-exceptions", token)
    assert page["items"] == []
    status, page = await _json(client, "GET", "/api/v1/spool-exceptions?state=all", token)
    assert [i["id"] for i in page["items"]] == [item["id"]]


async def test_tokens_are_shown_once_and_revocation_is_immediate(
    client: Client, tokens: dict[Role, str]
) -> None:
    admin = tokens[Role.ADMIN]
    status, created = await _json(
        client, "POST", "/api/v1/tokens", admin, json={"name": "bi-tool", "role": "manager"}
    )
    assert (status, created["role"]) == (201, "manager")
    secret = created["token"]
    assert (await client.get("/api/v1/movements", headers=bearer(secret))).status == 200
    status, page = await _json(client, "GET", "/api/v1/tokens", admin)
    assert all("token" not in item for item in page["items"])
    assert "bi-tool" in [item["name"] for item in page["items"]]
    status, revoked = await _json(client, "DELETE", f"/api/v1/tokens/{created['id']}", admin)
    assert status == 200
    assert revoked["revoked_at"] is not None
    assert (await client.get("/api/v1/movements", headers=bearer(secret))).status == 401


async def test_scanners_merge_stored_and_live_states(
    database: Database, service: StockService, tokens: dict[Role, str], aiohttp_client: Any
) -> None:
    def state(scanner: str, value: str) -> ScannerState:
        url = f"socket://10.0.0.1:{len(scanner)}"
        return scanner_state(scanner, value, url=url, counters={"frames": 3, "garbled": 1})

    await service.save_scanner_states(
        [state("aisle-7", "reconnecting"), state("dock-1", "stopped")]
    )
    config = WebConfig(database=database, live_scanners=lambda: [state("dock-1", "connected")])
    client: Client = await aiohttp_client(create_app(config))
    try:
        status, page = await _json(client, "GET", "/api/v1/scanners", tokens[Role.DISPLAY])
        assert status == 200
        assert [(s["id"], s["state"], s["live"]) for s in page["items"]] == [
            ("aisle-7", "reconnecting", False),
            ("dock-1", "connected", True),
        ]
        assert page["items"][0]["counters"] == {"frames": 3, "garbled": 1}
        metrics = await (await client.get("/metrics")).text()
        assert 'stockd_scanner_state{scanner="dock-1",state="connected"} 1.0' in metrics
        assert 'stockd_scanner_events{counter="garbled",scanner="aisle-7"} 1.0' in metrics
    finally:
        await stop_relays()
