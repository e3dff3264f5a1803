"""``GET /api/v1/availability``: answers that match stock, reservations, the backorder
queue and purchase-order dates; the shop role; ETag and If-None-Match; limits."""

from __future__ import annotations

import asyncio
from typing import Any

from stock_core.domain.token import Role
from stock_core.service import StockService
from stock_core.store.connection import Pool
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from tests.functional.api.conftest import post_movement
from tests.functional.api.conftest import snapshot
from tests.functional.api.test_orders_api import call


async def _availability(client: Client, token: str, *skus: str) -> dict[str, Any]:
    query = "&".join(f"sku={s}" for s in skus)
    status, body = await call(client, "GET", f"/api/v1/availability?{query}", token)
    assert status == 200, body
    return {item["sku"]: item for item in body["items"]} | {"unknown": body["unknown"]}


async def _receive(client: Client, worker: str, key: str, sku: str, quantity: int) -> None:
    body = {"kind": "receive", "sku": sku, "location": "A-01", "quantity": quantity}
    status, _ = await post_movement(client, worker, key, body)
    assert status == 201


async def test_availability_follows_stock_reservations_queue_and_po_dates(
    client: Client, tokens: dict[Role, str]
) -> None:
    shop, manager, worker = tokens[Role.SHOP], tokens[Role.MANAGER], tokens[Role.WORKER]
    # WIDGET: reorder point 10. 30 on hand: in stock.
    await _receive(client, worker, "r1", "WIDGET", 30)
    # GADGET: reorder point 5. 4 on hand: low.
    await _receive(client, worker, "r2", "GADGET", 4)
    found = await _availability(client, shop, "WIDGET", "GADGET", "SPROCKET", "NOPE")
    assert found["WIDGET"] == {
        "sku": "WIDGET",
        "status": "in_stock",
        "available": 30,
        "expected_date": None,
        "backorder_allowed": True,
    }
    assert (found["GADGET"]["status"], found["GADGET"]["available"]) == ("low", 4)
    assert (found["SPROCKET"]["status"], found["SPROCKET"]["expected_date"]) == ("backorder", None)
    assert found["unknown"] == ["NOPE"]

    # A reservation of 22 leaves 8 available: at or below the reorder point, low.
    order = {"number": "SO-1", "lines": [{"sku": "WIDGET", "quantity": 22}]}
    assert (await call(client, "POST", "/api/v1/orders", manager, order))[0] == 201
    found = await _availability(client, shop, "WIDGET")
    assert (found["WIDGET"]["status"], found["WIDGET"]["available"]) == ("low", 8)

    # SPROCKET: two purchase orders, 5 due 1 March and 10 due 1 April; 4 units waiting.
    for number, when, qty in (("PO-1", "2031-03-01", 5), ("PO-2", "2031-04-01", 10)):
        po = {
            "number": number,
            "expected_date": when,
            "lines": [{"sku": "SPROCKET", "quantity": qty}],
        }
        assert (await call(client, "POST", "/api/v1/purchase-orders", manager, po))[0] == 201
    order = {"number": "SO-2", "lines": [{"sku": "SPROCKET", "quantity": 4}]}
    assert (await call(client, "POST", "/api/v1/orders", manager, order))[0] == 201
    found = await _availability(client, shop, "SPROCKET")
    # the next order waits behind 4 units: the 5th unit comes with PO-1
    assert found["SPROCKET"]["status"] == "backorder"
    assert found["SPROCKET"]["expected_date"] == "2031-03-01"
    # 1 more waiting: the next order's unit is the 6th, which only PO-2 brings
    order = {"number": "SO-3", "lines": [{"sku": "SPROCKET", "quantity": 1}]}
    assert (await call(client, "POST", "/api/v1/orders", manager, order))[0] == 201
    found = await _availability(client, shop, "SPROCKET")
    assert found["SPROCKET"]["expected_date"] == "2031-04-01"
    status, queue = await call(client, "GET", "/api/v1/backorders?sku=SPROCKET", manager)
    assert [b["expected_date"] for b in queue["items"]] == ["2031-03-01", "2031-03-01"]

    # PO-2 is rescheduled: the date moves with it.
    status, po = await call(
        client, "PATCH", "/api/v1/purchase-orders/PO-2", manager, {"expected_date": "2031-02-10"}
    )
    assert (status, po["expected_date"]) == (200, "2031-02-10")
    found = await _availability(client, shop, "SPROCKET")
    # PO-2 now comes first with 10 units: it covers the queue and the next order
    assert found["SPROCKET"]["expected_date"] == "2031-02-10"
    status, queue = await call(client, "GET", "/api/v1/backorders?sku=SPROCKET", manager)
    assert [b["expected_date"] for b in queue["items"]] == ["2031-02-10", "2031-02-10"]

    # The receipt fills the queue; 5 left over are available again.
    receipt = {"location": "A-01", "lines": [{"sku": "SPROCKET", "quantity": 10}]}
    status, _ = await call(
        client, "POST", "/api/v1/purchase-orders/PO-2/receipts", worker, receipt, key="rc-1"
    )
    assert status == 201
    found = await _availability(client, shop, "SPROCKET")
    assert found["SPROCKET"] == {
        "sku": "SPROCKET",
        "status": "in_stock",
        "available": 5,
        "expected_date": None,
        "backorder_allowed": True,
    }


async def test_a_product_refusing_backorders_is_out_of_stock_and_orders_are_refused(
    client: Client, tokens: dict[Role, str], pool: Pool
) -> None:
    manager, shop, worker = tokens[Role.MANAGER], tokens[Role.SHOP], tokens[Role.WORKER]
    status, product = await call(
        client, "PATCH", "/api/v1/products/BOLT", manager, {"backorder_allowed": False}
    )
    assert (status, product["backorder_allowed"]) == (200, False)
    po = {
        "number": "PO-9",
        "expected_date": "2031-05-05",
        "lines": [{"sku": "BOLT", "quantity": 50}],
    }
    assert (await call(client, "POST", "/api/v1/purchase-orders", manager, po))[0] == 201
    found = await _availability(client, shop, "BOLT")
    assert found["BOLT"] == {
        "sku": "BOLT",
        "status": "out_of_stock",
        "available": 0,
        "expected_date": "2031-05-05",
        "backorder_allowed": False,
    }
    await _receive(client, worker, "b1", "BOLT", 3)
    before = await snapshot(pool)
    order = {"number": "SO-9", "lines": [{"sku": "BOLT", "quantity": 5}]}
    status, problem = await call(client, "POST", "/api/v1/orders", manager, order)
    assert (status, problem["type"]) == (409, "/problems/backorder-not-allowed")
    assert (problem["sku"], problem["quantity"], problem["available"]) == ("BOLT", 5, 3)
    assert await snapshot(pool) == before
    order["lines"] = [{"sku": "BOLT", "quantity": 3}]
    status, made = await call(client, "POST", "/api/v1/orders", manager, order)
    assert (status, made["lines"][0]["reserved"]) == (201, 3)


async def test_etag_answers_304_until_something_changes(
    client: Client, tokens: dict[Role, str]
) -> None:
    shop = tokens[Role.SHOP]
    url = "/api/v1/availability?sku=WIDGET&sku=NUT"
    first = await client.get(url, headers=bearer(shop))
    assert first.status == 200
    etag = first.headers["ETag"]
    again = await client.get(url, headers={**bearer(shop), "If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    assert again.headers["ETag"] == etag
    weak = await client.get(url, headers={**bearer(shop), "If-None-Match": f'"x", W/{etag}'})
    assert weak.status == 304
    await _receive(client, tokens[Role.WORKER], "e1", "NUT", 1)
    changed = await client.get(url, headers={**bearer(shop), "If-None-Match": etag})
    assert changed.status == 200
    assert changed.headers["ETag"] != etag


async def test_shop_role_reads_availability_and_nothing_else(
    client: Client, tokens: dict[Role, str]
) -> None:
    shop = tokens[Role.SHOP]
    for path in ("/api/v1/stock/WIDGET", "/api/v1/products", "/api/v1/backorders"):
        status, problem = await call(client, "GET", path, shop)
        assert (status, problem["type"]) == (403, "/problems/forbidden")
    for role in Role:
        status, _ = await call(client, "GET", "/api/v1/availability?sku=WIDGET", tokens[role])
        assert status == 200, role


async def test_more_than_a_thousand_skus_is_a_400_and_none_is_a_422(
    client: Client, tokens: dict[Role, str]
) -> None:
    shop = tokens[Role.SHOP]
    query = "&".join(f"sku=S{n}" for n in range(1001))
    status, problem = await call(client, "GET", f"/api/v1/availability?{query}", shop)
    assert (status, problem["type"]) == (400, "/problems/bad-request")
    assert "1000" in problem["detail"]
    query = "&".join(f"sku=S{n}" for n in range(1000))
    status, body = await call(client, "GET", f"/api/v1/availability?{query}", shop)
    assert (status, len(body["unknown"])) == (200, 1000)
    status, problem = await call(client, "GET", "/api/v1/availability", shop)
    assert (status, problem["type"]) == (422, "/problems/validation-error")
    status, problem = await call(client, "GET", "/api/v1/availability?sku=", shop)
    assert (status, problem["type"]) == (422, "/problems/validation-error")


async def test_a_malformed_if_none_match_is_a_400(client: Client, tokens: dict[Role, str]) -> None:
    headers = {**bearer(tokens[Role.SHOP]), "If-None-Match": "not-an-etag"}
    response = await client.get("/api/v1/availability?sku=WIDGET", headers=headers)
    assert response.status == 400
    star = {**bearer(tokens[Role.SHOP]), "If-None-Match": "*"}
    assert (await client.get("/api/v1/availability?sku=WIDGET", headers=star)).status == 304


async def test_rescheduling_a_purchase_order_tells_each_waiting_line_its_new_date(
    client: Client, tokens: dict[Role, str], service: StockService
) -> None:
    manager = tokens[Role.MANAGER]
    for n in (1, 2):
        order = {
            "number": f"SO-E{n}",
            "lines": [{"sku": "SPROCKET", "quantity": 2}],
            "customer_email": f"c{n}@example.com",
        }
        assert (await call(client, "POST", "/api/v1/orders", manager, order))[0] == 201
    po = {
        "number": "PO-E",
        "expected_date": "2031-06-01",
        "lines": [{"sku": "SPROCKET", "quantity": 4}],
    }
    assert (await call(client, "POST", "/api/v1/purchase-orders", manager, po))[0] == 201
    created = await _sequenced(service, 0, "purchase_order.created")
    before = [e for e in created if e["type"] == "backorder.eta_changed"]
    assert [(e["order"], e["expected_date"], e["previous_expected_date"]) for e in before] == [
        ("SO-E1", "2031-06-01", None),
        ("SO-E2", "2031-06-01", None),
    ]
    start = created[-1]["seq"]
    status, _ = await call(
        client, "PATCH", "/api/v1/purchase-orders/PO-E", manager, {"expected_date": "2031-05-20"}
    )
    assert status == 200
    events = await _sequenced(service, start, "purchase_order.rescheduled")
    moved = [e for e in events if e["type"] == "backorder.eta_changed"]
    assert [
        (e["order"], e["position"], e["expected_date"], e["previous_expected_date"]) for e in moved
    ] == [
        ("SO-E1", 1, "2031-05-20", "2031-06-01"),
        ("SO-E2", 2, "2031-05-20", "2031-06-01"),
    ]
    assert [e["customer_email"] for e in moved] == ["c1@example.com", "c2@example.com"]
    assert [e["type"] for e in events if e["type"].startswith("purchase_order")] == [
        "purchase_order.rescheduled"
    ]
    # The same date again moves nothing; a closed purchase order cannot move.
    status, _ = await call(
        client, "PATCH", "/api/v1/purchase-orders/PO-E", manager, {"expected_date": "2031-05-20"}
    )
    assert status == 200
    await asyncio.sleep(0.5)
    assert await service.events_after(events[-1]["seq"], 100) == []
    assert (await call(client, "POST", "/api/v1/purchase-orders/PO-E/cancel", manager))[0] == 200
    status, problem = await call(
        client, "PATCH", "/api/v1/purchase-orders/PO-E", manager, {"expected_date": "2031-05-21"}
    )
    assert (status, problem["type"]) == (409, "/problems/conflict")


async def _sequenced(service: StockService, after: int, last: str) -> list[dict[str, Any]]:
    """The feed after ``after`` once an event of type ``last`` is in it (the relay
    numbers events a moment after they commit)."""
    for _ in range(100):
        events = [e.to_wire() for e in await service.events_after(after, 1000)]
        if any(e["type"] == last for e in events):
            return events
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {last} in the feed")
