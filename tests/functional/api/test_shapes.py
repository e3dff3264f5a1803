"""SPEC's pinned shapes that exist now: lists, stock/{sku}, movements, POST movements."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from stock_core.domain.orders import OrderLineRequest
from stock_core.domain.token import Role
from stock_core.service import StockService
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from tests.functional.api.conftest import post_movement

MOVEMENT_KEYS = {
    "id",
    "ts",
    "kind",
    "sku",
    "location",
    "lot",
    "delta",
    "on_hand_after",
    "scanner",
    "scan_seq",
    "actor",
}
KINDS = {"receive", "pick", "adjust", "count", "move_out", "move_in", "undo"}
LISTS = [
    "/api/v1/products",
    "/api/v1/locations",
    "/api/v1/stock",
    "/api/v1/movements",
    "/api/v1/scanners",
    "/api/v1/alerts",
    "/api/v1/spool-exceptions",
    "/api/v1/tokens",
]


async def _get(client: Client, token: str, url: str) -> Any:
    response = await client.get(url, headers=bearer(token))
    assert response.status == 200, await response.text()
    return await response.json()


async def _receive_some(client: Client, token: str) -> None:
    moves = [
        ("r1", {"kind": "receive", "sku": "WIDGET", "location": "A-01", "quantity": 7}),
        (
            "r2",
            {"kind": "receive", "sku": "WIDGET", "location": "B-01", "quantity": 3, "lot": "L9"},
        ),
        ("r3", {"kind": "receive", "sku": "GADGET", "location": "DOCK-1", "quantity": 2}),
        ("p1", {"kind": "pick", "sku": "WIDGET", "location": "A-01", "quantity": 1}),
        ("a1", {"kind": "adjust", "sku": "WIDGET", "location": "A-01", "quantity": -1}),
    ]
    for key, body in moves:
        assert (await post_movement(client, token, key, body))[0] == 201


@pytest.mark.parametrize("url", LISTS)
async def test_every_list_answers_items_and_next_cursor(
    client: Client, tokens: dict[Role, str], url: str
) -> None:
    await _receive_some(client, tokens[Role.MANAGER])
    page = await _get(client, tokens[Role.ADMIN], url)
    assert set(page) == {"items", "next_cursor"}
    assert isinstance(page["items"], list)
    assert page["next_cursor"] is None or isinstance(page["next_cursor"], str)


@pytest.mark.parametrize(
    ("url", "key", "expected"),
    [
        ("/api/v1/products", "sku", ["WIDGET", "GADGET", "SPROCKET", "BOLT", "NUT"]),
        ("/api/v1/locations", "code", ["A-01", "A-02", "B-01", "DOCK-1"]),
        ("/api/v1/stock", "sku", ["WIDGET", "GADGET", "SPROCKET", "BOLT", "NUT"]),
        ("/api/v1/movements", "id", [1, 2, 3, 4, 5]),
        (
            "/api/v1/tokens",
            "name",
            ["test-display", "test-worker", "test-manager", "test-admin", "test-shop"],
        ),
    ],
)
async def test_cursor_pagination_walks_every_item_once(
    client: Client, tokens: dict[Role, str], url: str, key: str, expected: list[Any]
) -> None:
    await _receive_some(client, tokens[Role.MANAGER])
    seen: list[Any] = []
    next_url: str | None = f"{url}?limit=2"
    while next_url is not None:
        page = await _get(client, tokens[Role.ADMIN], next_url)
        assert len(page["items"]) <= 2
        seen += [item[key] for item in page["items"]]
        cursor = page["next_cursor"]
        next_url = None if cursor is None else f"{url}?limit=2&cursor={cursor}"
    assert seen == expected


async def test_a_cursor_not_of_the_documented_shape_is_422(
    client: Client, tokens: dict[Role, str]
) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    (cursor,) = [
        p
        for p in document["paths"]["/api/v1/locations"]["get"]["parameters"]
        if p["name"] == "cursor"
    ]
    assert cursor["schema"]["pattern"] == "^[0-9]{1,18}$"
    for garbled in ("bm9wZQ==", "!!", "-1", "1.5", "1234567890123456789", ""):
        response = await client.get(
            "/api/v1/locations", params={"cursor": garbled}, headers=bearer(tokens[Role.MANAGER])
        )
        assert response.status == 422, garbled
        body = await response.json(content_type=None)
        assert body["errors"][0]["loc"] == ["query", "cursor"]


async def test_every_cursor_of_the_documented_shape_is_a_position(
    client: Client, tokens: dict[Role, str]
) -> None:
    """Past the last item (even past the largest id an integer column holds): an empty page."""
    first = await _get(client, tokens[Role.MANAGER], "/api/v1/locations?limit=1")
    assert first["next_cursor"] is not None
    second = await _get(
        client, tokens[Role.MANAGER], f"/api/v1/locations?limit=1&cursor={first['next_cursor']}"
    )
    assert second["items"] != first["items"]
    for beyond in ("999999999", "2147483648", "999999999999999999"):
        for path in ("/api/v1/locations", "/api/v1/products", "/api/v1/movements"):
            page = await _get(client, tokens[Role.MANAGER], f"{path}?cursor={beyond}")
            assert page == {"items": [], "next_cursor": None}, (path, beyond)


async def test_stock_of_sku_has_the_pinned_shape(client: Client, tokens: dict[Role, str]) -> None:
    await _receive_some(client, tokens[Role.MANAGER])
    stock = await _get(client, tokens[Role.DISPLAY], "/api/v1/stock/WIDGET")
    pinned = {"sku", "on_hand", "reserved", "available", "on_order", "backordered", "locations"}
    assert pinned <= set(stock)
    assert (stock["sku"], stock["on_hand"], stock["reserved"], stock["available"]) == (
        "WIDGET",
        8,
        0,
        8,
    )
    assert (stock["on_order"], stock["backordered"]) == (0, 0)
    assert [
        {k: loc[k] for k in ("location", "lot", "on_hand", "reserved")}
        for loc in stock["locations"]
    ] == [
        {"location": "A-01", "lot": "", "on_hand": 5, "reserved": 0},
        {"location": "B-01", "lot": "L9", "on_hand": 3, "reserved": 0},
    ]
    missing = await client.get("/api/v1/stock/NOPE", headers=bearer(tokens[Role.DISPLAY]))
    assert missing.status == 404
    assert (await missing.json(content_type=None))["type"] == "/problems/unknown-product"


async def test_stock_list_filters(client: Client, tokens: dict[Role, str]) -> None:
    await _receive_some(client, tokens[Role.MANAGER])
    token = tokens[Role.DISPLAY]
    zone_b = await _get(client, token, "/api/v1/stock?zone=B")
    assert [(i["sku"], i["on_hand"]) for i in zone_b["items"]] == [("WIDGET", 3)]
    at_dock = await _get(client, token, "/api/v1/stock?location=DOCK-1")
    assert [i["sku"] for i in at_dock["items"]] == ["GADGET"]
    one = await _get(client, token, "/api/v1/stock?sku=GADGET")
    assert [i["sku"] for i in one["items"]] == ["GADGET"]
    low = await _get(client, token, "/api/v1/stock?below_reorder_point=true")
    # WIDGET 8 ≤ 10, GADGET 2 ≤ 5, BOLT/NUT 0 ≤ 100; SPROCKET 0 ≤ 0
    assert [i["sku"] for i in low["items"]] == ["WIDGET", "GADGET", "SPROCKET", "BOLT", "NUT"]
    assert all(i["below_reorder_point"] for i in low["items"])


async def test_stock_search_matches_sku_name_or_barcode(
    client: Client, tokens: dict[Role, str]
) -> None:
    token = tokens[Role.DISPLAY]

    async def found(q: str) -> list[str]:
        page = await _get(client, token, f"/api/v1/stock?q={q}")
        return [i["sku"] for i in page["items"]]

    assert await found("widg") == ["WIDGET"]  # part of a SKU, any case
    assert await found("m6") == ["BOLT", "NUT"]  # part of a name ("Bolt M6", "Nut M6")
    assert await found("4006381333931") == ["GADGET"]  # a GTIN-13, stored as 14 digits
    assert await found("96385074") == ["SPROCKET"]  # a GTIN-8
    assert await found("GAD-ALIAS") == ["GADGET"]  # an alias code, verbatim
    assert await found("no-such-thing") == []
    await _receive_some(client, tokens[Role.MANAGER])
    zone_b = await _get(client, token, "/api/v1/stock?q=widget&zone=B")
    assert [(i["sku"], i["on_hand"]) for i in zone_b["items"]] == [("WIDGET", 3)]
    bad = await client.get("/api/v1/stock?q=%01", headers=bearer(token))
    assert bad.status == 422


async def test_movement_items_have_the_pinned_shape_and_filters(
    client: Client, tokens: dict[Role, str]
) -> None:
    await _receive_some(client, tokens[Role.MANAGER])
    token = tokens[Role.MANAGER]
    page = await _get(client, token, "/api/v1/movements")
    assert len(page["items"]) == 5
    for item in page["items"]:
        assert set(item) >= MOVEMENT_KEYS
        assert item["kind"] in KINDS
    first = page["items"][0]
    assert {k: first[k] for k in MOVEMENT_KEYS - {"ts"}} == {
        "id": 1,
        "kind": "receive",
        "sku": "WIDGET",
        "location": "A-01",
        "lot": "",
        "delta": 7,
        "on_hand_after": 7,
        "scanner": None,
        "scan_seq": None,
        "actor": "api:test-manager",
    }
    picks = await _get(client, token, "/api/v1/movements?kind=pick")
    assert [i["id"] for i in picks["items"]] == [4]
    at_b = await _get(client, token, "/api/v1/movements?location=B-01&sku=WIDGET")
    assert [i["lot"] for i in at_b["items"]] == ["L9"]
    newest = await _get(client, token, "/api/v1/movements?order=desc&limit=2")
    assert [i["id"] for i in newest["items"]] == [5, 4]
    later = await _get(
        client, token, f"/api/v1/movements?order=desc&cursor={newest['next_cursor']}"
    )
    assert [i["id"] for i in later["items"]] == [3, 2, 1]
    ts = first["ts"].replace("+", "%2B")
    since = await _get(client, token, f"/api/v1/movements?from={ts}")
    assert since["items"][0]["id"] == 1
    until = await _get(client, token, f"/api/v1/movements?to={ts}")
    assert until["items"] == []
    assert await _get(client, token, "/api/v1/movements/3") == page["items"][2]


async def test_post_movement_answers_201_with_the_movement_and_both_rows_of_a_move(
    client: Client, tokens: dict[Role, str]
) -> None:
    token = tokens[Role.WORKER]
    status, received = await post_movement(
        client,
        token,
        "rx",
        {"kind": "receive", "sku": "WIDGET", "location": "A-01", "quantity": 4, "note": "manual"},
    )
    assert status == 201
    assert set(received) >= MOVEMENT_KEYS
    assert (received["kind"], received["delta"], received["note"]) == ("receive", 4, "manual")
    assert [m["id"] for m in received["movements"]] == [received["id"]]

    status, moved = await post_movement(
        client,
        token,
        "mv",
        {"kind": "move", "sku": "WIDGET", "location": "A-01", "to_location": "A-02", "quantity": 3},
    )
    assert status == 201
    assert [(m["kind"], m["location"], m["delta"]) for m in moved["movements"]] == [
        ("move_out", "A-01", -3),
        ("move_in", "A-02", 3),
    ]
    assert moved["id"] == moved["movements"][0]["id"]

    status, adjusted = await post_movement(
        client,
        token,
        "adj",
        {"kind": "adjust", "sku": "WIDGET", "location": "A-02", "quantity": -1},
    )
    assert (status, adjusted["kind"], adjusted["delta"], adjusted["on_hand_after"]) == (
        201,
        "adjust",
        -1,
        2,
    )

    status, refused = await post_movement(
        client, token, "pk", {"kind": "pick", "sku": "WIDGET", "location": "A-01", "quantity": 2}
    )
    assert status == 409
    assert refused["type"] == "/problems/insufficient-stock"
    assert refused["status"] == 409
    assert refused["available"] == 1


RECEIVE_ONE = {"kind": "receive", "sku": "WIDGET", "location": "A-01", "quantity": 1}


@pytest.mark.parametrize(
    ("change", "status", "problem"),
    [
        ({"sku": "NOPE"}, 404, "unknown-product"),
        ({"location": "Z-9"}, 404, "unknown-location"),
        ({"quantity": 0}, 422, "validation-error"),
        ({"kind": "adjust", "quantity": 0}, 422, "invalid-movement"),
        ({"kind": "move"}, 422, "validation-error"),
        ({"kind": "move", "to_location": "A-01"}, 422, "invalid-movement"),
        ({"kind": "count"}, 422, "validation-error"),
        ({"x": 1}, 422, "validation-error"),
    ],
)
async def test_bad_movements_are_refused_with_a_precise_problem(
    client: Client, tokens: dict[Role, str], change: dict[str, Any], status: int, problem: str
) -> None:
    """RECEIVE_ONE with ``change`` made to it is refused."""
    body = {**RECEIVE_ONE, **change}
    got_status, got = await post_movement(client, tokens[Role.WORKER], "bad", body)
    assert (got_status, got["type"]) == (status, f"/problems/{problem}")


async def test_stock_counts_open_purchase_orders_and_backorders(
    client: Client, tokens: dict[Role, str], service: StockService
) -> None:
    await _receive_some(client, tokens[Role.MANAGER])  # GADGET: 2 at DOCK-1
    await service.create_order("SO-1", [OrderLineRequest("GADGET", 5)])
    await service.create_purchase_order("PO-1", date(2030, 1, 1), [OrderLineRequest("GADGET", 10)])
    stock = await _get(client, tokens[Role.DISPLAY], "/api/v1/stock/GADGET")
    assert (stock["on_hand"], stock["reserved"], stock["available"]) == (2, 2, 0)
    assert (stock["on_order"], stock["backordered"]) == (10, 3)
