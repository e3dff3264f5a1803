"""End to end: sixteen simulated scanners, one gateway, real PostgreSQL.

Every scanner plays a script concurrently with the others, waiting for each answer
as a worker waits for the beep. Each step states the answer it must get and the
ledger rows it must write, so the test checks, per scanner, exactly one ledger
command per accepted posting scan and none for anything else, and the final stock
against the initial stock plus every expected delta.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hardware_mocks.frames import DATALOGIC
from hardware_mocks.frames import GENERIC_BEL
from hardware_mocks.frames import HONEYWELL
from hardware_mocks.frames import ZEBRA
from hardware_mocks.frames import ScannerModel
from hardware_mocks.frames import gs1_element_string
from scanner_gateway.gateway import Gateway
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from tests.gateway_harness import Answer
from tests.gateway_harness import Rig
from tests.gateway_harness import Transport
from tests.gateway_harness import all_connected
from tests.gateway_harness import invariants_hold
from tests.gateway_harness import ledger_rows
from tests.gateway_harness import open_rig
from tests.gateway_harness import outbox_payloads
from tests.gateway_harness import stock_rows
from tests.timing import UNIT

WIDGET = "05012345678900"
WIDGET_EAN = "5012345678900"
WIDGET_CASE = "15012345678907"  # 12 units
GADGET = "4006381333931"
SPROCKET = "96385074"
NUT_UPCA = "012345678905"

# Models beyond the four presets: other suffixes and custom feedback bytes.
DATALOGIC_TAB = dataclasses.replace(DATALOGIC, name="datalogic-tab", terminator=b"\t")
HONEYWELL_NO_SUFFIX = dataclasses.replace(HONEYWELL, name="honeywell-no-suffix", terminator=b"")
CUSTOM_FEEDBACK = dataclasses.replace(
    GENERIC_BEL, name="custom", ack=b"\x06OK", nak=b"\x15NO", feedback="custom"
)

EXTRA_LOCATIONS = b"""code,zone,name,gln
CNT-1,C,count 1,
CNT-2,C,count 2,
CNT-3,C,count 3,
MV-1,M,move source 1,
MV-2,M,move source 2,
MV-3,M,move source 3,
MV-3D,M,move target 3,
UNDO-1,U,undo,
REJ-1,R,rejects,
"""

INITIAL_STOCK: dict[tuple[str, str], int] = {
    ("WIDGET", "A-01"): 500,
    ("GADGET", "A-01"): 200,
    ("WIDGET", "CNT-1"): 50,
    ("GADGET", "CNT-1"): 5,
    ("WIDGET", "CNT-2"): 7,
    ("WIDGET", "MV-1"): 10,
    ("GADGET", "MV-1"): 10,
    ("WIDGET", "MV-2"): 9,
    ("WIDGET", "MV-3"): 20,
    ("GADGET", "REJ-1"): 3,
}

Row = tuple[str, str, str, int]
"""(kind, sku, location, delta) of one ledger row."""


@dataclass(frozen=True)
class Step:
    text: str
    answer: Answer = "ack"
    rows: tuple[Row, ...] = ()
    """Ledger rows this scan writes; non-empty means it is one ledger command."""
    reason: str | None = None
    """For a nak: a fragment of the reason its ``scan.rejected`` event must give."""
    aim: str | None = None


def ok(text: str, *rows: Row, aim: str | None = None) -> Step:
    return Step(text, "ack", rows, aim=aim)


def nak(text: str, reason: str, aim: str | None = None) -> Step:
    return Step(text, "nak", reason=reason, aim=aim)


@dataclass(frozen=True)
class Plan:
    """One simulated scanner of the run: how it is reached, its model, the steps it
    scans and any config fields of its own."""

    id: str
    transport: Transport
    model: ScannerModel
    steps: tuple[Step, ...]
    config: tuple[tuple[str, Any], ...] = ()


def _plans() -> list[Plan]:
    lot_scan = gs1_element_string([("01", WIDGET), ("10", "R1-A")])
    gln_b01 = gs1_element_string([("414", "4012345000009")])
    return [
        # receivers, four of them at the shared DOCK-1 / B-01
        Plan(
            "r1",
            "pty",
            HONEYWELL,
            (
                ok(WIDGET, ("receive", "WIDGET", "DOCK-1", 1)),
                ok("QTY:5"),
                ok(GADGET, ("receive", "GADGET", "DOCK-1", 5)),
                ok(WIDGET_CASE, ("receive", "WIDGET", "DOCK-1", 12)),
                ok(lot_scan, ("receive", "WIDGET", "DOCK-1", 1), aim="]C1"),
                ok(SPROCKET, ("receive", "SPROCKET", "DOCK-1", 1)),
            ),
            (("location", "DOCK-1"),),
        ),
        Plan(
            "r2",
            "tcp",
            DATALOGIC,
            (
                ok("LOC:DOCK-1"),
                ok(WIDGET_EAN, ("receive", "WIDGET", "DOCK-1", 1)),
                ok("GAD-ALIAS", ("receive", "GADGET", "DOCK-1", 1)),
                ok("SKU:BOLT", ("receive", "BOLT", "DOCK-1", 1)),
                ok("QTY:3"),
                ok(NUT_UPCA, ("receive", "NUT", "DOCK-1", 3)),
            ),
        ),
        Plan(
            "r3",
            "pty",
            ZEBRA,  # silent ack, BEL nak
            (
                *[ok(GADGET, ("receive", "GADGET", "DOCK-1", 1)) for _ in range(20)],
                nak("4006381333932", "check digit"),
            ),
            (("location", "DOCK-1"),),
        ),
        Plan(
            "r4",
            "tcp",
            HONEYWELL,
            (
                ok(gln_b01, aim="]C1"),
                ok("QTY:10"),
                ok(WIDGET, ("receive", "WIDGET", "B-01", 10)),
                ok(GADGET, ("receive", "GADGET", "B-01", 1)),
            ),
            (("terminator", "auto"),),
        ),
        # pickers at the shared A-01
        Plan(
            "p1",
            "pty",
            GENERIC_BEL,
            (
                *[ok(WIDGET, ("pick", "WIDGET", "A-01", -1)) for _ in range(20)],
                ok("QTY:2"),
                ok(GADGET, ("pick", "GADGET", "A-01", -2)),
                nak(SPROCKET, "only 0 of SPROCKET available at A-01"),
            ),
            (("mode", "pick"), ("location", "A-01")),
        ),
        Plan(
            "p2",
            "tcp",
            DATALOGIC_TAB,
            (
                ok("CMD:PICK"),
                nak("LOC:ZZZ", "unknown location ZZZ"),
                ok("LOC:A-01"),
                ok(WIDGET_CASE, ("pick", "WIDGET", "A-01", -12)),
                ok("QTY:7"),
                ok(WIDGET_EAN, ("pick", "WIDGET", "A-01", -7)),
            ),
        ),
        Plan(
            "p3",
            "pty",
            HONEYWELL_NO_SUFFIX,  # frames end by the idle gap alone
            (
                ok("CMD:PICK"),
                ok("LOC:A-01"),
                ok(GADGET, ("pick", "GADGET", "A-01", -1)),
                nak("CMD:FLY", "unknown command"),
                ok(WIDGET, ("pick", "WIDGET", "A-01", -1)),
            ),
            (("idle_gap_ms", 40.0),),
        ),
        Plan(
            "p4",
            "tcp",
            CUSTOM_FEEDBACK,
            (
                ok("CMD:PICK"),
                ok("LOC:A-01"),
                nak("QTY:0", "quantity must be 1 to 100000"),
                ok("QTY:3"),
                ok(GADGET, ("pick", "GADGET", "A-01", -3)),
                ok("CMD:RECEIVE"),
                ok(WIDGET, ("receive", "WIDGET", "A-01", 1)),
            ),
        ),
        # counters, each at its own location
        Plan(
            "c1",
            "pty",
            HONEYWELL,
            (
                ok("CMD:COUNT"),
                ok("LOC:CNT-1"),
                ok(WIDGET),
                ok(WIDGET),
                ok(WIDGET),
                ok(WIDGET_CASE),
                ok(GADGET),
                ok(
                    "CMD:DONE",
                    ("count", "WIDGET", "CNT-1", 15 - 50),
                    ("count", "GADGET", "CNT-1", 1 - 5),
                ),
            ),
        ),
        Plan(
            "c2",
            "tcp",
            ZEBRA,
            (
                ok("CMD:COUNT"),
                ok("LOC:CNT-2"),
                ok("QTY:4"),
                ok(WIDGET),
                ok("CMD:DONE", ("count", "WIDGET", "CNT-2", 4 - 7)),
                nak("CMD:DONE", "nothing counted"),
            ),
        ),
        Plan(
            "c3",
            "pty",
            DATALOGIC,
            (
                ok("CMD:COUNT"),
                ok("LOC:CNT-3"),
                ok(SPROCKET),
                ok(SPROCKET),
                ok("CMD:DONE", ("count", "SPROCKET", "CNT-3", 2)),
            ),
        ),
        # movers, from their own sources to the shared A-02 (or their own target)
        Plan(
            "m1",
            "pty",
            HONEYWELL,
            (
                ok("CMD:MOVE"),
                ok("LOC:MV-1"),
                ok(WIDGET),
                ok(WIDGET),
                ok(GADGET),
                ok(
                    "LOC:A-02",
                    ("move_out", "WIDGET", "MV-1", -2),
                    ("move_in", "WIDGET", "A-02", 2),
                    ("move_out", "GADGET", "MV-1", -1),
                    ("move_in", "GADGET", "A-02", 1),
                ),
                ok(
                    "CMD:UNDO",
                    ("undo", "WIDGET", "MV-1", 2),
                    ("undo", "WIDGET", "A-02", -2),
                    ("undo", "GADGET", "MV-1", 1),
                    ("undo", "GADGET", "A-02", -1),
                ),
            ),
        ),
        Plan(
            "m2",
            "tcp",
            GENERIC_BEL,
            (
                ok("CMD:MOVE"),
                ok("LOC:MV-2"),
                ok("QTY:4"),
                ok(WIDGET),
                nak("LOC:MV-2", "destination is the source"),
                ok(
                    "LOC:A-02",
                    ("move_out", "WIDGET", "MV-2", -4),
                    ("move_in", "WIDGET", "A-02", 4),
                ),
                ok("CMD:DONE"),
            ),
        ),
        Plan(
            "m3",
            "pty",
            ZEBRA,
            (
                ok("CMD:MOVE"),
                ok("LOC:MV-3"),
                ok(WIDGET_CASE),
                ok(
                    "LOC:MV-3D",
                    ("move_out", "WIDGET", "MV-3", -12),
                    ("move_in", "WIDGET", "MV-3D", 12),
                ),
            ),
        ),
        # undo, and a scanner that gets everything wrong
        Plan(
            "u1",
            "tcp",
            HONEYWELL,
            (
                ok("QTY:7"),
                ok(WIDGET, ("receive", "WIDGET", "UNDO-1", 7)),
                ok("CMD:UNDO", ("undo", "WIDGET", "UNDO-1", -7)),
                ok(WIDGET_CASE, ("receive", "WIDGET", "UNDO-1", 12)),
                ok("CMD:UNDO", ("undo", "WIDGET", "UNDO-1", -12)),
                nak("CMD:UNDO", "nothing left to undo"),
            ),
            (("location", "UNDO-1"),),
        ),
        Plan(
            "x1",
            "pty",
            HONEYWELL,
            (
                nak("9999999999994", "unknown product"),
                nak("05012345678901", "check digit"),
                ok("QTY:4"),
                nak(GADGET, "only 3 of GADGET available"),
                *[ok(GADGET, ("pick", "GADGET", "REJ-1", -1)) for _ in range(3)],
                nak(GADGET, "only 0 of GADGET available"),
                nak("LOC:NOWHERE", "unknown location NOWHERE"),
                nak("NOSUCH-CODE", "unknown product NOSUCH-CODE"),
            ),
            (("mode", "pick"), ("location", "REJ-1")),
        ),
    ]


@pytest.fixture
async def service(service: StockService) -> StockService:
    """The sample catalog, more locations, and the stock the plans start from."""
    svc = service
    await svc.import_locations(EXTRA_LOCATIONS)
    for n, ((sku, location), quantity) in enumerate(INITIAL_STOCK.items()):
        command = Receive(ProductRef(sku=Sku(sku)), LocationCode(location), quantity)
        await svc.post(Envelope(IdempotencyKey(f"setup:{n}"), command))
    return svc


@pytest.fixture
def plans() -> list[Plan]:
    plans = _plans()
    assert len(plans) == 16
    return plans


@pytest.fixture
async def rigs(plans: list[Plan], tmp_path: Path) -> AsyncIterator[dict[str, Rig]]:
    opened: dict[str, Rig] = {}
    try:
        for plan in plans:
            opened[plan.id] = await open_rig(
                plan.id, plan.transport, plan.model, tmp_path, **dict(plan.config)
            )
        yield opened
    finally:
        for rig in opened.values():
            await rig.close()


async def _run_script(rig: Rig, plan: Plan) -> list[Answer | None]:
    return [await rig.scan(step.text, aim=step.aim) for step in plan.steps]


def _groups(rows: list[dict[str, Any]]) -> list[list[Row]]:
    """Ledger rows grouped by idempotency key, in commit order, each group sorted."""
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r["idempotency_key"], []).append(
            (r["kind"], r["sku"], r["location"], r["delta"])
        )
    return [sorted(g) for g in groups.values()]


@pytest.mark.parametrize("group_commit", [True, False], ids=["group-commit", "one-by-one"])
async def test_sixteen_scanners_give_exact_stock_and_one_ledger_command_per_accepted_scan(
    service: StockService,
    pool: Pool,
    rigs: dict[str, Rig],
    plans: list[Plan],
    tmp_path: Path,
    group_commit: bool,
) -> None:
    assert Counter(r.transport for r in rigs.values()) == {"pty": 9, "tcp": 7}
    gateway = Gateway(
        service,
        [r.config for r in rigs.values()],
        tmp_path / "spool",
        name="e2e",
        group_commit=group_commit,
    )
    await gateway.start()
    try:
        for rig in rigs.values():
            rig.gateway = gateway
        await all_connected(gateway)
        async with asyncio.timeout(30 * UNIT):
            answers = await asyncio.gather(*(_run_script(rigs[p.id], p) for p in plans))
        await gateway.events.flush()
    finally:
        await gateway.stop()

    # every scan got the answer its script expects
    for plan, got in zip(plans, answers, strict=True):
        assert got == [s.answer for s in plan.steps], plan.id

    # the model's nak bytes reached each scanner once per refused scan, its ack bytes
    # (if it has any) once per accepted one, and no other byte did
    for plan in plans:
        heard = rigs[plan.id].target.feedback
        naks = sum(s.answer == "nak" for s in plan.steps)
        acks = len(plan.steps) - naks if plan.model.ack else 0
        assert (heard.acks, heard.naks, heard.other) == (acks, naks, 0), plan.id

    # one ledger command per accepted posting scan, with exactly the expected rows
    posted = 0
    for plan in plans:
        rows = await ledger_rows(pool, plan.id)
        expected = [sorted(s.rows) for s in plan.steps if s.rows]
        assert _groups(rows) == expected, plan.id
        assert all(r["idempotency_key"].startswith(f"{plan.id}:") for r in rows)
        seqs = [r["scan_seq"] for r in rows]
        assert seqs == sorted(seqs), f"{plan.id}: scan_seq out of commit order"
        counters = gateway.runtimes[plan.id].counters
        assert counters.committed == len(expected), plan.id
        posted += counters.committed
    assert sum(c.spooled for c in (r.counters for r in gateway.runtimes.values())) == 0

    # final stock = initial + every expected delta, nothing else
    expected_stock = Counter(INITIAL_STOCK)
    for plan in plans:
        for step in plan.steps:
            for _, sku, location, delta in step.rows:
                expected_stock[(sku, location)] += delta
    assert await stock_rows(pool) == {k: v for k, v in expected_stock.items() if v}

    # each refusal is announced, naming scanner, code and reason
    rejected = await outbox_payloads(pool, "scan.rejected")
    for plan in plans:
        announced = [e for e in rejected if e["scanner"] == plan.id]
        refused = [s for s in plan.steps if s.answer == "nak"]
        assert len(announced) == len(refused), plan.id
        for step, event in zip(refused, announced, strict=True):
            assert step.text in event["code"].replace("<GS>", "\x1d"), (plan.id, event)
            assert step.reason is not None
            assert step.reason in event["reason"], (plan.id, event)

    # store refusals are remembered under their idempotency key; session ones are not
    refused_keys = await pool.fetch(
        "SELECT split_part(key, ':', 1) AS scanner, count(*) FROM idempotency_keys"
        " WHERE rejection IS NOT NULL GROUP BY 1"
    )
    # x1: unknown product twice, too few twice; p1: too few; u1: nothing to undo
    assert {r["scanner"]: r["count"] for r in refused_keys} == {"x1": 4, "p1": 1, "u1": 1}
    envelopes = posted + 6
    if group_commit:  # some transactions carried scans from several scanners
        assert 0 < gateway.committer.batches < envelopes
    else:  # one transaction per scan
        assert gateway.committer.batches == envelopes

    await invariants_hold(service)
