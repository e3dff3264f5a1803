"""Planning a batch of simple movements set-wise, without I/O.

Group commit posts many scans in one transaction. The plain ones — a receive that is
not against a purchase order, a pick that is not against a customer order, an
adjustment — need nothing but the product, the location and the stock rows they
touch, so the store reads those once for the whole batch (products locked in id
order), this module decides every envelope in batch order exactly as posting them one
by one would, and the store writes the result in a few statements: stock deltas, ledger
rows, outbox events, refusals.

Rules (the same as :mod:`stock_core.store.ledger` applies one envelope at a time):

* a refused envelope changes nothing and the others go on (no savepoint needed: a
  refusal is decided here, before anything is written);
* a receive adds ``quantity × pack size`` to its lot (blank when none), keeping the
  first expiry a lot was given;
* a pick with a lot takes from that lot's available units (on hand − reserved); a
  pick without one draws lots first-expiry-first (:func:`allocate_fefo`); a lot past
  its expiry date (before ``today``) is not available to either;
* an adjustment adds or removes units (no pack size) from one lot;
* a receive into a location with a capacity limit is refused when it would overfill it
  (:func:`stock_core.domain.capacity.room_refusal`), against what the location holds at
  that point of the batch (earlier picks make room, earlier receipts take it);
* nothing ever goes below zero; the figures each event carries (on hand and available
  at the location and for the whole product) are those right after its row; available
  leaves out expired rows (what they hold, less reservations, counts as expired) and
  every row in a quarantine location (what it holds counts as quarantined);
* a product tracked by serial is refused (it moves by serial, one envelope at a time),
  and so is a receipt of a lot-tracked product without a lot
  (:func:`stock_core.domain.serial.tracking_refusal`);
* a pick at a quarantine location is refused (:class:`QuarantinedStockError`); units
  received into one do not fill backorders.

Returns and scrap are not plain: they are posted one by one.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date

from stock_core.domain.allocation import LotStock
from stock_core.domain.allocation import allocate_fefo
from stock_core.domain.allocation import total_available
from stock_core.domain.capacity import Capacity
from stock_core.domain.capacity import Load
from stock_core.domain.capacity import UnitSize
from stock_core.domain.capacity import room_refusal
from stock_core.domain.movement import Adjust
from stock_core.domain.movement import Count
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Move
from stock_core.domain.movement import MovementKind
from stock_core.domain.movement import Pick
from stock_core.domain.movement import Receive
from stock_core.domain.movement import ReceiveTransfer
from stock_core.domain.movement import Return
from stock_core.domain.movement import Scrap
from stock_core.domain.movement import ShipTransfer
from stock_core.domain.serial import Tracking
from stock_core.domain.serial import tracking_refusal
from stock_core.errors import InsufficientStockError
from stock_core.errors import QuarantinedStockError
from stock_core.errors import StockRejection
from stock_core.errors import UnknownLocationError
from stock_core.errors import UnknownProductError

__all__ = [
    "BatchPlan",
    "PlanItem",
    "PlannedRow",
    "ProductFacts",
    "StockFacts",
    "is_plain",
    "plan_batch",
    "products_named",
]

StockKey = tuple[int, int, str]
"""(product id, location id, lot)."""


def products_named(envelope: Envelope) -> tuple[str, ...]:
    """The products a command names (as written: SKU or barcode), for keeping batches
    in flight apart; an undo names none (its rows are found when it is posted)."""
    command = envelope.command
    match command:
        case Receive() | Pick() | Adjust() | Return() | Scrap():
            return (str(command.product),)
        case Count() | Move() | ShipTransfer() | ReceiveTransfer():
            return tuple(str(line.product) for line in command.lines)
        case _:
            return ()


def is_plain(envelope: Envelope) -> bool:
    """Whether the envelope can be planned here (else it is posted on its own)."""
    command = envelope.command
    match command:
        case Receive():
            return command.purchase_order is None and not command.serials
        case Pick():
            return command.order is None and not command.serials
        case Adjust():
            return True
        case _:
            return False


@dataclass(frozen=True)
class ProductFacts:
    """A product as locked for the batch: its totals over every location and lot."""

    id: int
    sku: str
    reorder_point: int
    on_hand: int
    reserved: int
    expired: int = 0
    """Units of expired rows not held for an order, outside quarantine: on hand but not
    available."""
    quarantined: int = 0
    """Units in quarantine locations: on hand but not available."""
    tracking: Tracking = Tracking.NONE
    """A serial-tracked product is never plain (it moves by serial): refused here."""


@dataclass(frozen=True)
class StockFacts:
    """One stock row as read under the batch's product locks."""

    product_id: int
    location_id: int
    lot: str
    expiry: date | None
    on_hand: int
    reserved: int
    quarantined: bool = False


@dataclass(frozen=True)
class PlanItem:
    """An envelope with what the store resolved for it (``None``: not found)."""

    envelope: Envelope
    product: ProductFacts | None
    pack_size: int
    location: tuple[int, str] | None


@dataclass(frozen=True)
class PlannedRow:
    """One ledger row to write, with the figures its ``stock.changed`` event carries."""

    kind: MovementKind
    product_id: int
    sku: str
    location_id: int
    location: str
    lot: str
    expiry: date | None
    delta: int
    on_hand_after: int
    part: int
    location_on_hand: int
    location_available: int
    product_on_hand: int
    product_available: int


@dataclass
class _Row:
    expiry: date | None
    on_hand: int
    reserved: int


@dataclass
class BatchPlan:
    """What a batch does: per envelope its rows or its refusal, and the net changes."""

    outcomes: list[list[PlannedRow] | StockRejection]
    deltas: dict[StockKey, int] = field(default_factory=dict)
    """Net on-hand change per stock row the batch writes: one whose on-hand or expiry
    changed, or that it created (even one back at zero, as posting one by one leaves
    it, with the expiry a later receipt keeps)."""
    expiries: dict[StockKey, date | None] = field(default_factory=dict)
    """The expiry of every row in :attr:`deltas`."""
    new_rows: set[StockKey] = field(default_factory=set)
    """Rows in :attr:`deltas` that did not exist before the batch (they are inserted)."""
    available: dict[int, int] = field(default_factory=dict)
    """Per product touched: available units after the batch."""
    expired: dict[int, int] = field(default_factory=dict)
    """Per product touched: expired units (not held for an order) after the batch."""
    received: set[int] = field(default_factory=set)
    """Products whose stock grew (waiting backorders may be filled)."""


class _Planner:
    def __init__(
        self,
        products: Iterable[ProductFacts],
        rows: Iterable[StockFacts],
        today: date | None,
        at_locations: Mapping[tuple[int, int], tuple[int, int, int]] | None,
        capacity: Mapping[int, Capacity] | None = None,
        loads: Mapping[int, Load] | None = None,
        sizes: Mapping[int, UnitSize] | None = None,
        quarantine: Collection[int] = (),
    ) -> None:
        self.today = today
        self.quarantine = frozenset(quarantine)
        self.capacity = dict(capacity or {})
        self.loads = {i: (loads or {}).get(i, Load()) for i in self.capacity}
        self.sizes = dict(sizes or {})
        self.rows: dict[StockKey, _Row] = {}
        self.lots: dict[tuple[int, int], list[str]] = {}
        self.totals = {p.id: [p.on_hand, p.reserved, p.expired, p.quarantined] for p in products}
        self.at: dict[tuple[int, int], list[int]] = (
            {} if at_locations is None else {k: list(v) for k, v in at_locations.items()}
        )
        for r in rows:
            if r.quarantined:
                self.quarantine |= {r.location_id}
            key = (r.product_id, r.location_id, r.lot)
            self.rows[key] = _Row(r.expiry, r.on_hand, r.reserved)
            self.lots.setdefault((r.product_id, r.location_id), []).append(r.lot)
            if at_locations is None:
                at = self.at.setdefault((r.product_id, r.location_id), [0, 0, 0])
                at[0] += r.on_hand
                at[1] += r.reserved
                if self._expired(key) and not r.quarantined:
                    at[2] += r.on_hand - r.reserved
        self.plan = BatchPlan(outcomes=[])
        self._start = {key: (row.on_hand, row.expiry) for key, row in self.rows.items()}
        self._new: set[StockKey] = set()

    def _row(self, key: StockKey) -> _Row:
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = _Row(None, 0, 0)
            self.lots.setdefault((key[0], key[1]), []).append(key[2])
            self._start[key] = (0, None)
            self._new.add(key)
        return row

    def _change(
        self,
        rows: list[PlannedRow],
        kind: MovementKind,
        product: ProductFacts,
        location: tuple[int, str],
        lot: str,
        delta: int,
        expiry: date | None = None,
        *,
        recorded_expiry: date | None = None,
    ) -> None:
        """Change one row; ``expiry`` is kept when the row has none yet, and the ledger
        row records ``recorded_expiry`` (what the posting named, or the lot's own)."""
        key = (product.id, location[0], lot)
        row = self._row(key)
        row.on_hand += delta
        if location[0] in self.loads:
            size = self.sizes.get(product.id, UnitSize())
            self.loads[location[0]] = self.loads[location[0]].plus(size, delta)
        if row.expiry is None:
            row.expiry = expiry
        quarantined = location[0] in self.quarantine
        # expired units are not available; in quarantine, no unit is
        expired = delta if self._expired(key) and not quarantined else 0
        at = self.at.setdefault((product.id, location[0]), [0, 0, 0])
        at[0] += delta
        at[2] += expired
        totals = self.totals[product.id]
        totals[0] += delta
        totals[2] += expired
        if quarantined:
            totals[3] += delta
        elif delta > 0:
            self.plan.received.add(product.id)
        location_available = 0 if quarantined else at[0] - at[1] - at[2]
        rows.append(
            PlannedRow(
                kind=kind,
                product_id=product.id,
                sku=product.sku,
                location_id=location[0],
                location=location[1],
                lot=lot,
                expiry=recorded_expiry,
                delta=delta,
                on_hand_after=row.on_hand,
                part=len(rows),
                location_on_hand=at[0],
                location_available=location_available,
                product_on_hand=totals[0],
                product_available=totals[0] - totals[1] - totals[2] - totals[3],
            )
        )

    def _expired(self, key: StockKey) -> date | None:
        row = self.rows.get(key)
        if row is None or row.expiry is None or self.today is None:
            return None
        return row.expiry if row.expiry < self.today else None

    def _available(self, key: StockKey, *, picking: bool) -> int:
        row = self.rows.get(key)
        if row is None or (picking and self._expired(key)):
            return 0  # expired stock is not available to pick
        return row.on_hand - row.reserved

    def _take(
        self,
        rows: list[PlannedRow],
        kind: MovementKind,
        product: ProductFacts,
        location: tuple[int, str],
        lot: str,
        units: int,
    ) -> None:
        key = (product.id, location[0], lot)
        picking = kind is MovementKind.PICK  # an adjustment may write expired stock off
        if picking and location[0] in self.quarantine:
            raise QuarantinedStockError(location[1])
        available = self._available(key, picking=picking)
        if available < units:
            where = location[1] if not lot else f"{location[1]} lot {lot}"
            expired = self._expired(key)
            if picking and expired is not None:
                where += f" (expired {expired.isoformat()})"
            raise InsufficientStockError(product.sku, where, units, available)
        self._change(rows, kind, product, location, lot, -units)

    def _take_fefo(
        self, rows: list[PlannedRow], product: ProductFacts, location: tuple[int, str], units: int
    ) -> None:
        if location[0] in self.quarantine:
            raise QuarantinedStockError(location[1])
        lots = []
        for lot in self.lots.get((product.id, location[0]), ()):
            row = self.rows[(product.id, location[0], lot)]
            if row.on_hand > 0:
                lots.append(LotStock(lot, row.expiry, row.on_hand, row.reserved))
        plan = allocate_fefo(lots, units, self.today)
        if not plan:
            available = total_available(lots, self.today)
            raise InsufficientStockError(product.sku, location[1], units, available)
        for lot, n in plan:
            recorded = self.rows[(product.id, location[0], lot)].expiry
            self._change(
                rows, MovementKind.PICK, product, location, lot, -n, recorded_expiry=recorded
            )

    def receive_item(self, item: PlanItem) -> list[PlannedRow]:
        product, location = item.product, item.location
        command = item.envelope.command
        if product is None:
            ref = getattr(command, "product")  # noqa: B009 - every plain command names one
            raise UnknownProductError(ref.sku if ref.sku is not None else str(ref.barcode))
        if location is None:
            raise UnknownLocationError(getattr(command, "location"))  # noqa: B009
        rows: list[PlannedRow] = []
        untracked = tracking_refusal(
            product.sku,
            product.tracking,
            serials=(),
            lot=getattr(command, "lot"),  # noqa: B009 - every plain command has one
            arriving=isinstance(command, Receive),
        )
        if untracked is not None:
            raise untracked
        match command:
            case Receive():
                units = command.quantity * item.pack_size
                lot = command.lot or ""
                expiry = command.expiry
                limit = self.capacity.get(location[0])
                if limit is not None:
                    size = self.sizes.get(product.id, UnitSize())
                    refusal = room_refusal(limit, self.loads[location[0]], size, units)
                    if refusal is not None:
                        raise refusal
                self._change(
                    rows,
                    MovementKind.RECEIVE,
                    product,
                    location,
                    lot,
                    units,
                    expiry,
                    recorded_expiry=expiry,
                )
            case Pick():
                units = command.quantity * item.pack_size
                if command.lot is not None:
                    self._take(rows, MovementKind.PICK, product, location, command.lot, units)
                else:
                    self._take_fefo(rows, product, location, units)
            case Adjust():
                lot = command.lot or ""
                if command.delta > 0:
                    self._change(rows, MovementKind.ADJUST, product, location, lot, command.delta)
                else:
                    self._take(rows, MovementKind.ADJUST, product, location, lot, -command.delta)
            case _:
                raise AssertionError(f"not a plain command: {command!r}")
        return rows

    def finish(self) -> BatchPlan:
        plan = self.plan
        for key, row in self.rows.items():
            on_hand, expiry = self._start[key]
            delta = row.on_hand - on_hand
            if delta or key in self._new or row.expiry != expiry:
                plan.deltas[key] = delta
                plan.expiries[key] = row.expiry
                if key in self._new:
                    plan.new_rows.add(key)
        for outcome in plan.outcomes:
            if isinstance(outcome, list):
                for planned in outcome:
                    totals = self.totals[planned.product_id]
                    plan.available[planned.product_id] = (
                        totals[0] - totals[1] - totals[2] - totals[3]
                    )
                    plan.expired[planned.product_id] = totals[2]
        return plan


def plan_batch(
    items: Sequence[PlanItem],
    products: Iterable[ProductFacts],
    rows: Iterable[StockFacts],
    today: date | None = None,
    at_locations: Mapping[tuple[int, int], tuple[int, int, int]] | None = None,
    capacity: Mapping[int, Capacity] | None = None,
    loads: Mapping[int, Load] | None = None,
    sizes: Mapping[int, UnitSize] | None = None,
    quarantine: Collection[int] = (),
) -> BatchPlan:
    """Decide every item in order against the stock ``rows`` read for the batch.

    ``rows`` must hold every row a plain command may change: for a pick without a lot,
    each row holding stock of its product at its location; for a named lot (blank
    included), that row if it exists. ``at_locations`` gives each (product, location)
    pair's (on hand, reserved, expired) over all its lots; without it they are summed
    from ``rows``, which must then hold every row of each pair. Given ``today``, lots
    that expired before it are not picked and count as expired, not available.
    ``capacity`` gives the limited locations (by id) the batch receives into, with what
    they hold before it (``loads``) and each product's unit size (``sizes``; a product
    not given takes no room). ``quarantine`` names the quarantine locations among the
    batch's (a row read there says so too): nothing there is available, and picks there
    are refused.
    """
    planner = _Planner(products, rows, today, at_locations, capacity, loads, sizes, quarantine)
    for item in items:
        try:
            planner.plan.outcomes.append(planner.receive_item(item))
        except StockRejection as rejection:
            planner.plan.outcomes.append(rejection)
    return planner.finish()
