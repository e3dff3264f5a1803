"""The OpenAPI document covers every route and status; the reference page and metrics."""

from __future__ import annotations

import re

from stock_core.domain.token import Role
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from web_ui.api import all_routes


async def test_the_document_lists_every_registered_route(client: Client) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    documented = {
        (method.upper(), path) for path, methods in document["paths"].items() for method in methods
    }
    served = set()
    for resource in client.app.router.resources():
        path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", resource.canonical)
        if path.startswith(("/api/", "/problems", "/healthz", "/metrics")):
            served |= {(route.method, path) for route in resource if route.method != "HEAD"}
    assert served == documented


async def test_every_operation_documents_its_errors_as_problems(client: Client) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    for route in all_routes():
        path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", route.path)
        operation = document["paths"][path][route.method.lower()]
        statuses = set(operation["responses"])
        if route.role is not None:
            assert {"401", "403"} <= statuses, path
            assert operation["security"] == [{"bearer": []}]
            assert operation["x-role"] == route.role.value
        if route.body is not None:
            assert {"400", "413", "415", "422"} <= statuses
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert list(response["content"]) == ["application/problem+json"]
    post = document["paths"]["/api/v1/movements"]["post"]
    assert {"201", "404", "409"} <= set(post["responses"])
    assert post["parameters"][0]["name"] == "Idempotency-Key"
    assert post["parameters"][0]["required"] is True
    listing = document["paths"]["/api/v1/movements"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"sku", "location", "kind", "scanner", "from", "to", "cursor", "limit"} <= names
    assert "text/csv" in listing["responses"]["200"]["content"]


async def test_the_reference_page_is_served_locally(client: Client) -> None:
    response = await client.get("/api/v1/docs")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert "openapi.json" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)


async def test_metrics_are_open_and_count_requests_by_route(
    client: Client, tokens: dict[Role, str]
) -> None:
    await client.get("/api/v1/stock/WIDGET", headers=bearer(tokens[Role.DISPLAY]))
    await client.get("/api/v1/stock/WIDGET")
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    text = await response.text()
    assert (
        'stockd_http_requests_total{method="GET",route="/api/v1/stock/{sku}",status="200"} 1.0'
        in text
    )
    assert 'route="/api/v1/stock/{sku}",status="401"} 1.0' in text
    assert "stockd_database_up 1.0" in text
    assert "stockd_feed_clients 0.0" in text
    assert "stockd_http_request_duration_seconds_bucket" in text
