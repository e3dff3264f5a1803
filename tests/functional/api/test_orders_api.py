"""Orders, backorders, purchase orders, forecasts, replenishment and reports over HTTP."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

from stock_core.domain.token import Role
from stock_core.service import StockService
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from tests.functional.api.conftest import post_movement


async def call(
    client: Client,
    method: str,
    path: str,
    token: str,
    body: dict[str, Any] | None = None,
    key: str | None = None,
) -> tuple[int, Any]:
    headers = bearer(token)
    if key is not None:
        headers["Idempotency-Key"] = key
    response = await client.request(method, path, json=body, headers=headers)
    if response.content_type == "text/csv":
        return response.status, await response.text()
    return response.status, await response.json(content_type=None)


async def test_order_reserves_backorders_and_is_read_back_in_the_pinned_shape(
    client: Client, tokens: dict[Role, str]
) -> None:
    manager = tokens[Role.MANAGER]
    await post_movement(
        client,
        tokens[Role.WORKER],
        "r1",
        {"kind": "receive", "sku": "WIDGET", "location": "A-01", "quantity": 4},
    )
    body = {"number": "SO-100", "lines": [{"sku": "WIDGET", "quantity": 6}], "priority": 1}
    status, order = await call(client, "POST", "/api/v1/orders", manager, body)
    assert status == 201
    assert order["lines"] == [
        {"sku": "WIDGET", "quantity": 6, "reserved": 4, "backordered": 2, "picked": 0}
    ]
    status, again = await call(client, "POST", "/api/v1/orders", manager, body)
    assert (status, again["number"]) == (200, "SO-100")
    other = {**body, "lines": [{"sku": "WIDGET", "quantity": 7}]}
    status, problem = await call(client, "POST", "/api/v1/orders", manager, other)
    assert (status, problem["type"]) == (409, "/problems/conflict")
    status, read = await call(client, "GET", "/api/v1/orders/SO-100", manager)
    assert (status, read["lines"]) == (200, order["lines"])
    status, stock = await call(client, "GET", "/api/v1/stock/WIDGET", manager)
    assert (stock["reserved"], stock["available"], stock["backordered"]) == (4, 0, 2)


async def test_backorders_come_in_fill_order_with_expected_dates(
    client: Client, tokens: dict[Role, str]
) -> None:
    manager = tokens[Role.MANAGER]
    for n in (1, 2):
        await call(
            client,
            "POST",
            "/api/v1/orders",
            manager,
            {"number": f"SO-{n}", "lines": [{"sku": "GADGET", "quantity": 3}]},
        )
    po = {
        "number": "PO-9",
        "expected_date": "2031-03-01",
        "lines": [{"sku": "GADGET", "quantity": 4}],
    }
    status, created = await call(client, "POST", "/api/v1/purchase-orders", manager, po)
    assert (status, created["status"]) == (201, "open")
    status, page = await call(client, "GET", "/api/v1/backorders?sku=GADGET", manager)
    assert status == 200
    assert [
        (b["order"], b["sku"], b["quantity"], b["position"], b["expected_date"])
        for b in page["items"]
    ] == [("SO-1", "GADGET", 3, 1, "2031-03-01"), ("SO-2", "GADGET", 3, 2, None)]
    assert page["next_cursor"] is None
    receipt = {"location": "DOCK-1", "lines": [{"sku": "GADGET", "quantity": 4}]}
    path = "/api/v1/purchase-orders/PO-9/receipts"
    status, posted = await call(client, "POST", path, tokens[Role.WORKER], receipt, key="rc-1")
    assert status == 201
    assert [m["delta"] for m in posted["movements"]] == [4]
    status, replay = await call(client, "POST", path, tokens[Role.WORKER], receipt, key="rc-1")
    assert (status, replay) == (201, posted)
    status, po_now = await call(client, "GET", "/api/v1/purchase-orders/PO-9", manager)
    assert (po_now["status"], po_now["lines"][0]["received"]) == ("received", 4)
    status, page = await call(client, "GET", "/api/v1/backorders?sku=GADGET", manager)
    assert [(b["order"], b["quantity"]) for b in page["items"]] == [("SO-2", 2)]


async def test_picking_against_an_order_over_http_completes_it(
    client: Client, tokens: dict[Role, str]
) -> None:
    manager, worker = tokens[Role.MANAGER], tokens[Role.WORKER]
    await post_movement(
        client, worker, "r1", {"kind": "receive", "sku": "NUT", "location": "A-02", "quantity": 5}
    )
    await call(
        client,
        "POST",
        "/api/v1/orders",
        manager,
        {"number": "SO-7", "lines": [{"sku": "NUT", "quantity": 2}]},
    )
    pick: dict[str, Any] = {"location": "A-02", "lines": [{"sku": "NUT", "quantity": 3}]}
    status, problem = await call(
        client, "POST", "/api/v1/orders/SO-7/picks", worker, pick, key="p0"
    )
    assert (status, problem["type"]) == (409, "/problems/insufficient-stock")
    pick["lines"][0]["quantity"] = 2
    status, posted = await call(client, "POST", "/api/v1/orders/SO-7/picks", worker, pick, key="p1")
    assert (status, [m["delta"] for m in posted["movements"]]) == (201, [-2])
    status, order = await call(client, "GET", "/api/v1/orders/SO-7", manager)
    assert order["status"] == "complete"
    status, problem = await call(client, "POST", "/api/v1/orders/SO-7/cancel", manager)
    assert status == 409
    status, missing = await call(client, "GET", "/api/v1/orders/SO-404", manager)
    assert (status, missing["type"]) == (404, "/problems/not-found")


async def test_workers_cannot_create_orders_and_nothing_changes(
    client: Client, tokens: dict[Role, str]
) -> None:
    body = {"number": "SO-1", "lines": [{"sku": "WIDGET", "quantity": 1}]}
    status, _ = await call(client, "POST", "/api/v1/orders", tokens[Role.WORKER], body)
    assert status == 403
    status, page = await call(client, "GET", "/api/v1/orders", tokens[Role.MANAGER])
    assert page["items"] == []


async def test_forecast_replenishment_and_reports_answer_their_shapes(
    client: Client, tokens: dict[Role, str]
) -> None:
    manager = tokens[Role.MANAGER]
    status, forecast = await call(client, "GET", "/api/v1/forecasts/WIDGET?weeks=4", manager)
    assert status == 200
    assert forecast["sku"] == "WIDGET"
    assert len(forecast["weeks"]) == 4
    assert set(forecast["weeks"][0]) >= {"week_start", "demand"}
    assert forecast["method"]
    status, _ = await call(client, "GET", "/api/v1/forecasts/WIDGET?weeks=0", manager)
    assert status == 422
    status, page = await call(client, "GET", "/api/v1/replenishment?limit=2", manager)
    assert status == 200
    assert {"sku", "order_quantity", "order_by"} <= set(page["items"][0])
    assert page["next_cursor"] is not None
    status, more = await call(
        client, "GET", f"/api/v1/replenishment?limit=2&cursor={page['next_cursor']}", manager
    )
    assert status == 200, (more, page["next_cursor"])
    assert {i["sku"] for i in more["items"]}.isdisjoint({i["sku"] for i in page["items"]})
    for path in (
        "/api/v1/reports/turnover?from=2026-01-01&to=2026-12-31",
        "/api/v1/reports/deadstock?days=30",
        "/api/v1/reports/valuation",
        "/api/v1/backtest?holdout=4",
    ):
        status, body = await call(client, "GET", path, manager)
        assert status == 200, (path, body)
    status, csv_text = await call(client, "GET", "/api/v1/reports/valuation?format=csv", manager)
    assert status == 200
    assert csv_text.splitlines()[0].startswith("sku")
    status, _ = await call(
        client, "GET", "/api/v1/reports/turnover?from=2026-12-31&to=2026-01-01", manager
    )
    assert status == 422


async def test_forecast_with_history_adds_past_weeks_and_the_replenishment_suggestion(
    client: Client, tokens: dict[Role, str], service: StockService
) -> None:
    manager = tokens[Role.MANAGER]
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    weeks_back = [monday - timedelta(weeks=n) for n in range(10, 0, -1)]
    history = "".join(f"WIDGET,{d.isoformat()},{7 + i}\n" for i, d in enumerate(weeks_back))
    await service.import_history(f"sku,date,quantity\n{history}".encode())
    path = "/api/v1/forecasts/WIDGET?weeks=4&history=6"
    status, forecast = await call(client, "GET", path, manager)
    assert status == 200, forecast
    past = forecast["history"]
    assert [w["week_start"] for w in past] == [d.isoformat() for d in weeks_back[-6:]]
    assert [w["demand"] for w in past] == [11.0, 12.0, 13.0, 14.0, 15.0, 16.0]
    # the history ends where the forecast begins
    last = date.fromisoformat(past[-1]["week_start"])
    assert forecast["weeks"][0]["week_start"] == (last + timedelta(weeks=1)).isoformat()
    suggestion = forecast["replenishment"]
    assert suggestion["sku"] == "WIDGET"
    assert {"stockout_date", "arrival_date", "lead_time_days", "order_by"} <= set(suggestion)
    status, plain = await call(client, "GET", "/api/v1/forecasts/WIDGET?weeks=4", manager)
    assert status == 200
    assert "history" not in plain or plain["history"] is None
    for bad in ("history=-1", "history=521", "history=x"):
        status, problem = await call(client, "GET", f"/api/v1/forecasts/WIDGET?{bad}", manager)
        assert status == 422, (bad, problem)
