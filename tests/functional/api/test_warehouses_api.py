"""Several warehouses through the API (issue 17): the warehouses resource, locations in
a warehouse (API and locations.csv), and stock, movements and reports scoped by
``?warehouse=``; every refusal a problem document that changes nothing."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from stock_core.domain.token import Role
from stock_core.errors import CatalogImportError
from stock_core.service import StockService
from stock_core.store.connection import Pool
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import created_then_renamed
from tests.functional.api.conftest import get_json
from tests.functional.api.conftest import post_json
from tests.functional.api.conftest import post_movement
from tests.functional.api.conftest import snapshot


def _kind(problem: dict[str, Any]) -> str:
    return str(problem["type"]).split("/")[-1]


async def test_warehouses_are_kept_and_listed(
    client: Client, tokens: dict[Role, str], pool: Pool
) -> None:
    manager, worker = tokens[Role.MANAGER], tokens[Role.WORKER]
    await created_then_renamed(client, "/api/v1/warehouses", manager, "EAST", "East depot", "East")
    status, page = await get_json(client, "/api/v1/warehouses?limit=1", manager)
    assert (status, [w["code"] for w in page["items"]], page["next_cursor"]) == (
        200,
        ["EAST"],
        "EAST",
    )
    status, page = await get_json(client, "/api/v1/warehouses?cursor=EAST", manager)
    assert [(w["code"], w["name"]) for w in page["items"]] == [("MAIN", "Main warehouse")]
    status, _ = await post_json(client, "/api/v1/warehouses", worker, {"code": "WEST"})
    assert status == 403
    before = await snapshot(pool)
    for body in ({"code": "east"}, {"code": ""}, {"code": "W" * 33}, {"code": "W", "x": 1}):
        status, problem = await post_json(client, "/api/v1/warehouses", manager, body)
        assert (status, _kind(problem)) == (422, "validation-error"), body
    assert await snapshot(pool) == before


async def test_locations_belong_to_a_warehouse(
    client: Client, tokens: dict[Role, str], pool: Pool, service: StockService
) -> None:
    manager = tokens[Role.MANAGER]
    # a warehouse code locations.csv names that does not exist yet is created
    summary = await service.import_locations(
        b"code,zone,name,gln,warehouse\nE-01,E,East bay 1,,EAST\nE-02,E,,,EAST\nA-01,A,,,\n"
    )
    assert (summary.created, summary.updated, summary.warehouses) == (2, 1, ("EAST",))
    status, page = await get_json(client, "/api/v1/locations?warehouse=EAST", manager)
    assert [(loc["code"], loc["warehouse"]) for loc in page["items"]] == [
        ("E-01", "EAST"),
        ("E-02", "EAST"),
    ]
    status, a01 = await get_json(client, "/api/v1/locations/A-01", manager)
    assert a01["warehouse"] == "MAIN"  # an empty cell keeps where it is
    status, made = await post_json(
        client, "/api/v1/locations", manager, {"code": "E-03", "warehouse": "EAST"}
    )
    assert (status, made["warehouse"]) == (201, "EAST")
    status, made = await post_json(client, "/api/v1/locations", manager, {"code": "A-09"})
    assert (status, made["warehouse"]) == (201, "MAIN")

    before = await snapshot(pool)
    status, problem = await post_json(
        client, "/api/v1/locations", manager, {"code": "N-01", "warehouse": "NOPE"}
    )
    assert (status, _kind(problem), problem["code"]) == (404, "unknown-warehouse", "NOPE")
    # codes are unique across warehouses
    status, problem = await post_json(
        client, "/api/v1/locations", manager, {"code": "A-01", "warehouse": "EAST"}
    )
    assert (status, _kind(problem)) == (409, "conflict")
    status, problem = await get_json(client, "/api/v1/locations?warehouse=NOPE", manager)
    assert (status, _kind(problem)) == (404, "unknown-warehouse")
    assert await snapshot(pool) == before


async def test_a_location_holding_stock_does_not_change_warehouse(
    client: Client, tokens: dict[Role, str], pool: Pool, service: StockService
) -> None:
    await service.save_warehouse("EAST", "East")
    status, _ = await post_movement(
        client,
        tokens[Role.WORKER],
        "r1",
        {"kind": "receive", "sku": "WIDGET", "location": "A-01", "quantity": 3},
    )
    assert status == 201
    before = await snapshot(pool)
    try:
        await service.import_locations(
            b"code,zone,name,gln,warehouse\nA-02,A,,,EAST\nA-01,A,,,EAST\nX-1,,,,bad code\n"
        )
    except CatalogImportError as exc:
        problems = [(p.line, p.reason) for p in exc.problems]
    else:  # pragma: no cover - the import must be refused
        raise AssertionError("the import was not refused")
    assert [line for line, _ in problems] == [4]  # the file's own errors come first
    assert "upper-case" in problems[0][1]
    try:
        await service.import_locations(
            b"code,zone,name,gln,warehouse\nA-02,A,,,EAST\nA-01,A,,,EAST\n"
        )
    except CatalogImportError as exc:
        problems = [(p.line, p.reason) for p in exc.problems]
    assert problems == [
        (
            3,
            "A-01 holds stock in warehouse MAIN: it cannot move to EAST until it is empty "
            "(ship a transfer instead)",
        )
    ]
    assert await snapshot(pool) == before


async def test_stock_movements_and_reports_by_warehouse(
    client: Client, tokens: dict[Role, str], pool: Pool, service: StockService
) -> None:
    manager, worker = tokens[Role.MANAGER], tokens[Role.WORKER]
    await service.import_locations(b"code,zone,name,gln,warehouse\nE-01,E,,,EAST\n")
    receive = {"kind": "receive", "sku": "WIDGET", "quantity": 5}
    assert (await post_movement(client, worker, "m1", {**receive, "location": "A-01"}))[0] == 201
    status, east = await post_movement(
        client, worker, "e1", {**receive, "location": "E-01", "quantity": 3}
    )
    assert (status, east["warehouse"]) == (201, "EAST")

    status, stock = await get_json(client, "/api/v1/stock/WIDGET", manager)
    assert (stock["on_hand"], stock["in_transit"], stock["quarantined"]) == (8, 0, 0)
    assert stock["warehouses"] == [
        {"warehouse": "EAST", "on_hand": 3, "available": 3, "in_transit": 0},
        {"warehouse": "MAIN", "on_hand": 5, "available": 5, "in_transit": 0},
    ]
    status, scoped = await get_json(client, "/api/v1/stock/WIDGET?warehouse=EAST", manager)
    assert (scoped["on_hand"], scoped["available"]) == (3, 3)
    assert [(r["location"], r["warehouse"]) for r in scoped["locations"]] == [("E-01", "EAST")]
    assert [w["warehouse"] for w in scoped["warehouses"]] == ["EAST"]
    status, listed = await get_json(client, "/api/v1/stock?warehouse=EAST", manager)
    assert [(p["sku"], p["on_hand"]) for p in listed["items"]] == [("WIDGET", 3)]
    status, nothing = await get_json(client, "/api/v1/stock/GADGET?warehouse=EAST", manager)
    assert (status, nothing["on_hand"], nothing["locations"]) == (200, 0, [])

    status, moves = await get_json(client, "/api/v1/movements?warehouse=EAST", manager)
    assert [(m["location"], m["warehouse"], m["delta"]) for m in moves["items"]] == [
        ("E-01", "EAST", 3)
    ]
    status, text = await get_json(client, "/api/v1/movements.csv?warehouse=MAIN", manager)
    header, line = text.splitlines()
    assert header.endswith(",warehouse")
    assert line.endswith(",MAIN")

    today = datetime.now(UTC).date().isoformat()
    status, value = await get_json(client, "/api/v1/reports/valuation?warehouse=EAST", manager)
    assert (status, value["total"]) == (200, "7.50"), value
    status, value = await get_json(client, "/api/v1/reports/valuation", manager)
    assert value["total"] == "20.00"
    status, turnover = await get_json(
        client, f"/api/v1/reports/turnover?from={today}&to={today}&warehouse=MAIN", manager
    )
    assert status == 200, turnover
    status, dead = await get_json(client, "/api/v1/reports/deadstock?warehouse=EAST", manager)
    assert status == 200, dead

    before = await snapshot(pool)
    for url in (
        "/api/v1/stock/WIDGET?warehouse=NOPE",
        "/api/v1/stock?warehouse=NOPE",
        "/api/v1/movements?warehouse=NOPE",
        "/api/v1/movements.csv?warehouse=NOPE",
        "/api/v1/reports/valuation?warehouse=NOPE",
        f"/api/v1/reports/turnover?from={today}&to={today}&warehouse=NOPE",
        "/api/v1/reports/deadstock?warehouse=NOPE",
    ):
        status, problem = await get_json(client, url, manager)
        assert (status, _kind(problem)) == (404, "unknown-warehouse"), url
    status, problem = await get_json(client, "/api/v1/stock?warehouse=east", manager)
    assert (status, _kind(problem)) == (422, "validation-error")
    assert await snapshot(pool) == before
