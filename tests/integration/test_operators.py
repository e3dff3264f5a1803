"""Operators on real PostgreSQL: kept (import, save), recorded on every movement by
either write path, filtered and reported (issue 17, who scanned)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Line
from stock_core.domain.movement import Move
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.errors import CatalogImportError
from stock_core.errors import UnknownOperatorError
from stock_core.model import MovementFilter
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import OperatorCode
from stock_core.types import Sku
from tests.integration.catalog_fixture import load_sample_catalog

_keys = itertools.count()
A1 = LocationCode("A-01")
A2 = LocationCode("A-02")
WIDGET = ProductRef(sku=Sku("WIDGET"))
ANN = OperatorCode("ann")
BOB = OperatorCode("bob")


def env(command: Receive | Move, operator: OperatorCode | None = None) -> Envelope:
    return Envelope(IdempotencyKey(f"op{next(_keys)}"), command, operator=operator)


@pytest.fixture
async def service(pool: Pool) -> StockService:
    svc = StockService(pool)
    await load_sample_catalog(svc)
    summary = await svc.import_operators(b"code,name\nann,Ann Smith\nbob,Bob Jones\n")
    assert (summary.created, summary.updated) == (2, 0)
    return svc


async def test_operators_are_kept_by_import_and_save(service: StockService) -> None:
    again = await service.import_operators(b"code,name\nann,Ann Smythe\ncid,Cid\n")
    assert (again.created, again.updated) == (1, 1)
    renamed, created = await service.save_operator("bob", "Robert Jones")
    assert (renamed.name, created) == ("Robert Jones", False)
    made, created = await service.save_operator("dee", "Dee")
    assert (made.code, created) == ("dee", True)
    listed = await service.list_operators()
    assert [(o.code, o.name) for o in listed] == [
        ("ann", "Ann Smythe"),
        ("bob", "Robert Jones"),
        ("cid", "Cid"),
        ("dee", "Dee"),
    ]
    assert [o.code for o in await service.list_operators(after="bob", limit=1)] == ["cid"]
    assert await service.find_operator("nobody") is None


async def test_a_bad_operators_file_loads_nothing(service: StockService) -> None:
    with pytest.raises(CatalogImportError) as caught:
        await service.import_operators(b"code,name\nzed,Zed\nbad code,X\n")
    assert [p.line for p in caught.value.problems] == [3]
    assert await service.find_operator("zed") is None


async def test_every_movement_records_its_operator_on_both_write_paths(
    service: StockService, pool: Pool
) -> None:
    # a plain receive goes set-wise; a move is posted on its own
    received = await service.post(env(Receive(WIDGET, A1, 10), ANN))
    moved = await service.post(env(Move(A1, A2, (Line(WIDGET, 4),)), BOB))
    plain = await service.post(env(Receive(WIDGET, A1, 1)))
    assert [m.operator for m in received.movements] == ["ann"]
    assert [m.operator for m in moved.movements] == ["bob", "bob"]
    assert [m.operator for m in plain.movements] == [None]
    rows = await pool.fetch("SELECT kind, operator FROM movements ORDER BY id")
    assert [(r["kind"], r["operator"]) for r in rows] == [
        ("receive", "ann"),
        ("move_out", "bob"),
        ("move_in", "bob"),
        ("receive", None),
    ]
    payloads = await pool.fetch(
        "SELECT payload::text AS p FROM outbox WHERE type = 'stock.changed' ORDER BY id"
    )
    assert [json.loads(r["p"])["operator"] for r in payloads] == ["ann", "bob", "bob", None]
    # a replay answers the first outcome, operator included
    replayed = await service.post(Envelope(received.key, Receive(WIDGET, A1, 10), operator=ANN))
    assert replayed.replayed
    assert replayed.movements[0].operator == "ann"


async def test_movements_filter_by_operator_and_the_report_counts_them(
    service: StockService,
) -> None:
    await service.post(env(Receive(WIDGET, A1, 10), ANN))
    await service.post(env(Receive(WIDGET, A1, 3), ANN))
    await service.post(env(Move(A1, A2, (Line(WIDGET, 4),)), BOB))
    await service.post(env(Receive(WIDGET, A1, 100)))
    anns = await service.list_movements(MovementFilter(operator="ann"))
    assert [m.delta for m in anns] == [10, 3]
    bobs = await service.list_movements(MovementFilter(operator="bob"))
    assert [m.kind for m in bobs] == ["move_out", "move_in"]
    now = datetime.now(UTC)
    report = await service.operator_report(now - timedelta(hours=1), now + timedelta(hours=1))
    assert [(r.operator, r.name, r.movements, r.units) for r in report] == [
        ("ann", "Ann Smith", 2, 13),
        ("bob", "Bob Jones", 1, 4),  # a move counts once
    ]
    earlier = await service.operator_report(now - timedelta(days=3), now - timedelta(days=2))
    assert earlier == []


async def test_an_api_write_naming_an_unknown_operator_is_refused_and_changes_nothing(
    service: StockService, pool: Pool
) -> None:
    with pytest.raises(UnknownOperatorError) as caught:
        await service.post(env(Receive(WIDGET, A1, 5), OperatorCode("nobody")))
    assert (caught.value.http_status, caught.value.problem_type) == (422, "unknown-operator")
    assert await pool.fetchval("SELECT count(*) FROM movements") == 0
