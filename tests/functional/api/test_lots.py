"""Receipts through the API record a lot and its expiry, as a GS1 scan does (issue 12.7)."""

from __future__ import annotations

from typing import Any

from stock_core.domain.token import Role
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer


async def _call(
    client: Client, method: str, url: str, token: str, body: Any = None, key: str | None = None
) -> tuple[int, Any]:
    headers = bearer(token)
    if key is not None:
        headers["Idempotency-Key"] = key
    response = await client.request(method, url, json=body, headers=headers)
    return response.status, await response.json(content_type=None)


def _lots(stock: dict[str, Any]) -> dict[str, tuple[str | None, int]]:
    return {row["lot"]: (row["expiry"], row["on_hand"]) for row in stock["locations"]}


async def test_a_receive_through_the_api_records_the_lots_expiry(
    client: Client, tokens: dict[Role, str]
) -> None:
    worker = tokens[Role.WORKER]
    body = {
        "kind": "receive",
        "sku": "WIDGET",
        "location": "A-01",
        "quantity": 5,
        "lot": "L-2031",
        "expiry": "2031-05-31",
    }
    status, posted = await _call(client, "POST", "/api/v1/movements", worker, body, "r1")
    assert status == 201, posted
    assert (posted["lot"], posted["delta"]) == ("L-2031", 5)
    status, stock = await _call(client, "GET", "/api/v1/stock/WIDGET", worker)
    assert _lots(stock) == {"L-2031": ("2031-05-31", 5)}
    # a replay is the first answer and changes nothing
    status, again = await _call(client, "POST", "/api/v1/movements", worker, body, "r1")
    assert (status, again["id"]) == (201, posted["id"])


async def test_a_purchase_order_receipt_records_each_lines_lot_and_expiry(
    client: Client, tokens: dict[Role, str]
) -> None:
    manager, worker = tokens[Role.MANAGER], tokens[Role.WORKER]
    status, _ = await _call(
        client,
        "POST",
        "/api/v1/purchase-orders",
        manager,
        {
            "number": "PO-L",
            "expected_date": "2030-01-01",
            "lines": [{"sku": "WIDGET", "quantity": 10}],
        },
    )
    assert status == 201
    receipt = {
        "location": "A-01",
        "lines": [
            {"sku": "WIDGET", "quantity": 6, "lot": "LATE", "expiry": "2031-02-28"},
            {"sku": "WIDGET", "quantity": 4, "lot": "SOON", "expiry": "2031-01-31"},
        ],
    }
    status, posted = await _call(
        client, "POST", "/api/v1/purchase-orders/PO-L/receipts", worker, receipt, "po-l"
    )
    assert status == 201, posted
    assert [(m["lot"], m["delta"]) for m in posted["movements"]] == [("LATE", 6), ("SOON", 4)]
    status, po = await _call(client, "GET", "/api/v1/purchase-orders/PO-L", manager)
    assert (po["status"], po["lines"][0]["received"]) == ("received", 10)
    status, stock = await _call(client, "GET", "/api/v1/stock/WIDGET", worker)
    assert _lots(stock) == {"LATE": ("2031-02-28", 6), "SOON": ("2031-01-31", 4)}

    # the expiry decides what is picked first: SOON, then LATE
    pick = {"kind": "pick", "sku": "WIDGET", "location": "A-01", "quantity": 5}
    status, picked = await _call(client, "POST", "/api/v1/movements", worker, pick, "p1")
    assert status == 201, picked
    assert [(m["lot"], m["delta"]) for m in picked["movements"]] == [("SOON", -4), ("LATE", -1)]


async def test_the_document_offers_lot_and_expiry_on_receives_and_receipts(
    client: Client,
) -> None:
    schemas = (await (await client.get("/api/v1/openapi.json")).json())["components"]["schemas"]
    assert {"lot", "expiry"} <= set(schemas["ReceiveIn"]["properties"])
    receipt = schemas["ReceiptIn"]["properties"]["lines"]["items"]["$ref"].rsplit("/", 1)[-1]
    assert {"sku", "quantity", "lot", "expiry"} <= set(schemas[receipt]["properties"])
    assert "expiry" not in schemas["PickIn"]["properties"]
