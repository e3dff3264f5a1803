"""Every route family against every role: 401 without a (valid) token, 403 below the
route's role, and a refused call changes nothing in the database."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from typing import Any

import pytest

from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.token import Role
from stock_core.errors import InsufficientStockError
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from tests.functional.api.conftest import post_movement
from tests.functional.api.conftest import snapshot
from web_ui.api import FAMILIES
from web_ui.api.route import Route

BODIES: dict[str, dict[str, Any]] = {
    "create_product": {"sku": "NEW-1", "name": "New", "barcodes": [{"code": "ALIAS-NEW"}]},
    "update_product": {"reorder_point": 99},
    "create_location": {"code": "C-01", "zone": "C"},
    "post_movement": {"kind": "receive", "sku": "WIDGET", "location": "A-01", "quantity": 3},
    "resolve_spool_exception": {"resolution": "recounted"},
    "create_token": {"name": "intruder", "role": "admin"},
}
PATH_VALUES = {"sku": "WIDGET", "code": "A-01", "id": "1", "name": "conflict"}


def _concrete(path: str) -> str:
    """The route's path with real values (``1`` for parameters of families added later)."""
    return re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: PATH_VALUES.get(m[1], "1"), path)


async def _call(client: Client, route: Route, headers: dict[str, str]) -> int:
    body = BODIES.get(route.operation_id)
    extra = {"Idempotency-Key": "roles-1"} if route.headers else {}
    response = await client.request(
        route.method, _concrete(route.path), json=body, headers={**headers, **extra}
    )
    if response.status >= 400:
        assert response.content_type == "application/problem+json"
    await response.read()
    return response.status


@pytest.fixture
async def world(client: Client, service: StockService, tokens: dict[Role, str]) -> None:
    """Something for every route to act on: stock, an alert, a spool exception, a token."""
    status, _ = await post_movement(
        client, tokens[Role.WORKER], "seed-1", BODIES["post_movement"] | {"quantity": 12}
    )
    assert status == 201
    status, _ = await post_movement(
        client,
        tokens[Role.WORKER],
        "seed-2",
        {"kind": "pick", "sku": "WIDGET", "location": "A-01", "quantity": 4},
    )
    assert status == 201  # 8 left, reorder point 10: a low_stock alert (id 1)
    envelope = Envelope(
        IdempotencyKey("dock-1:7"),
        Pick(ProductRef(sku=Sku("GADGET")), LocationCode("A-01"), 1),
        scanner=None,
    )
    rejection = InsufficientStockError("GADGET", "A-01", 1, 0)
    await service.record_spool_exceptions([(envelope, rejection, datetime.now(UTC))])


FAMILY_IDS = [family[0].tag for family in FAMILIES]


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
@pytest.mark.usefixtures("world")
async def test_each_role_is_refused_below_the_routes_role_and_nothing_changes(
    client: Client, tokens: dict[Role, str], pool: Pool, family: tuple[Route, ...]
) -> None:
    for route in family:
        if route.role is None:
            continue
        before = await snapshot(pool)
        assert await _call(client, route, {}) == 401, route.path
        assert await _call(client, route, bearer("stk_aaaaaaaa_" + "x" * 43)) == 401
        assert await _call(client, route, {"Authorization": "Basic abc"}) == 401
        for role in Role:
            if not role.allows(route.role):
                assert await _call(client, route, bearer(tokens[role])) == 403, (route, role)
        assert await snapshot(pool) == before, f"{route.method} {route.path} changed something"
        allowed = await _call(client, route, bearer(tokens[route.role]))
        assert allowed not in (401, 403), (route.path, allowed)


async def test_open_routes_need_no_token(client: Client) -> None:
    for route in FAMILIES[0]:
        assert route.role is None
        response = await client.get(_concrete(route.path))
        assert response.status == 200, route.path


def test_every_api_route_declares_a_role() -> None:
    for family in FAMILIES[1:]:
        for route in family:
            assert route.role is not None, route.path
