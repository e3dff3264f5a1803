"""What the API takes is what its document says (issue 12.4, 12.5, 12.6).

A bad body is a 4xx problem document, never a 500; an undocumented method is 405 with
``Allow``; a query parameter of the wrong type is refused however lenient pydantic
would be, and every constraint the server enforces is in the document.
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from typing import Any

import pytest

from stock_core.domain.token import Role
from stock_core.store.connection import Pool
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from tests.functional.api.conftest import snapshot
from web_ui.api import all_routes
from web_ui.api.route import openapi_path

_keys = itertools.count()
_SAMPLE_PATH = {
    "sku": "WIDGET",
    "id": "1",
    "number": "SO-1",
    "code": "A-01",
    "kind": "products",
    "name": "not-found",
    "delivery_id": "1",
    "serial": "SN-1",
}
_BAD_VALUES: list[Any] = [None, "", [], {}, True, -1, 1.5, "x" * 300, "2024-13-45", [None]]


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: _SAMPLE_PATH[m.group(1)], openapi_path(path))


async def _is_problem(response: Any) -> dict[str, Any]:
    assert response.content_type == "application/problem+json", await response.text()
    body: dict[str, Any] = await response.json(content_type=None)
    assert body["status"] == response.status
    return body


async def test_the_patch_of_issue_12_is_422_and_changes_nothing(
    client: Client, tokens: dict[Role, str], pool: Pool
) -> None:
    before = await snapshot(pool)
    for body in (
        {"barcodes": None, "category": "", "unit_cost": "", "name": "Widget"},
        {"barcodes": None},
        {"unit_cost": ""},
        {"name": None},
    ):
        response = await client.patch(
            "/api/v1/products/WIDGET", json=body, headers=bearer(tokens[Role.MANAGER])
        )
        assert response.status == 422, body
        problem = await _is_problem(response)
        assert problem["type"] == "/problems/validation-error"
        assert problem["errors"][0]["loc"][0] == "body"
    assert await snapshot(pool) == before


def _bodies(properties: dict[str, Any]) -> list[Any]:
    """Each field alone with each bad value, then the whole body as a wrong type."""
    found: list[Any] = [{name: value} for name in properties for value in _BAD_VALUES]
    return [*found, None, [], "x", 1, [{}]]


async def test_no_bad_body_on_any_write_route_is_a_server_error(
    client: Client, tokens: dict[Role, str]
) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    schemas = document["components"]["schemas"]
    tried = refused = 0
    for route in all_routes():
        if route.body is None:
            continue
        schema = schemas[route.body.__name__]
        properties: dict[str, Any] = dict(schema.get("properties", {}))
        for option in schema.get("oneOf", ()):  # a movement: every kind's fields
            properties.update(schemas[option["$ref"].rsplit("/", 1)[-1]]["properties"])
        for body in _bodies(properties):
            headers = {**bearer(tokens[Role.ADMIN]), "Idempotency-Key": f"k{next(_keys)}"}
            response = await client.request(
                route.method, _url(route.path), json=body, headers=headers
            )
            assert response.status < 500, (route.method, route.path, body)
            if response.status >= 400:
                await _is_problem(response)
                refused += 1
            tried += 1
    assert tried > 500
    assert refused > 0.9 * tried  # most are bad; "2024-13-45" is a fine name


async def test_an_undocumented_method_is_405_with_allow(client: Client) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    for path, operations in document["paths"].items():
        documented = {m.upper() for m in operations}
        url = re.sub(r"\{(\w+)\}", lambda m: _SAMPLE_PATH[m.group(1)], path)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"):
            if method in documented:
                continue
            response = await client.request(method, url)
            assert response.status == 405, (method, path)
            allowed = {m.strip() for m in response.headers["Allow"].split(",")}
            assert allowed - {"HEAD"} == documented, (method, path)
            assert (await _is_problem(response))["type"] == "/problems/method-not-allowed"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/reports/valuation?at=0",  # was the valuation of 1970-01-02
        "/api/v1/reports/valuation?at=20240131",
        "/api/v1/reports/valuation?at=1969-12-31",
        "/api/v1/reports/valuation?at=3000-01-01",
        "/api/v1/reports/turnover?from=0484-03-01&to=2024-01-01",
        "/api/v1/movements?to=0.5",  # was answered 200
        "/api/v1/movements?from=1700000000",
        "/api/v1/movements?from=2024-01-01",
        "/api/v1/movements?from=2024-01-01T00:00",
        "/api/v1/movements.csv?to=0.5",
        "/api/v1/products?limit=5.0",
        "/api/v1/products?limit=+5",
        "/api/v1/products?limit=%205",
        "/api/v1/products?limit=1_0",
        "/api/v1/products?limit=1&limit=2",
        "/api/v1/stock?below_reorder_point=yes",
        "/api/v1/stock?below_reorder_point=1",
        "/api/v1/movements?order=ASC",
        "/api/v1/forecasts/WIDGET?weeks=2e1",
    ],
)
async def test_a_query_the_document_calls_invalid_is_422(
    client: Client, tokens: dict[Role, str], url: str
) -> None:
    response = await client.get(url, headers=bearer(tokens[Role.MANAGER]))
    assert response.status == 422, await response.text()
    problem = await _is_problem(response)
    assert problem["errors"][0]["loc"][0] == "query"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/reports/valuation?at=2024-01-31",
        "/api/v1/reports/valuation?at=1970-01-01",
        "/api/v1/reports/turnover?from=2024-01-01&to=2999-12-31",
        "/api/v1/movements?to=2024-01-01T00:00:00Z&from=2023-12-31T23:00:00.5%2B01:00",
        "/api/v1/products?limit=5&ignored=yes&ignored=twice",
        "/api/v1/stock?below_reorder_point=true",
        "/api/v1/forecasts/WIDGET?weeks=20",
    ],
)
async def test_a_query_the_document_calls_valid_is_answered(
    client: Client, tokens: dict[Role, str], url: str
) -> None:
    response = await client.get(url, headers=bearer(tokens[Role.MANAGER]))
    assert response.status == 200, await response.text()


async def test_the_document_states_date_bounds_decimal_strings_and_cursor_shapes(
    client: Client,
) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()

    def parameter(path: str, name: str) -> dict[str, Any]:
        (found,) = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == name]
        schema: dict[str, Any] = found["schema"]
        return schema

    at = parameter("/api/v1/reports/valuation", "at")
    assert at["format"] == "date"
    assert re.fullmatch(at["pattern"], "1970-01-01")
    assert re.fullmatch(at["pattern"], "2999-12-31")
    assert not re.search(at["pattern"], "1969-12-31")
    assert not re.search(at["pattern"], "3000-01-01")
    expected = document["components"]["schemas"]["PurchaseOrderIn"]["properties"]
    assert expected["expected_date"]["pattern"] == at["pattern"]
    cost = document["components"]["schemas"]["ProductCreate"]["properties"]["unit_cost"]
    number, text = cost["anyOf"]
    assert (number["type"], number["minimum"], number["maximum"]) == ("number", 0, 999999999.9999)
    assert text["type"] == "string"
    assert re.fullmatch(text["pattern"], "2.50")
    assert not re.search(text["pattern"], "1e5")
    assert not re.search(text["pattern"], "")
    assert "4 decimal places" in cost["description"]
    for path in ("/api/v1/products", "/api/v1/movements", "/api/v1/replenishment"):
        assert parameter(path, "cursor")["pattern"] == "^[0-9]{1,18}$"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (0.30000000000000004, Decimal("0.3000")),
        ("2.5", Decimal("2.5000")),
        (1.175494351e-38, Decimal("0.0000")),
        ("999999999.99999", Decimal("999999999.9999")),
        (2.00005, Decimal("2.0000")),
    ],
)
async def test_a_decimal_with_more_places_is_rounded_as_documented(
    client: Client, tokens: dict[Role, str], pool: Pool, given: Any, stored: Decimal
) -> None:
    response = await client.post(
        "/api/v1/products",
        json={"sku": "ROUNDED", "name": "Rounded", "unit_cost": given, "weight_g": given},
        headers=bearer(tokens[Role.MANAGER]),
    )
    assert response.status == 201, await response.text()
    cost = await pool.fetchval("SELECT unit_cost FROM products WHERE sku = 'ROUNDED'")
    assert cost == stored


@pytest.mark.parametrize("given", ["1e5", " 1", "-1", "1,5", "", "0x10", True, -0.5, 1e9])
async def test_a_decimal_the_document_refuses_is_422(
    client: Client, tokens: dict[Role, str], given: Any
) -> None:
    response = await client.post(
        "/api/v1/products",
        json={"sku": "NOPE", "name": "Nope", "unit_cost": given},
        headers=bearer(tokens[Role.MANAGER]),
    )
    assert response.status == 422, await response.text()


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "receive", "sku": "WIDGET", "location": "A-01", "quantity": "5"},
        {"kind": "receive", "sku": "WIDGET", "location": "A-01", "quantity": 5, "expiry": 0},
        {"kind": "receive", "sku": "WIDGET", "location": "A-01", "quantity": 5, "expiry": "0"},
        {"kind": "adjust", "sku": "WIDGET", "location": "A-01", "quantity": 5, "expiry": None},
        {"kind": "receive", "sku": "WIDGET", "location": "A-01", "quantity": True},
        {"kind": "receive", "sku": 5, "location": "A-01", "quantity": 5},
        {"kind": "receive", "sku": "WIDGET", "location": "A-01", "quantity": 5, "lot": "L\x85"},
    ],
)
async def test_a_body_the_document_calls_invalid_is_422_however_pydantic_would_read_it(
    client: Client, tokens: dict[Role, str], pool: Pool, body: dict[str, Any]
) -> None:
    before = await snapshot(pool)
    response = await client.post(
        "/api/v1/movements",
        json=body,
        headers={**bearer(tokens[Role.WORKER]), "Idempotency-Key": f"k{next(_keys)}"},
    )
    assert response.status == 422, await response.text()
    assert (await _is_problem(response))["type"] == "/problems/validation-error"
    assert await snapshot(pool) == before
