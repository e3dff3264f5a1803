"""Random movement sequences against real PostgreSQL, checked against a model in Python.

Each Hypothesis example gets fresh, uniquely named products, locations and scanners in
one database per test function, posts a random sequence (receive, pick, adjust, count,
move, undo by movement id or by scanner, replays of earlier keys, group commits), and
checks after every step that:

* the store accepts exactly what the model accepts, with the same rows and balances;
* stock (on-hand and expiry per product, location and lot) equals the model;
* nothing is ever negative and ``StockService.verify()`` holds (ledger sums = on-hand);
* undoing a command right after it restores the stock from before it;
* replaying a key changes nothing and answers the first result.

The tests are sync: Hypothesis drives examples, each one ``asyncio.run``s its own
pool (function-scoped async fixtures and ``@given`` do not mix).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck
from hypothesis import event
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from stock_core.domain.movement import Adjust
from stock_core.domain.movement import Command
from stock_core.domain.movement import Count
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Line
from stock_core.domain.movement import Move
from stock_core.domain.movement import MovementKind
from stock_core.domain.movement import MovementOutcome
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.movement import Undo
from stock_core.errors import InsufficientStockError
from stock_core.errors import InvalidMovementError
from stock_core.errors import NothingToUndoError
from stock_core.errors import StockRejection
from stock_core.service import StockService
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import MovementId
from stock_core.types import ScannerId
from stock_core.types import Sku
from tests.pg import PgCluster

PRODUCTS = 3
LOCATIONS = 3
SCANNERS = 2
LOTS: tuple[str | None, ...] = (None, "L1", "L2")
EXPIRIES: tuple[date | None, ...] = (None, date(2030, 1, 1), date(2030, 6, 1), date(2031, 1, 1))

# -- the abstract operations Hypothesis draws ------------------------------------------


@dataclass(frozen=True)
class Ref:
    product: int
    case: bool  # by the case barcode (pack size units per scan) rather than by SKU


@dataclass(frozen=True)
class LineOp:
    ref: Ref
    quantity: int
    lot: str | None


@dataclass(frozen=True)
class ReceiveOp:
    ref: Ref
    location: int
    quantity: int
    lot: str | None
    expiry: date | None


@dataclass(frozen=True)
class PickOp:
    ref: Ref
    location: int
    quantity: int
    lot: str | None


@dataclass(frozen=True)
class AdjustOp:
    ref: Ref
    location: int
    delta: int
    lot: str | None


@dataclass(frozen=True)
class CountOp:
    location: int
    lines: tuple[LineOp, ...]


@dataclass(frozen=True)
class MoveOp:
    source: int
    target: int
    lines: tuple[LineOp, ...]


@dataclass(frozen=True)
class UndoIdOp:
    index: int  # which earlier accepted command (modulo how many there are)


@dataclass(frozen=True)
class UndoScannerOp:
    scanner: int


@dataclass(frozen=True)
class ReplayOp:
    index: int  # which earlier envelope to post again


Op = ReceiveOp | PickOp | AdjustOp | CountOp | MoveOp | UndoIdOp | UndoScannerOp | ReplayOp


@dataclass(frozen=True)
class Step:
    ops: tuple[tuple[Op, int | None], ...]  # (operation, scanner index)
    how: str  # "post", "batch" or "then_undo"


_refs = st.builds(Ref, st.integers(0, PRODUCTS - 1), st.booleans())
_locations = st.integers(0, LOCATIONS - 1)
_lots = st.sampled_from(LOTS)
_line_ops = st.builds(LineOp, _refs, st.integers(1, 8), _lots)


@st.composite
def _moves(draw: st.DrawFn) -> MoveOp:
    source = draw(_locations)
    target = (source + draw(st.integers(1, LOCATIONS - 1))) % LOCATIONS
    return MoveOp(source, target, tuple(draw(st.lists(_line_ops, min_size=1, max_size=2))))


_movement_ops: st.SearchStrategy[Op] = st.one_of(
    st.builds(ReceiveOp, _refs, _locations, st.integers(1, 8), _lots, st.sampled_from(EXPIRIES)),
    st.builds(ReceiveOp, _refs, _locations, st.integers(1, 8), _lots, st.sampled_from(EXPIRIES)),
    st.builds(PickOp, _refs, _locations, st.integers(1, 6), _lots),
    st.builds(
        AdjustOp,
        _refs,
        _locations,
        st.integers(1, 10) | st.integers(-10, -1),
        _lots,
    ),
    st.builds(
        CountOp,
        _locations,
        st.lists(st.builds(LineOp, _refs, st.integers(0, 15), _lots), min_size=1, max_size=3).map(
            tuple
        ),
    ),
    _moves(),
)
_any_ops: st.SearchStrategy[Op] = st.one_of(
    _movement_ops,
    st.builds(UndoIdOp, st.integers(0, 1000)),
    st.builds(UndoScannerOp, st.integers(0, SCANNERS - 1)),
    st.builds(ReplayOp, st.integers(0, 1000)),
)
_scanner = st.none() | st.integers(0, SCANNERS - 1)
_steps = st.one_of(
    st.builds(Step, st.tuples(st.tuples(_any_ops, _scanner)), st.just("post")),
    st.builds(
        Step,
        st.lists(st.tuples(_any_ops, _scanner), min_size=2, max_size=4).map(tuple),
        st.just("batch"),
    ),
    st.builds(Step, st.tuples(st.tuples(_movement_ops, _scanner)), st.just("then_undo")),
)
_packs = st.lists(st.integers(2, 12), min_size=PRODUCTS, max_size=PRODUCTS).map(tuple)


# -- the model ----------------------------------------------------------------------

Key = tuple[int, int, str]  # product, location, lot ("" for none)


@dataclass
class StockRow:
    on_hand: int
    expiry: date | None


@dataclass
class RowPlan:
    """One ledger row the model expects: where, how much, and the balance after."""

    key: Key
    expiry: date | None
    delta: int
    on_hand_after: int
    kind: MovementKind


@dataclass
class Accepted:
    """A command the store took: its rows (with their database ids) and who posted it."""

    envelope: Envelope
    rows: list[RowPlan]
    scanner: int | None
    is_undo: bool
    ids: list[int] = field(default_factory=list)
    reversed: bool = False


class Refused(Exception):
    def __init__(self, error: type[StockRejection]) -> None:
        super().__init__(error.__name__)
        self.error = error


class Model:
    """What stock must be after each command, by the rules in SPEC and ``movement.py``."""

    def __init__(self, packs: tuple[int, ...]) -> None:
        self.packs = packs
        self.rows: dict[Key, StockRow] = {}
        self.accepted: list[Accepted] = []

    # Every command is planned on a copy and committed only when it is accepted.
    def _increment(self, rows: dict[Key, StockRow], key: Key, n: int, expiry: date | None) -> int:
        row = rows.get(key)
        if row is None:
            row = rows[key] = StockRow(0, expiry)
        elif row.expiry is None:
            row.expiry = expiry
        row.on_hand += n
        return row.on_hand

    def _decrement(self, rows: dict[Key, StockRow], key: Key, n: int) -> int:
        row = rows.get(key)
        if row is None or row.on_hand < n:
            raise Refused(InsufficientStockError)
        row.on_hand -= n
        return row.on_hand

    def _units(self, ref: Ref, quantity: int) -> int:
        return quantity * (self.packs[ref.product] if ref.case else 1)

    def _fefo(
        self, rows: dict[Key, StockRow], product: int, location: int, units: int
    ) -> list[tuple[str, date | None, int]]:
        lots = sorted(
            (
                (row.expiry is None, row.expiry or date.min, key[2], row)
                for key, row in rows.items()
                if key[:2] == (product, location) and row.on_hand > 0
            ),
            key=lambda t: t[:3],
        )
        if sum(t[3].on_hand for t in lots) < units:
            raise Refused(InsufficientStockError)
        plan = []
        for _, _, lot, row in lots:
            take = min(row.on_hand, units)
            if take:
                plan.append((lot, row.expiry, take))
                units -= take
        return plan

    def plan(
        self, op: Op, scanner: int | None
    ) -> tuple[dict[Key, StockRow], list[RowPlan], Accepted | None]:
        """The stock after ``op`` and its rows; raises :class:`Refused`."""
        rows = {k: StockRow(r.on_hand, r.expiry) for k, r in self.rows.items()}
        out: list[RowPlan] = []

        def row(kind: MovementKind, key: Key, expiry: date | None, delta: int, after: int) -> None:
            out.append(RowPlan(key, expiry, delta, after, kind))

        target: Accepted | None = None
        match op:
            case ReceiveOp():
                key = (op.ref.product, op.location, op.lot or "")
                units = self._units(op.ref, op.quantity)
                after = self._increment(rows, key, units, op.expiry)
                row(MovementKind.RECEIVE, key, op.expiry, units, after)
            case PickOp():
                units = self._units(op.ref, op.quantity)
                if op.lot is not None:
                    key = (op.ref.product, op.location, op.lot)
                    row(MovementKind.PICK, key, None, -units, self._decrement(rows, key, units))
                else:
                    for lot, expiry, n in self._fefo(rows, op.ref.product, op.location, units):
                        key = (op.ref.product, op.location, lot)
                        row(MovementKind.PICK, key, expiry, -n, self._decrement(rows, key, n))
            case AdjustOp():
                key = (op.ref.product, op.location, op.lot or "")
                if op.delta > 0:
                    after = self._increment(rows, key, op.delta, None)
                else:
                    after = self._decrement(rows, key, -op.delta)
                row(MovementKind.ADJUST, key, None, op.delta, after)
            case CountOp():
                totals: dict[tuple[int, str], int] = {}
                for line in op.lines:
                    lot_key = (line.ref.product, line.lot or "")
                    totals[lot_key] = totals.get(lot_key, 0) + self._units(line.ref, line.quantity)
                # The location as a whole: named lots are set; units counted without a
                # lot stand for every other row (surplus to the blank lot, shortfall
                # off the others first-expiry-first).
                products = list(dict.fromkeys(product for product, _ in totals))
                for product in products:
                    named = {lot: n for (p, lot), n in totals.items() if p == product}

                    def put(lot: str, units: int, product: int = product) -> None:
                        key = (product, op.location, lot)
                        before = rows[key].on_hand if key in rows else 0
                        if key in rows:
                            rows[key].on_hand = units
                        else:
                            rows[key] = StockRow(units, None)
                        row(MovementKind.COUNT, key, None, units - before, units)

                    for lot, units in named.items():
                        if lot:
                            put(lot, units)
                    others = [
                        (r.expiry is None, r.expiry or date.min, k[2], r)
                        for k, r in rows.items()
                        if k[:2] == (product, op.location)
                        and (k[2] == "" or k[2] not in named)
                        and r.on_hand > 0
                    ]
                    held = sum(t[3].on_hand for t in others)
                    blank = named.get("", 0)
                    if blank >= held:
                        if "" in named or blank > held:
                            key = (product, op.location, "")
                            put("", (rows[key].on_hand if key in rows else 0) + blank - held)
                        continue
                    short = held - blank
                    for _, _, lot, stock_row in sorted(others, key=lambda t: t[:3]):
                        take = min(short, stock_row.on_hand)
                        if take:
                            put(lot, stock_row.on_hand - take)
                            short -= take
            case MoveOp():
                for line in op.lines:
                    units = self._units(line.ref, line.quantity)
                    product = line.ref.product
                    parts: list[tuple[str, date | None, int, int]] = []
                    if line.lot is not None:
                        source = (product, op.source, line.lot)
                        after = self._decrement(rows, source, units)
                        # the lot keeps its expiry where it goes, as a FEFO-chosen one does
                        parts.append((line.lot, rows[source].expiry, units, after))
                    else:
                        for lot, expiry, n in self._fefo(rows, product, op.source, units):
                            after = self._decrement(rows, (product, op.source, lot), n)
                            parts.append((lot, expiry, n, after))
                    for lot, expiry, n, out_after in parts:
                        row(MovementKind.MOVE_OUT, (product, op.source, lot), expiry, -n, out_after)
                        key = (product, op.target, lot)
                        row(
                            MovementKind.MOVE_IN,
                            key,
                            expiry,
                            n,
                            self._increment(rows, key, n, expiry),
                        )
            case UndoIdOp() | UndoScannerOp():
                target = self._undo_target(op)
                if target.is_undo:
                    raise Refused(InvalidMovementError)
                if target.reversed:
                    raise Refused(NothingToUndoError)
                for original in reversed(target.rows):
                    delta = -original.delta
                    if delta > 0:
                        after = self._increment(rows, original.key, delta, original.expiry)
                    elif delta < 0:
                        after = self._decrement(rows, original.key, -delta)
                    else:
                        after = rows[original.key].on_hand
                    row(MovementKind.UNDO, original.key, original.expiry, delta, after)
            case ReplayOp():  # pragma: no cover - replays never reach the model
                raise AssertionError("replays are checked against the first outcome")
        return rows, out, target

    def undoable_by_id(self) -> list[Accepted]:
        """Commands whose ledger ids are known (posted in an earlier step)."""
        return [a for a in self.accepted if a.ids]

    def _undo_target(self, op: UndoIdOp | UndoScannerOp) -> Accepted:
        if isinstance(op, UndoIdOp):
            posted = self.undoable_by_id()
            return posted[op.index % len(posted)]
        mine = [
            a for a in self.accepted if a.scanner == op.scanner and not a.is_undo and not a.reversed
        ]
        if not mine:
            raise Refused(NothingToUndoError)
        return mine[-1]


# -- running one example ------------------------------------------------------------


@dataclass
class World:
    """Names for one example: fresh products, locations and scanners."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    def sku(self, product: int) -> Sku:
        return Sku(f"P{self.tag}-{product}")

    def case_code(self, product: int) -> str:
        return f"C{self.tag}-{product}"

    def location(self, location: int) -> LocationCode:
        return LocationCode(f"L{self.tag}-{location}")

    def scanner(self, scanner: int | None) -> ScannerId | None:
        return None if scanner is None else ScannerId(f"S{self.tag}-{scanner}")

    def ref(self, ref: Ref) -> ProductRef:
        return (
            ProductRef(barcode=self.case_code(ref.product))
            if ref.case
            else ProductRef(sku=self.sku(ref.product))
        )

    def line(self, line: LineOp) -> Line:
        return Line(self.ref(line.ref), line.quantity, lot=line.lot)

    def product_index(self, sku: str) -> int:
        return int(sku.rsplit("-", 1)[1])

    def location_index(self, code: str) -> int:
        return int(code.rsplit("-", 1)[1])


class Runner:
    def __init__(
        self, service: StockService, pool: asyncpg.Pool[Any], packs: tuple[int, ...]
    ) -> None:
        self.service = service
        self.pool = pool
        self.world = World()
        self.model = Model(packs)
        self.posted: list[tuple[Envelope, MovementOutcome | StockRejection]] = []
        self._keys = iter(range(1_000_000))

    async def create_catalog(self) -> None:
        w = self.world
        await self.service.import_locations(
            (
                "code,zone,name,gln\n" + "".join(f"{w.location(i)},Z,,\n" for i in range(LOCATIONS))
            ).encode()
        )
        header = (
            "sku,name,barcodes,category,unit_cost,weight_g,length_mm,width_mm,height_mm,"
            "reorder_point,reorder_qty,lead_time_days,safety_stock\n"
        )
        body = "".join(
            f"{w.sku(i)},product {i},{w.case_code(i)}*{self.model.packs[i]},,1,,,,,0,0,0,0\n"
            for i in range(PRODUCTS)
        )
        await self.service.import_products((header + body).encode())

    def _envelope(self, command: Command, scanner: int | None) -> Envelope:
        sid = self.world.scanner(scanner)
        return Envelope(
            key=IdempotencyKey(f"{self.world.tag}-{next(self._keys)}"),
            command=command,
            actor="hypothesis",
            scanner=sid,
            scan_seq=len(self.posted) if sid else None,
        )

    def _command(self, op: Op, target: Accepted | None) -> Command:
        w = self.world
        match op:
            case ReceiveOp():
                return Receive(
                    w.ref(op.ref), w.location(op.location), op.quantity, op.lot, op.expiry
                )
            case PickOp():
                return Pick(w.ref(op.ref), w.location(op.location), op.quantity, op.lot)
            case AdjustOp():
                return Adjust(w.ref(op.ref), w.location(op.location), op.delta, op.lot)
            case CountOp():
                return Count(w.location(op.location), tuple(w.line(x) for x in op.lines))
            case MoveOp():
                return Move(
                    w.location(op.source),
                    w.location(op.target),
                    tuple(w.line(x) for x in op.lines),
                )
            case UndoIdOp():
                assert target is not None
                return Undo(movement_id=MovementId(target.ids[0]))
            case UndoScannerOp():
                return Undo(scanner=w.scanner(op.scanner))
        raise AssertionError(op)  # pragma: no cover - replays are handled by the caller

    async def stock(self) -> dict[Key, tuple[int, date | None]]:
        rows = await self.pool.fetch(
            "SELECT p.sku, l.code, s.lot, s.on_hand, s.expiry FROM stock s "
            "JOIN products p ON p.id = s.product_id JOIN locations l ON l.id = s.location_id "
            "WHERE p.sku LIKE $1",
            f"P{self.world.tag}-%",
        )
        w = self.world
        return {
            (w.product_index(r["sku"]), w.location_index(r["code"]), r["lot"]): (
                r["on_hand"],
                r["expiry"],
            )
            for r in rows
        }

    def expected_stock(self) -> dict[Key, tuple[int, date | None]]:
        return {k: (r.on_hand, r.expiry) for k, r in self.model.rows.items()}

    async def run_step(self, step: Step) -> None:
        planned: list[tuple[Envelope, Callable[[MovementOutcome | StockRejection], None]]] = []
        for op, scanner in step.ops:
            item = self._prepare(op, scanner)
            if item is not None and all(item[0].key != e.key for e, _ in planned):
                planned.append(item)
        if not planned:
            return
        before = await self.stock()
        envelopes = [envelope for envelope, _ in planned]
        if step.how == "batch":
            outcomes = await self.service.post_batch(envelopes)
        else:
            outcomes = [await self._post(envelopes[0])]
        for (envelope, check), outcome in zip(planned, outcomes, strict=True):
            check(outcome)
            self.posted.append((envelope, outcome))
        assert await self.stock() == self.expected_stock()
        if step.how == "then_undo" and isinstance(outcomes[0], MovementOutcome):
            undo = self._prepare(UndoIdOp(len(self.model.undoable_by_id()) - 1), None)
            assert undo is not None
            envelope, check = undo
            outcome = await self._post(envelope)
            check(outcome)
            self.posted.append((envelope, outcome))
            event("undone right after posting")
            after = await self.stock()
            assert {k: v[0] for k, v in after.items() if v[0]} == {
                k: v[0] for k, v in before.items() if v[0]
            }, "undo did not restore the stock from before the command"
            assert after == self.expected_stock()

    async def _post(self, envelope: Envelope) -> MovementOutcome | StockRejection:
        try:
            return await self.service.post(envelope)
        except StockRejection as rejection:
            return rejection

    def _prepare(
        self, op: Op, scanner: int | None
    ) -> tuple[Envelope, Callable[[MovementOutcome | StockRejection], None]] | None:
        """The envelope for ``op`` and a check of its outcome that also advances the model.

        Must run in posting order: each plan sees the model after the previous one.
        """
        if isinstance(op, ReplayOp):
            if not self.posted:
                return None
            envelope, first = self.posted[op.index % len(self.posted)]
            return envelope, lambda again: self._check_replay(first, again)
        if isinstance(op, UndoIdOp) and not self.model.undoable_by_id():
            return None
        try:
            rows, plan, target = self.model.plan(op, scanner)
            refused: type[StockRejection] | None = None
        except Refused as exc:
            rows, plan, target, refused = self.model.rows, [], None, exc.error
            if isinstance(op, UndoIdOp):
                target = self.model._undo_target(op)
        envelope = self._envelope(self._command(op, target), scanner)
        accepted: Accepted | None = None
        if refused is None:
            accepted = Accepted(envelope, plan, scanner, isinstance(op, UndoIdOp | UndoScannerOp))
            self.model.rows = rows
            self.model.accepted.append(accepted)
            if target is not None:
                target.reversed = True

        def check(outcome: MovementOutcome | StockRejection) -> None:
            event(f"{type(op).__name__}: {type(outcome).__name__}")
            if accepted is None:
                assert refused is not None
                assert isinstance(outcome, refused), (op, outcome)
                return
            assert isinstance(outcome, MovementOutcome), (op, outcome)
            assert not outcome.replayed
            got = [
                (
                    (
                        self.world.product_index(m.sku),
                        self.world.location_index(m.location),
                        m.lot,
                    ),
                    m.kind,
                    m.delta,
                    m.on_hand_after,
                )
                for m in outcome.movements
            ]
            assert got == [(p.key, p.kind, p.delta, p.on_hand_after) for p in plan], op
            assert all(m.on_hand_after >= 0 for m in outcome.movements)
            accepted.ids = [m.id for m in outcome.movements]
            if target is not None:
                assert [m.reverses for m in outcome.movements] == list(reversed(target.ids))

        return envelope, check

    def _check_replay(
        self, first: MovementOutcome | StockRejection, again: MovementOutcome | StockRejection
    ) -> None:
        event(f"replay of {type(first).__name__}")
        if isinstance(first, StockRejection):
            assert type(again) is type(first)
            assert isinstance(again, StockRejection)
            assert again.reason == first.reason
            return
        assert isinstance(again, MovementOutcome)
        assert again.replayed
        assert [m.id for m in again.movements] == [m.id for m in first.movements]
        assert [m.delta for m in again.movements] == [m.delta for m in first.movements]


async def _run_example(url: str, packs: tuple[int, ...], steps: list[Step]) -> None:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        service = StockService(pool)
        runner = Runner(service, pool, packs)
        await runner.create_catalog()
        for step in steps:
            await runner.run_step(step)
        stock = await runner.stock()
        assert all(on_hand >= 0 for on_hand, _ in stock.values())
        assert stock == runner.expected_stock()
        for product in range(PRODUCTS):
            level = await service.stock_of(runner.world.sku(product))
            assert level.on_hand == sum(
                r.on_hand for k, r in runner.model.rows.items() if k[0] == product
            )
        report = await service.verify()
        assert report.ok, report.render()
    finally:
        await pool.close()


@pytest.fixture
def database_per_test(pg_cluster: PgCluster) -> Iterator[str]:
    """One database for all examples of a test (sync: Hypothesis runs the examples)."""
    name = asyncio.run(pg_cluster.create_database())
    yield pg_cluster.url_for(name)
    asyncio.run(pg_cluster.drop_database(name))


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


_SEED_SLOTS = [(p, loc, lot) for p in range(PRODUCTS) for loc in range(LOCATIONS) for lot in LOTS]
# Expiry runs against lot order, so first-expiry-first differs from "by lot name".
_SEED_EXPIRY = {None: EXPIRIES[3], "L1": EXPIRIES[2], "L2": EXPIRIES[1]}


def _seed_steps(quantities: list[int]) -> list[Step]:
    """Receipts that put some stock in place, so picks, moves and undos can succeed."""
    return [
        Step(((ReceiveOp(Ref(p, False), loc, n, lot, _SEED_EXPIRY[lot]), None),), "post")
        for (p, loc, lot), n in zip(_SEED_SLOTS, quantities, strict=True)
        if n
    ]


_seeds = st.lists(st.integers(3, 30), min_size=len(_SEED_SLOTS), max_size=len(_SEED_SLOTS))


@_settings(60)
@given(
    packs=_packs,
    seed=st.just([0] * len(_SEED_SLOTS)) | _seeds,
    steps=st.lists(_steps, min_size=1, max_size=20),
)
def test_random_movements_match_the_model_and_the_ledger_sums_to_stock(
    database_per_test: str, packs: tuple[int, ...], seed: list[int], steps: list[Step]
) -> None:
    asyncio.run(_run_example(database_per_test, packs, _seed_steps(seed) + steps))


@_settings(30)
@given(
    packs=_packs,
    setup=st.lists(
        st.builds(Step, st.tuples(st.tuples(_movement_ops, _scanner)), st.just("post")),
        max_size=8,
    ),
    command=st.tuples(_movement_ops, _scanner),
)
def test_undo_right_after_a_command_restores_the_stock_before_it(
    database_per_test: str,
    packs: tuple[int, ...],
    setup: list[Step],
    command: tuple[Op, int | None],
) -> None:
    steps = [*_seed_steps([20] * len(_SEED_SLOTS)), *setup, Step((command,), "then_undo")]
    asyncio.run(_run_example(database_per_test, packs, steps))
