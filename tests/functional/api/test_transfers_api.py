"""Transfers between warehouses through the API (issue 17): shipped at once and in
transit, counted apart, until received (partly or whole) at a location of the
destination; receipts fill backorders and respect capacity; each write happens once
under its Idempotency-Key; undo puts a transfer back; ``stockd verify`` checks in
transit = shipped - received; every refusal a problem document that changes nothing."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.movement import Undo
from stock_core.domain.token import Role
from stock_core.errors import InvalidMovementError
from stock_core.errors import SerialConflictError
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import MovementId
from stock_core.types import Sku
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from tests.functional.api.conftest import get_json
from tests.functional.api.conftest import post_json
from tests.functional.api.conftest import snapshot


def _kind(problem: dict[str, Any]) -> str:
    return str(problem["type"]).split("/")[-1]


async def _write(
    client: Client, url: str, token: str, key: str, body: dict[str, Any]
) -> tuple[int, Any]:
    response = await client.post(url, json=body, headers={**bearer(token), "Idempotency-Key": key})
    return response.status, await response.json(content_type=None)


@pytest.fixture
async def east(service: StockService) -> StockService:
    """MAIN holds 10 WIDGET at A-01 (lot L1, 6, expiring first; lot L2, 4); EAST has E-01
    and E-02."""
    await service.import_locations(b"code,zone,name,gln,warehouse\nE-01,E,,,EAST\nE-02,E,,,EAST\n")
    await service.import_products(
        b"sku,name,barcodes,category,unit_cost,weight_g,length_mm,width_mm,height_mm,"
        b"reorder_point,reorder_qty,lead_time_days,safety_stock,tracking\n"
        b"TAGGED,Tagged,,x,1,,,,,0,0,0,0,serial\n"
    )
    widget = ProductRef(sku=Sku("WIDGET"))
    for key, lot, n, expiry in (("s1", "L1", 6, date(2031, 1, 1)), ("s2", "L2", 4, None)):
        await service.post(
            Envelope(IdempotencyKey(key), Receive(widget, LocationCode("A-01"), n, lot, expiry))
        )
    return service


SHIP = {
    "number": "T-1",
    "from_location": "A-01",
    "to_warehouse": "EAST",
    "lines": [{"sku": "WIDGET", "quantity": 8}],
}


def _ship_t2(**line: Any) -> dict[str, Any]:
    """Another shipment like SHIP, T-2, of the one line ``line``."""
    return {**SHIP, "number": "T-2", "lines": [line]}


def _widgets(quantity: int) -> dict[str, Any]:
    """A line of ``quantity`` WIDGET."""
    return {"sku": "WIDGET", "quantity": quantity}


def _receipt(location: str, *lines: dict[str, Any]) -> dict[str, Any]:
    """A receipt at ``location`` of ``lines``."""
    return {"location": location, "lines": list(lines)}


async def _receive_t1(
    client: Client, token: str, key: str, receipt: dict[str, Any]
) -> tuple[int, Any]:
    """POST ``receipt`` against transfer T-1 (``key`` its idempotency key)."""
    return await _write(client, "/api/v1/transfers/T-1/receipts", token, key, receipt)


async def _events(pool: Pool, *types: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT type, payload::text AS payload FROM outbox WHERE type = ANY($1) ORDER BY id",
        list(types),
    )
    return [{"type": r["type"], **json.loads(r["payload"])} for r in rows]


async def test_a_transfer_is_in_transit_until_received_in_parts(
    client: Client, tokens: dict[Role, str], pool: Pool, east: StockService
) -> None:
    worker, manager = tokens[Role.WORKER], tokens[Role.MANAGER]
    status, shipped = await _write(client, "/api/v1/transfers", worker, "t1", SHIP)
    assert status == 201, shipped
    assert (shipped["status"], shipped["from_warehouse"], shipped["to_warehouse"]) == (
        "in_transit",
        "MAIN",
        "EAST",
    )
    # earliest expiry first: all 6 of L1, then 2 of L2
    assert [(m["kind"], m["lot"], m["delta"], m["warehouse"]) for m in shipped["movements"]] == [
        ("transfer_out", "L1", -6, "MAIN"),
        ("transfer_out", "L2", -2, "MAIN"),
    ]
    assert shipped["lines"][0]["quantity"] == 8
    assert shipped["lines"][0]["in_transit"] == 8
    # a replay ships nothing more and answers the first movements
    response = await client.post(
        "/api/v1/transfers", json=SHIP, headers={**bearer(worker), "Idempotency-Key": "t1"}
    )
    assert response.headers["Idempotent-Replayed"] == "true"
    again = await response.json()
    assert [m["id"] for m in again["movements"]] == [m["id"] for m in shipped["movements"]]

    status, stock = await get_json(client, "/api/v1/stock/WIDGET", manager)
    assert (stock["on_hand"], stock["in_transit"]) == (2, 8)
    assert stock["warehouses"] == [
        {"warehouse": "EAST", "on_hand": 0, "available": 0, "in_transit": 8},
        {"warehouse": "MAIN", "on_hand": 2, "available": 2, "in_transit": 0},
    ]
    status, scoped = await get_json(client, "/api/v1/stock/WIDGET?warehouse=EAST", manager)
    assert (scoped["on_hand"], scoped["in_transit"]) == (0, 8)
    status, listed = await get_json(client, "/api/v1/stock?warehouse=EAST", manager)
    assert [p["sku"] for p in listed["items"]] == ["WIDGET"]  # on its way there
    status, value = await get_json(client, "/api/v1/reports/valuation", manager)
    assert value["total"] == "25.00"  # in transit is still owned: 10 x 2.50
    status, plan = await get_json(client, "/api/v1/replenishment", manager)
    widget = next(item for item in plan["items"] if item["sku"] == "WIDGET")
    assert widget["on_hand"] == 10  # not ordered again: what is on its way still counts

    status, part = await _receive_t1(client, worker, "r1", _receipt("E-01", _widgets(5)))
    assert status == 201, part
    assert part["status"] == "partial"
    assert [(m["kind"], m["location"], m["lot"], m["delta"]) for m in part["movements"]] == [
        ("transfer_in", "E-01", "L1", 5)
    ]
    status, rest = await _receive_t1(client, worker, "r2", _receipt("E-02", _widgets(3)))
    assert (status, rest["status"]) == (201, "received")
    assert rest["received_at"] is not None
    status, got = await get_json(client, "/api/v1/transfers/T-1", manager)
    assert [(x["sku"], x["quantity"], x["received"], x["in_transit"]) for x in got["lines"]] == [
        ("WIDGET", 8, 8, 0)
    ]
    assert [(x["lot"], x["quantity"], x["received"]) for x in got["lines"][0]["lots"]] == [
        ("L1", 6, 6),
        ("L2", 2, 2),
    ]
    status, stock = await get_json(client, "/api/v1/stock/WIDGET?warehouse=EAST", manager)
    assert (stock["on_hand"], stock["available"], stock["in_transit"]) == (8, 8, 0)
    status, moves = await get_json(client, "/api/v1/movements?kind=transfer_in", manager)
    assert [(m["location"], m["lot"], m["warehouse"]) for m in moves["items"]] == [
        ("E-01", "L1", "EAST"),
        ("E-02", "L1", "EAST"),
        ("E-02", "L2", "EAST"),
    ]

    events = await _events(pool, "transfer.shipped", "transfer.received", "transfer.closed")
    assert [(e["type"], e.get("status")) for e in events] == [
        ("transfer.shipped", "in_transit"),
        ("transfer.received", "partial"),
        ("transfer.received", "received"),
        ("transfer.closed", None),
    ]
    assert events[0]["lines"] == [
        {"sku": "WIDGET", "lot": "L1", "quantity": 6},
        {"sku": "WIDGET", "lot": "L2", "quantity": 2},
    ]
    changed = await _events(pool, "stock.changed")
    assert {e["transfer"] for e in changed if e["kind"].startswith("transfer_")} == {"T-1"}
    assert (await east.verify()).ok


async def test_every_bad_transfer_is_refused_and_changes_nothing(
    client: Client, tokens: dict[Role, str], pool: Pool, east: StockService
) -> None:
    worker = tokens[Role.WORKER]
    assert (await _write(client, "/api/v1/transfers", worker, "ok", SHIP))[0] == 201
    before = await snapshot(pool)
    ship_cases: list[tuple[dict[str, Any], int, str]] = [
        ({**SHIP, "number": "T-2", "to_warehouse": "NOPE"}, 404, "unknown-warehouse"),
        ({**SHIP, "number": "T-2", "to_warehouse": "MAIN"}, 422, "invalid-movement"),
        ({**SHIP, "lines": [{"sku": "WIDGET", "quantity": 1}]}, 409, "conflict"),
        ({**SHIP, "number": "T-2", "from_location": "NOWHERE"}, 404, "unknown-location"),
        (_ship_t2(sku="WIDGET", quantity=3), 409, "insufficient-stock"),
        (_ship_t2(sku="NOSUCH", quantity=1), 404, "unknown-product"),
        (_ship_t2(sku="TAGGED", quantity=1, serials=["A"]), 409, "serial-conflict"),  # not at A-01
        (_ship_t2(sku="TAGGED", quantity=1), 422, "tracking-required"),
        (_ship_t2(sku="WIDGET", quantity=1, serials=["A"]), 422, "tracking-required"),
        ({**SHIP, "number": "bad number!"}, 422, "validation-error"),
        (_ship_t2(sku="WIDGET", quantity=0), 422, "validation-error"),
    ]
    for n, (body, status, kind) in enumerate(ship_cases):
        got, problem = await _write(client, "/api/v1/transfers", worker, f"bad{n}", body)
        assert (got, _kind(problem)) == (status, kind), (body, problem)
    one = _widgets(1)
    receipt_cases: list[tuple[str, dict[str, Any], int, str]] = [
        ("T-9", _receipt("E-01", one), 404, "unknown-transfer"),
        ("T-1", _receipt("E-01", _widgets(9)), 409, "not-in-transit"),
        ("T-1", _receipt("E-01", {**one, "sku": "GADGET"}), 409, "not-in-transit"),
        ("T-1", _receipt("E-01", {**one, "lot": "L9"}), 409, "not-in-transit"),
        ("T-1", _receipt("A-02", one), 409, "wrong-warehouse"),
        ("T-1", _receipt("E-01"), 422, "validation-error"),
    ]
    for n, (number, body, status, kind) in enumerate(receipt_cases):
        got, problem = await _write(
            client, f"/api/v1/transfers/{number}/receipts", worker, f"rbad{n}", body
        )
        assert (got, _kind(problem)) == (status, kind), (number, body, problem)
    wrong = await _receive_t1(client, worker, "rbad-again", _receipt("A-02", one))
    assert (wrong[1]["warehouse"], wrong[1]["expected"]) == ("MAIN", "EAST")
    status, problem = await get_json(client, "/api/v1/transfers/T-9", tokens[Role.MANAGER])
    assert (status, _kind(problem)) == (404, "unknown-transfer")
    status, _ = await _write(client, "/api/v1/transfers", tokens[Role.DISPLAY], "d", SHIP)
    assert status == 403
    # refusals are remembered with their keys (a replay answers the same), nothing else
    after = await snapshot(pool)
    del before["idempotency_keys"], after["idempotency_keys"]
    assert after == before
    assert (await east.verify()).ok


async def test_a_receipt_fills_backorders_and_keeps_to_capacity(
    client: Client, tokens: dict[Role, str], pool: Pool, east: StockService
) -> None:
    worker, manager = tokens[Role.WORKER], tokens[Role.MANAGER]
    assert (await _write(client, "/api/v1/transfers", worker, "t", SHIP))[0] == 201
    status, order = await post_json(
        client,
        "/api/v1/orders",
        manager,
        {"number": "SO-1", "lines": [{"sku": "WIDGET", "quantity": 5}]},
    )
    assert (status, order["lines"][0]["backordered"]) == (201, 3), order
    # E-02 holds at most 2 widgets' weight (120 g each)
    limited = await client.patch(
        "/api/v1/locations/E-02", json={"max_weight_g": 240}, headers=bearer(manager)
    )
    assert limited.status == 200
    before = await snapshot(pool)
    status, problem = await _receive_t1(client, worker, "full", _receipt("E-02", _widgets(3)))
    assert (status, _kind(problem)) == (409, "capacity-exceeded"), problem
    after = await snapshot(pool)
    del before["idempotency_keys"], after["idempotency_keys"]
    assert after == before
    status, posted = await _receive_t1(client, worker, "fits", _receipt("E-01", _widgets(3)))
    assert status == 201, posted
    status, order = await get_json(client, "/api/v1/orders/SO-1", manager)
    assert (order["lines"][0]["reserved"], order["lines"][0]["backordered"]) == (5, 0)
    filled = await _events(pool, "backorder.filled")
    assert [(e["order"], e["quantity"]) for e in filled] == [("SO-1", 3)]
    assert (await east.verify()).ok


async def test_undo_takes_a_shipment_or_a_receipt_back(
    client: Client, tokens: dict[Role, str], pool: Pool, east: StockService
) -> None:
    worker, manager = tokens[Role.WORKER], tokens[Role.MANAGER]
    status, shipped = await _write(client, "/api/v1/transfers", worker, "t", SHIP)
    assert status == 201
    status, got = await _receive_t1(client, worker, "r", _receipt("E-01", _widgets(2)))
    assert status == 201
    # the shipment's units were partly received: undoing it is refused, nothing changes
    first = MovementId(shipped["movements"][0]["id"])
    before = await snapshot(pool)
    with pytest.raises(InvalidMovementError, match="received already"):
        await east.post(Envelope(IdempotencyKey("u1"), Undo(movement_id=first)))
    after = await snapshot(pool)
    del before["idempotency_keys"], after["idempotency_keys"]
    assert after == before
    # undoing the receipt puts its units back in transit, then the shipment can go
    receipt = MovementId(got["movements"][0]["id"])
    await east.post(Envelope(IdempotencyKey("u2"), Undo(movement_id=receipt)))
    _, transfer = await get_json(client, "/api/v1/transfers/T-1", manager)
    assert (transfer["status"], transfer["lines"][0]["in_transit"]) == ("in_transit", 8)
    undone = await east.post(Envelope(IdempotencyKey("u3"), Undo(movement_id=first)))
    assert [(m.kind, m.delta) for m in undone.movements] == [("undo", 2), ("undo", 6)]
    _, transfer = await get_json(client, "/api/v1/transfers/T-1", manager)
    assert transfer["lines"][0]["quantity"] == 0
    _, stock = await get_json(client, "/api/v1/stock/WIDGET", manager)
    assert (stock["on_hand"], stock["in_transit"]) == (10, 0)
    report = await east.verify()
    assert report.ok, report.render()
    assert report.checked["transfers"] == 1


async def test_verify_finds_a_transfer_line_the_ledger_does_not_back(
    client: Client, tokens: dict[Role, str], pool: Pool, east: StockService
) -> None:
    assert (await _write(client, "/api/v1/transfers", tokens[Role.WORKER], "t", SHIP))[0] == 201
    await pool.execute("UPDATE transfer_lines SET received = 1 WHERE lot = 'L2'")
    report = await east.verify()
    assert not report.ok
    assert any("transfer T-1 WIDGET lot L2: shipped 2 and received 1" in f for f in report.failures)
    assert any("transfer T-1 is in_transit but its lines say partial" in f for f in report.failures)


async def test_a_transfer_opened_empty_waits_for_scanners_and_verifies(
    client: Client, tokens: dict[Role, str], pool: Pool, east: StockService
) -> None:
    body = {**SHIP, "lines": []}
    status, opened = await _write(client, "/api/v1/transfers", tokens[Role.WORKER], "o", body)
    assert (status, opened["status"], opened["lines"], opened["movements"]) == (
        201,
        "in_transit",
        [],
        [],
    )
    events = await _events(pool, "transfer.shipped")
    assert [(e["transfer"], e["lines"]) for e in events] == [("T-1", [])]
    report = await east.verify()
    assert report.ok, report.render()


async def test_serials_travel_on_a_transfer_and_are_in_transit_meanwhile(
    client: Client, tokens: dict[Role, str], pool: Pool, east: StockService
) -> None:
    worker = tokens[Role.WORKER]
    tagged = ProductRef(sku=Sku("TAGGED"))
    receive = Receive(tagged, LocationCode("A-01"), 3, serials=("S1", "S2", "S3"))
    await east.post(Envelope(IdempotencyKey("tag"), receive))
    ship = {
        "number": "T-9",
        "from_location": "A-01",
        "to_warehouse": "EAST",
        "lines": [{"sku": "TAGGED", "quantity": 2, "serials": ["S1", "S2"]}],
    }
    status, shipped = await _write(client, "/api/v1/transfers", worker, "ts1", ship)
    assert status == 201, shipped
    assert [(m["kind"], m["serial"], m["delta"]) for m in shipped["movements"]] == [
        ("transfer_out", "S1", -1),
        ("transfer_out", "S2", -1),
    ]
    view = await east.serial("TAGGED", "S1")
    assert view is not None
    assert (view.status, view.location) == ("in_transit", None)
    before = await snapshot(pool)
    refusals = [
        ({"sku": "TAGGED", "quantity": 1, "serials": ["S3"]}, "serial-conflict"),  # at A-01
        ({"sku": "TAGGED", "quantity": 1}, "tracking-required"),
    ]
    for n, (line, kind) in enumerate(refusals):
        status, problem = await _write(
            client,
            "/api/v1/transfers/T-9/receipts",
            worker,
            f"tr-bad{n}",
            {"location": "E-01", "lines": [line]},
        )
        assert (status, _kind(problem)) == (409 if kind == "serial-conflict" else 422, kind)
    after = await snapshot(pool)
    assert {k: v for k, v in after.items() if k != "idempotency_keys"} == {
        k: v for k, v in before.items() if k != "idempotency_keys"
    }
    status, received = await _write(
        client,
        "/api/v1/transfers/T-9/receipts",
        worker,
        "tr1",
        {"location": "E-01", "lines": [{"sku": "TAGGED", "quantity": 1, "serials": ["S2"]}]},
    )
    assert status == 201, received
    view = await east.serial("TAGGED", "S2")
    assert view is not None
    assert (view.status, view.location) == ("in_stock", "E-01")
    assert [m.kind for m in view.history] == ["receive", "transfer_out", "transfer_in"]
    _, transfer = await get_json(client, "/api/v1/transfers/T-9", tokens[Role.MANAGER])
    assert (transfer["status"], transfer["lines"][0]["received"]) == ("partial", 1)
    # the shipment (S1 and S2) cannot be undone while S2 is received
    ship_undo = Undo(movement_id=MovementId(shipped["movements"][0]["id"]))
    with pytest.raises(SerialConflictError):
        await east.post(Envelope(IdempotencyKey("undo-ship"), ship_undo))
    # undo the receipt of S2: in transit again; then the shipment: both back at A-01
    undo = Undo(movement_id=MovementId(received["movements"][0]["id"]))
    await east.post(Envelope(IdempotencyKey("undo-s2"), undo))
    view = await east.serial("TAGGED", "S2")
    assert view is not None
    assert (view.status, view.location) == ("in_transit", None)
    await east.post(Envelope(IdempotencyKey("undo-ship-2"), ship_undo))
    for serial in ("S1", "S2"):
        view = await east.serial("TAGGED", serial)
        assert view is not None
        assert (view.status, view.location) == ("in_stock", "A-01")
    assert (await east.verify()).ok


async def test_transfers_are_listed_in_order_by_status_and_warehouse_a_page_at_a_time(
    client: Client, tokens: dict[Role, str], east: StockService
) -> None:
    worker, manager = tokens[Role.WORKER], tokens[Role.MANAGER]
    for key, body in (("l1", {**SHIP, "lines": [_widgets(3)]}), ("l2", _ship_t2(**_widgets(2)))):
        status, shipped = await _write(client, "/api/v1/transfers", worker, key, body)
        assert status == 201, shipped
    status, _ = await _receive_t1(client, worker, "l3", _receipt("E-01", _widgets(3)))
    assert status == 201

    status, listed = await get_json(client, "/api/v1/transfers", manager)
    assert status == 200, listed
    assert [(t["number"], t["status"]) for t in listed["items"]] == [
        ("T-1", "received"),
        ("T-2", "in_transit"),
    ]
    assert listed["items"][1]["lines"] == [
        {
            "sku": "WIDGET",
            "quantity": 2,
            "received": 0,
            "in_transit": 2,
            "lots": [{"lot": "L1", "expiry": "2031-01-01", "quantity": 2, "received": 0}],
        }
    ]
    # one page at a time: the cursor names where the next page starts
    status, first = await get_json(client, "/api/v1/transfers?limit=1", manager)
    assert [t["number"] for t in first["items"]] == ["T-1"]
    status, second = await get_json(
        client, f"/api/v1/transfers?limit=1&cursor={first['next_cursor']}", manager
    )
    assert [t["number"] for t in second["items"]] == ["T-2"]
    assert second["next_cursor"] is None
    # what is still on its way; by warehouse (either end)
    status, moving = await get_json(client, "/api/v1/transfers?status=in_transit", manager)
    assert [t["number"] for t in moving["items"]] == ["T-2"]
    for warehouse, expected in (("EAST", ["T-1", "T-2"]), ("MAIN", ["T-1", "T-2"])):
        status, found = await get_json(client, f"/api/v1/transfers?warehouse={warehouse}", manager)
        assert [t["number"] for t in found["items"]] == expected
    await client.post(
        "/api/v1/warehouses", json={"code": "WEST", "name": "West"}, headers=bearer(manager)
    )
    status, none = await get_json(client, "/api/v1/transfers?warehouse=WEST", manager)
    assert (status, none["items"]) == (200, [])
    # bad input: a clear answer, nothing else
    status, problem = await get_json(client, "/api/v1/transfers?warehouse=NOWHERE", manager)
    assert (status, _kind(problem)) == (404, "unknown-warehouse")
    status, problem = await get_json(client, "/api/v1/transfers?status=lost", manager)
    assert status == 422, problem
    status, problem = await get_json(client, "/api/v1/transfers", worker)
    assert status == 403, problem
