"""Expired stock through the API: counted apart in GET /api/v1/stock, the ``expired``
alert, and GET /api/v1/reports/expiry in JSON and CSV (issue 12.12)."""

from __future__ import annotations

import csv
import io
from datetime import date
from datetime import timedelta
from typing import Any

from stock_core.domain.token import Role
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from tests.functional.api.conftest import post_movement


async def _get(client: Client, url: str, token: str) -> tuple[int, Any]:
    response = await client.get(url, headers=bearer(token))
    return response.status, await response.json(content_type=None)


async def _receive(client: Client, token: str, key: str, lot: str, n: int, expiry: date) -> None:
    body = {
        "kind": "receive",
        "sku": "WIDGET",
        "location": "A-01",
        "quantity": n,
        "lot": lot,
        "expiry": expiry.isoformat(),
    }
    status, answer = await post_movement(client, token, key, body)
    assert status == 201, answer


async def test_stock_alerts_and_the_expiry_report_count_expired_stock_apart(
    client: Client, tokens: dict[Role, str]
) -> None:
    worker, manager = tokens[Role.WORKER], tokens[Role.MANAGER]
    status, report = await _get(client, "/api/v1/reports/expiry?days=0", manager)
    assert status == 200, report
    today = date.fromisoformat(report["today"])
    await _receive(client, worker, "new", "NEW", 30, today + timedelta(days=400))
    await _receive(client, worker, "soon", "SOON", 6, today + timedelta(days=5))
    await _receive(client, worker, "last", "LAST", 2, today)  # good through today
    await _receive(client, worker, "old", "OLD", 4, today - timedelta(days=1))

    status, stock = await _get(client, "/api/v1/stock/WIDGET", worker)
    assert status == 200, stock
    assert (stock["on_hand"], stock["reserved"], stock["available"], stock["expired"]) == (
        42,
        0,
        38,
        4,
    )
    rows = {r["lot"]: r for r in stock["locations"]}
    assert (rows["OLD"]["available"], rows["OLD"]["expired"]) == (0, 4)
    assert rows["OLD"]["expiry"] == (today - timedelta(days=1)).isoformat()
    assert (rows["LAST"]["available"], rows["LAST"]["expired"]) == (2, 0)
    status, page = await _get(client, "/api/v1/stock?sku=WIDGET", worker)
    assert [(i["available"], i["expired"]) for i in page["items"]] == [(38, 4)]

    status, alerts = await _get(client, "/api/v1/alerts?kind=expired", manager)
    assert status == 200, alerts
    assert [(a["sku"], a["kind"], a["available"]) for a in alerts["items"]] == [
        ("WIDGET", "expired", 38)
    ]

    status, report = await _get(client, "/api/v1/reports/expiry?days=7", manager)
    assert status == 200, report
    assert [(i["lot"], i["status"], i["days_left"]) for i in report["items"]] == [
        ("OLD", "expired", -1),
        ("LAST", "expiring", 0),
        ("SOON", "expiring", 5),
    ]
    assert report["expired"]["on_hand"] == 4
    assert report["expiring"]["on_hand"] == 8
    response = await client.get("/api/v1/reports/expiry?days=7&format=csv", headers=bearer(manager))
    assert response.status == 200
    assert response.content_type == "text/csv"
    lines = list(csv.DictReader(io.StringIO(await response.text(), newline="")))
    assert [(r["sku"], r["lot"], r["status"], r["on_hand"]) for r in lines] == [
        ("WIDGET", "OLD", "expired", "4"),
        ("WIDGET", "LAST", "expiring", "2"),
        ("WIDGET", "SOON", "expiring", "6"),
    ]

    # written off: the alert clears and the figures agree
    body = {"kind": "adjust", "sku": "WIDGET", "location": "A-01", "quantity": -4, "lot": "OLD"}
    status, answer = await post_movement(client, manager, "write-off", body)
    assert status == 201, answer
    status, alerts = await _get(client, "/api/v1/alerts?kind=expired", manager)
    assert alerts["items"] == []
    status, stock = await _get(client, "/api/v1/stock/WIDGET", worker)
    assert (stock["on_hand"], stock["available"], stock["expired"]) == (38, 38, 0)


async def test_the_expiry_report_refuses_bad_days_and_other_roles(
    client: Client, tokens: dict[Role, str]
) -> None:
    manager = tokens[Role.MANAGER]
    for days in ("-1", "3651", "abc", "1.5"):
        response = await client.get(f"/api/v1/reports/expiry?days={days}", headers=bearer(manager))
        assert response.status == 422, days
        assert response.content_type == "application/problem+json"
    status, _ = await _get(client, "/api/v1/reports/expiry", tokens[Role.WORKER])
    assert status == 403
    status, body = await _get(client, "/api/v1/reports/expiry", manager)
    assert (status, body["days"]) == (200, 30)
