"""Posting movement commands: stock change, ledger rows and events in one transaction.

``post_batch`` runs many envelopes in one transaction (group commit), each inside its
own savepoint so one refusal does not undo the others; every envelope keeps its own
outcome. A batch that meets a deadlock or serialization failure is retried whole: it
was rolled back, so nothing counts twice. A lost connection becomes
:class:`~stock_core.errors.DatabaseUnavailableError`; the caller may retry with the
same keys, which makes the retry safe even when the commit had in fact landed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import date

import asyncpg

from stock_core.domain.allocation import (
    CountedLine,
    LotStock,
    allocate_fefo,
    reconcile_count,
    total_available,
    total_counted,
)
from stock_core.domain.batch import is_plain
from stock_core.domain.capacity import room_refusal
from stock_core.domain.count_task import CountPosting, covers
from stock_core.domain.movement import (
    Adjust,
    Count,
    Envelope,
    Move,
    MovementKind,
    MovementOutcome,
    MovementRecord,
    Outcome,
    Pick,
    ProductRef,
    Receive,
    Return,
    Scrap,
    Undo,
    request_fingerprint,
    validate_command,
)
from stock_core.errors import (
    ConstraintRejectedError,
    IdempotencyConflictError,
    InsufficientStockError,
    InvalidMovementError,
    NothingToUndoError,
    NotQuarantineError,
    QuarantinedStockError,
    StockRejection,
    UnknownLocationError,
    UnknownProductError,
)
from stock_core.store import capacity
from stock_core.store._boundary import checked, retrying, with_retries
from stock_core.store.connection import Connection, Pool
from stock_core.store.count_tasks.recording import open_task_at, record_count
from stock_core.store.failover import bounded
from stock_core.store.ledger import sql as q
from stock_core.store.ledger.batch import LocationCache, post_plain
from stock_core.store.ledger.idempotency import replay
from stock_core.store.orders import order_shipped
from stock_core.store.orders import sql as orders_sql
from stock_core.store.orders.reservation import (
    LockedProduct,
    emit,
    emit_availability,
    fill_backorders,
    lock_product,
    refresh_alerts,
)
from stock_core.store.stock import sql as stock_sql
from stock_core.types import IdempotencyKey, LocationCode, MovementId, ReasonCode, Sku

__all__ = [
    "LocationCache",
    "post",
    "post_atomic",
    "post_batch",
    "post_count_task_lines",
    "post_in",
]

log = logging.getLogger(__name__)


class _Product:
    __slots__ = ("id", "pack_size", "sku")

    def __init__(self, id_: int, sku: str, pack_size: int) -> None:
        self.id = id_
        self.sku = sku
        self.pack_size = pack_size


class _Writer:
    """Applies one envelope on one connection, inside a transaction the caller owns."""

    def __init__(
        self,
        conn: Connection,
        envelope: Envelope,
        locations: dict[str, tuple[int, str]] | None = None,
    ) -> None:
        self.conn = conn
        self.env = envelope
        self.records: list[MovementRecord] = []
        self._locations = locations if locations is not None else {}
        self._locked: dict[int, LockedProduct] = {}
        self._refill: set[int] = set()
        self._order_id: int | None = None
        self._po_id: int | None = None

    async def product(self, ref: ProductRef) -> _Product:
        """Resolve a SKU or barcode and lock the product row, in one round trip."""
        row = await self.conn.fetchrow(q.FIND_PRODUCT_FOR_UPDATE, ref.barcode, ref.sku)
        if row is None:
            raise UnknownProductError(ref.sku if ref.sku is not None else str(ref.barcode))
        product = _Product(row["id"], row["sku"], row["pack_size"])
        self._locked.setdefault(
            product.id, LockedProduct(product.id, product.sku, int(row["reorder_point"]))
        )
        return product

    async def lock(self, product: _Product) -> LockedProduct:
        """Lock the product row before touching its stock (see ``reservation``)."""
        locked = self._locked.get(product.id)
        if locked is None:
            locked = self._locked[product.id] = await lock_product(
                self.conn, product.id, product.sku
            )
        return locked

    async def location(self, code: str) -> tuple[int, str]:
        found = self._locations.get(code)
        if found is None:
            row = await self.conn.fetchrow(stock_sql.FIND_LOCATION, code)
            if row is None:
                raise UnknownLocationError(code)
            found = (row["id"], row["code"])
            if row["code"] == code:  # codes never change their id; a GLN may move
                self._locations[code] = found
        return found

    async def write_row(
        self,
        kind: MovementKind,
        product: _Product,
        location: tuple[int, str],
        lot: str,
        expiry: date | None,
        delta: int,
        on_hand_after: int,
        note: str | None,
        reverses: int | None = None,
        reason: ReasonCode | None = None,
    ) -> None:
        env = self.env
        if delta > 0 and kind is not MovementKind.RETURN:  # a return lands in quarantine
            self._refill.add(product.id)
        row = await self.conn.fetchrow(
            q.INSERT_MOVEMENT_AND_EVENT,
            kind.value,
            product.id,
            location[0],
            lot,
            expiry,
            delta,
            on_hand_after,
            env.key,
            len(self.records),
            env.actor,
            env.scanner,
            env.scan_seq,
            note,
            reverses,
            product.sku,
            location[1],
            self._order_id,
            self._po_id,
            env.operator,
            reason,
        )
        assert row is not None
        self.records.append(
            MovementRecord(
                id=MovementId(row["id"]),
                ts=row["ts"],
                kind=kind,
                sku=Sku(product.sku),
                location=LocationCode(location[1]),
                lot=lot,
                delta=delta,
                on_hand_after=on_hand_after,
                scanner=env.scanner,
                scan_seq=env.scan_seq,
                actor=env.actor,
                note=note,
                reverses=MovementId(reverses) if reverses is not None else None,
                operator=env.operator,
                reason=reason,
            )
        )

    async def increment(
        self, product: _Product, location: tuple[int, str], lot: str, expiry: date | None, n: int
    ) -> int:
        on_hand = await self.conn.fetchval(
            q.INCREMENT_STOCK, product.id, location[0], lot, expiry, n
        )
        return int(on_hand)

    async def decrement(
        self,
        product: _Product,
        location: tuple[int, str],
        lot: str,
        n: int,
        *,
        picking: bool = False,
    ) -> int:
        """Take ``n`` free units from one row; a pick (``picking``) never from quarantine
        (the transaction the caller owns undoes the change when that is refused)."""
        row = await self.conn.fetchrow(q.DECREMENT_STOCK, product.id, location[0], lot, n)
        if row is None:
            held = await self.conn.fetchrow(q.STOCK_ROW, product.id, location[0], lot)
            if picking and held is not None and held["quarantined"]:
                raise QuarantinedStockError(location[1])
            available = 0 if held is None else held["on_hand"] - held["reserved"]
            where = location[1] if not lot else f"{location[1]} lot {lot}"
            raise InsufficientStockError(product.sku, where, n, available)
        if picking and row["quarantined"]:
            raise QuarantinedStockError(location[1])
        return int(row["on_hand"])

    async def take_fefo(
        self,
        product: _Product,
        location: tuple[int, str],
        units: int,
        *,
        picking: bool = True,
        expired_too: bool = False,
    ) -> list[tuple[str, date | None, int, int]]:
        """Decrement ``units`` across lots first-expiry-first: (lot, expiry, units, after).

        A pick (``picking``) refuses a quarantine location; expired lots are taken only
        when ``expired_too`` (scrap), earliest first.
        """
        rows = await self.conn.fetch(q.LOCK_LOTS_FOR_PICK, product.id, location[0])
        if picking and any(r["quarantined"] for r in rows):
            raise QuarantinedStockError(location[1])
        lots = [LotStock(r["lot"], r["expiry"], r["on_hand"], r["reserved"]) for r in rows]
        today = rows[0]["today"] if rows and not expired_too else None
        plan = allocate_fefo(lots, units, today)
        if not plan:
            available = total_available(lots, today)
            raise InsufficientStockError(product.sku, location[1], units, available)
        expiries = {lot.lot: lot.expiry for lot in lots}
        taken = []
        for lot, n in plan:
            after = await self.decrement(product, location, lot, n)
            taken.append((lot, expiries[lot], n, after))
        return taken

    # -- commands ----------------------------------------------------------------

    async def make_room(self, location: tuple[int, str], product: _Product, units: int) -> None:
        """Refuse adding ``units`` of ``product`` beyond ``location``'s capacity (if any)."""
        limited = await capacity.limits(self.conn, [location[0]])
        if not limited:
            return
        load = (await capacity.loads(self.conn, [location[0]]))[location[0]]
        size = (await capacity.sizes(self.conn, [product.id]))[product.id]
        refusal = room_refusal(limited[location[0]], load, size, units)
        if refusal is not None:
            raise refusal

    async def receive(self, cmd: Receive) -> None:
        product = await self.product(cmd.product)
        location = await self.location(cmd.location)
        units = cmd.quantity * product.pack_size
        lot = cmd.lot or ""
        await self.make_room(location, product, units)
        if cmd.purchase_order is not None:
            await self.receive_against_po(cmd.purchase_order, product, units)
        after = await self.increment(product, location, lot, cmd.expiry, units)
        await self.write_row(
            MovementKind.RECEIVE, product, location, lot, cmd.expiry, units, after, cmd.note
        )

    async def receive_against_po(self, number: str, product: _Product, units: int) -> None:
        row = await self.conn.fetchrow(q.RECEIVE_PO_LINE, number, product.id, units)
        if row is None:
            raise InvalidMovementError(f"{product.sku} is not on open purchase order {number}")
        self._po_id = row["id"]
        await emit(
            self.conn,
            "purchase_order.received",
            {
                "purchase_order": number,
                "sku": product.sku,
                "quantity": units,
                "received": row["received"],
                "ordered": row["quantity"],
            },
        )
        if await self.conn.fetchval(q.CLOSE_PO_IF_RECEIVED, row["id"]):
            await emit(self.conn, "purchase_order.closed", {"purchase_order": number})

    async def pick_for_order(
        self, cmd: Pick, product: _Product, location: tuple[int, str], units: int
    ) -> None:
        """Pick against an order: consume its reservations, here first, then elsewhere."""
        number = str(cmd.order)
        line = await self.conn.fetchrow(q.LOCK_ORDER_LINE_FOR_PICK, number, product.id)
        if line is None:
            raise InvalidMovementError(f"{product.sku} is not on order {number}")
        if line["status"] != "open":
            raise InvalidMovementError(f"order {number} is {line['status']}")
        if units > line["reserved"]:
            raise InsufficientStockError(
                product.sku, f"order {number} (reserved)", units, line["reserved"]
            )
        self._order_id = line["order_id"]
        left = units
        for held in await self.conn.fetch(q.LINE_RESERVATIONS, line["id"], location[0]):
            if left == 0:
                break
            if held["location_id"] != location[0] or (cmd.lot and held["lot"] != cmd.lot):
                continue
            n = min(left, held["quantity"])
            after = await self.conn.fetchval(
                q.PICK_RESERVED_STOCK, product.id, location[0], held["lot"], n
            )
            assert after is not None, "reserved stock vanished under a product lock"
            await self.conn.execute(q.TAKE_RESERVATION, line["id"], location[0], held["lot"], n)
            await self.write_row(
                MovementKind.PICK,
                product,
                location,
                held["lot"],
                held["expiry"],
                -n,
                after,
                cmd.note,
            )
            left -= n
        if left:
            # Picked somewhere other than where the order's stock was held: take it from
            # what is free here, then let go of as much held elsewhere.
            parts: list[tuple[str, date | None, int, int]]
            if cmd.lot is not None:
                after = await self.decrement(product, location, cmd.lot, left, picking=True)
                parts = [(cmd.lot, None, left, after)]
            else:
                parts = await self.take_fefo(product, location, left)
            for lot, expiry, n, after in parts:
                await self.write_row(
                    MovementKind.PICK, product, location, lot, expiry, -n, after, cmd.note
                )
            release = left
            for held in await self.conn.fetch(q.LINE_RESERVATIONS, line["id"], location[0]):
                if release == 0:
                    break
                n = min(release, held["quantity"])
                await self.conn.execute(
                    orders_sql.UNRESERVE_STOCK, product.id, held["location_id"], held["lot"], n
                )
                await emit_availability(
                    self.conn, await self.lock(product), held["location_id"], held["lot"], -n
                )
                await self.conn.execute(
                    q.TAKE_RESERVATION, line["id"], held["location_id"], held["lot"], n
                )
                release -= n
            self._refill.add(product.id)  # what was let go may fill another backorder
        picked = await self.conn.fetchrow(q.PICK_LINE, line["id"], units)
        assert picked is not None
        await emit(
            self.conn,
            "order.picked",
            {
                "order": number,
                "sku": product.sku,
                "quantity": units,
                "picked": picked["picked"],
                "ordered": picked["quantity"],
            },
        )
        if await self.conn.fetchval(q.COMPLETE_ORDER_IF_PICKED, line["order_id"]):
            await emit(self.conn, "order.completed", {"order": number})
            await order_shipped(self.conn, line["order_id"])

    async def pick(self, cmd: Pick) -> None:
        product = await self.product(cmd.product)
        location = await self.location(cmd.location)
        units = cmd.quantity * product.pack_size
        if cmd.order is not None:
            await self.pick_for_order(cmd, product, location, units)
            return
        if cmd.lot is not None:
            after = await self.decrement(product, location, cmd.lot, units, picking=True)
            await self.write_row(
                MovementKind.PICK, product, location, cmd.lot, None, -units, after, cmd.note
            )
            return
        for lot, expiry, n, after in await self.take_fefo(product, location, units):
            await self.write_row(
                MovementKind.PICK, product, location, lot, expiry, -n, after, cmd.note
            )

    async def return_(self, cmd: Return) -> None:
        product = await self.product(cmd.product)
        location = await self.location(cmd.location)
        if await self.conn.fetchval(q.LOCATION_TYPE, location[0]) != "quarantine":
            raise NotQuarantineError(location[1])
        units = cmd.quantity * product.pack_size
        await self.make_room(location, product, units)
        lot = cmd.lot or ""
        after = await self.increment(product, location, lot, cmd.expiry, units)
        await self.write_row(
            MovementKind.RETURN,
            product,
            location,
            lot,
            cmd.expiry,
            units,
            after,
            cmd.note,
            reason=cmd.reason,
        )

    async def scrap(self, cmd: Scrap) -> None:
        product = await self.product(cmd.product)
        location = await self.location(cmd.location)
        units = cmd.quantity * product.pack_size
        parts: list[tuple[str, date | None, int, int]]
        if cmd.lot is not None:
            after = await self.decrement(product, location, cmd.lot, units)
            parts = [(cmd.lot, None, units, after)]
        else:
            parts = await self.take_fefo(product, location, units, picking=False, expired_too=True)
        for lot, expiry, n, after in parts:
            await self.write_row(
                MovementKind.SCRAP,
                product,
                location,
                lot,
                expiry,
                -n,
                after,
                cmd.note,
                reason=cmd.reason,
            )

    async def adjust(self, cmd: Adjust) -> None:
        product = await self.product(cmd.product)
        location = await self.location(cmd.location)
        lot = cmd.lot or ""
        if cmd.delta > 0:
            after = await self.increment(product, location, lot, None, cmd.delta)
        else:
            after = await self.decrement(product, location, lot, -cmd.delta)
        await self.write_row(
            MovementKind.ADJUST, product, location, lot, None, cmd.delta, after, cmd.note
        )

    async def count(self, cmd: Count) -> None:
        location = await self.location(cmd.location)
        counted: list[CountedLine] = []
        products: dict[int, _Product] = {}
        for line in cmd.lines:
            product = await self.product(line.product)
            products[product.id] = product
            counted.append(
                CountedLine(
                    product.id, product.sku, line.lot or "", line.quantity * product.pack_size
                )
            )
        totals = total_counted(counted)
        task = await open_task_at(self.conn, location[0])
        if task is not None:  # kept on the task until a manager confirms it
            units_of = {key: units for key, (_, units) in totals.items()}
            await record_count(
                self.conn,
                task,
                location,
                units_of,
                self.env.key,
                self.env.actor,
                self.env.scanner,
            )
            return
        per_product: dict[int, dict[str, int]] = {}
        for (product_id, lot), (_, units) in totals.items():
            per_product.setdefault(product_id, {})[lot] = units
        for product_id, lots in per_product.items():
            product = products[product_id]
            rows = await self.conn.fetch(q.LOCK_LOTS_FOR_PICK, product_id, location[0])
            held = [LotStock(r["lot"], r["expiry"], r["on_hand"], r["reserved"]) for r in rows]
            what = f"{product.sku} at {location[1]}"
            for change in reconcile_count(held, lots, what):
                stored = await self.conn.fetchrow(
                    q.SET_STOCK, product_id, location[0], change.lot, change.after
                )
                assert stored is not None
                await self.write_row(
                    MovementKind.COUNT,
                    product,
                    location,
                    change.lot,
                    None,
                    change.after - change.before,
                    int(stored["on_hand"]),
                    cmd.note,
                )

    async def post_count_lines(self, postings: Sequence[CountPosting]) -> None:
        """Set the stock rows each confirmed count-task line stands for to its count."""
        for posting in postings:
            product = _Product(posting.product_id, posting.sku, 1)
            await self.lock(product)
            location = (posting.location_id, posting.location)
            rows = await self.conn.fetch(q.LOCK_LOTS_FOR_PICK, product.id, location[0])
            held = [
                LotStock(r["lot"], r["expiry"], r["on_hand"], r["reserved"])
                for r in rows
                if covers(posting.line, r["lot"])
            ]
            what = f"{product.sku} at {location[1]}"
            for change in reconcile_count(held, {posting.line.lot: posting.line.counted}, what):
                stored = await self.conn.fetchrow(
                    q.SET_STOCK, product.id, location[0], change.lot, change.after
                )
                assert stored is not None
                await self.write_row(
                    MovementKind.COUNT,
                    product,
                    location,
                    change.lot,
                    None,
                    change.after - change.before,
                    int(stored["on_hand"]),
                    None,
                )

    async def move(self, cmd: Move) -> None:
        source = await self.location(cmd.from_location)
        target = await self.location(cmd.to_location)
        for line in cmd.lines:
            product = await self.product(line.product)
            units = line.quantity * product.pack_size
            if line.lot is not None:
                after = await self.decrement(product, source, line.lot, units)
                expiry = line.expiry
                if expiry is None:  # the lot keeps its date where it goes
                    held = await self.conn.fetchrow(q.STOCK_ROW, product.id, source[0], line.lot)
                    expiry = None if held is None else held["expiry"]
                parts = [(line.lot, expiry, units, after)]
            else:
                parts = await self.take_fefo(product, source, units, picking=False)
            await self.make_room(target, product, units)
            for lot, expiry, n, out_after in parts:
                await self.write_row(
                    MovementKind.MOVE_OUT, product, source, lot, expiry, -n, out_after, cmd.note
                )
                in_after = await self.increment(product, target, lot, expiry, n)
                await self.write_row(
                    MovementKind.MOVE_IN, product, target, lot, expiry, n, in_after, cmd.note
                )

    async def undo(self, cmd: Undo) -> None:
        if cmd.movement_id is not None:
            original = await self.conn.fetchrow(q.MOVEMENT_BY_ID, cmd.movement_id)
            if original is None:
                raise NothingToUndoError(f"no movement {cmd.movement_id}")
            if original["kind"] == MovementKind.UNDO:
                raise InvalidMovementError("an undo cannot itself be undone: post a new movement")
            key = original["idempotency_key"]
        else:
            key = await self.conn.fetchval(q.FIND_LAST_UNDOABLE_KEY, cmd.scanner)
            if key is None:
                raise NothingToUndoError(f"nothing left to undo for scanner {cmd.scanner}")
        rows = await self.conn.fetch(q.UNREVERSED_ROWS_OF_KEY, key)
        if not rows:
            raise NothingToUndoError("that movement was already undone")
        for row in rows:
            product = _Product(row["product_id"], row["sku"], 1)
            await self.lock(product)
            location = (row["location_id"], row["location"])
            delta = -row["delta"]
            if delta > 0:
                after = await self.increment(product, location, row["lot"], row["expiry"], delta)
            elif delta < 0:
                after = await self.decrement(product, location, row["lot"], -delta)
            else:
                current = await self.conn.fetchrow(q.STOCK_ROW, product.id, location[0], row["lot"])
                after = 0 if current is None else int(current["on_hand"])
            await self.write_row(
                MovementKind.UNDO,
                product,
                location,
                row["lot"],
                row["expiry"],
                delta,
                after,
                cmd.note,
                reverses=row["id"],
            )

    async def apply(self) -> MovementOutcome:
        command = self.env.command
        validate_command(command)
        fingerprint = request_fingerprint(self.env)
        inserted = await self.conn.fetchval(q.INSERT_IDEMPOTENCY_KEY, self.env.key, fingerprint)
        if inserted is None:
            return await replay(self.conn, self.env.key, fingerprint)
        match command:
            case Receive():
                await self.receive(command)
            case Pick():
                await self.pick(command)
            case Adjust():
                await self.adjust(command)
            case Count():
                await self.count(command)
            case Move():
                await self.move(command)
            case Undo():
                await self.undo(command)
            case Return():
                await self.return_(command)
            case Scrap():
                await self.scrap(command)
        return await self.settle()

    async def settle(self) -> MovementOutcome:
        """Fill backorders where stock grew, refresh alerts: the end of every write."""
        for product in self._locked.values():
            if product.id in self._refill:
                await fill_backorders(self.conn, product)
            await refresh_alerts(self.conn, product)
        return MovementOutcome(self.env.key, tuple(self.records))


async def post_count_task_lines(
    conn: Connection, key: IdempotencyKey, actor: str, postings: Sequence[CountPosting]
) -> MovementOutcome:
    """Post confirmed count-task lines as ``count`` movements, in the caller's transaction.

    ``postings`` come sorted by product id (the order products are locked in).
    """
    await conn.execute(q.INSERT_IDEMPOTENCY_KEY, key, "count-task")
    writer = _Writer(conn, Envelope(key=key, command=Undo(movement_id=MovementId(0)), actor=actor))
    await writer.post_count_lines(postings)
    return await writer.settle()


async def post_in(conn: Connection, envelope: Envelope) -> MovementOutcome:
    """One envelope inside the caller's transaction; a rejection is raised."""
    with checked():
        async with conn.transaction():
            return await _Writer(conn, envelope).apply()


async def _record_rejection(
    conn: Connection, envelope: Envelope, rejection: StockRejection
) -> None:
    if isinstance(rejection, IdempotencyConflictError | InvalidMovementError):
        return  # nothing to remember: a bad request is not a first result
    await conn.execute(
        q.INSERT_REJECTED_KEY,
        envelope.key,
        request_fingerprint(envelope),
        json.dumps(rejection.to_dict()),
    )


async def _apply_in_transaction(
    conn: Connection, envelope: Envelope, locations: dict[str, tuple[int, str]] | None
) -> MovementOutcome:
    """One envelope in its own transaction (or savepoint, inside a batch)."""
    # The database's own guard (never negative) may catch what the rules did not.
    with checked():
        async with conn.transaction():
            return await _Writer(conn, envelope, locations).apply()


def _runs(envelopes: Sequence[Envelope]) -> list[tuple[bool, list[Envelope]]]:
    """Consecutive envelopes grouped by whether they are plain, in order."""
    runs: list[tuple[bool, list[Envelope]]] = []
    for envelope in envelopes:
        plain = is_plain(envelope)
        if runs and runs[-1][0] == plain:
            runs[-1][1].append(envelope)
        else:
            runs.append((plain, [envelope]))
    return runs


async def _post_once(
    conn: Connection,
    envelopes: Sequence[Envelope],
    locations: LocationCache,
    *,
    set_based: bool = True,
) -> list[Outcome]:
    if len(envelopes) == 1 and not (set_based and is_plain(envelopes[0])):
        envelope = envelopes[0]
        try:
            return [await _apply_in_transaction(conn, envelope, locations)]
        except StockRejection as rejection:
            await _record_rejection(conn, envelope, rejection)
            return [rejection]
    outcomes: list[Outcome] = []
    async with conn.transaction():
        for plain, run in _runs(envelopes):
            if plain and set_based:
                outcomes.extend(await post_plain(conn, run, locations))
                continue
            for envelope in run:
                try:
                    outcomes.append(await _apply_in_transaction(conn, envelope, locations))
                except StockRejection as rejection:
                    await _record_rejection(conn, envelope, rejection)
                    outcomes.append(rejection)
    return outcomes


async def post_batch(
    pool: Pool | Connection,
    envelopes: Sequence[Envelope],
    locations: LocationCache | None = None,
    *,
    deadline: float | None = None,
    epoch: int | None = None,
) -> list[Outcome]:
    """Post envelopes in one transaction; one outcome per envelope, in order.

    Rejections come back as :class:`StockRejection` values (not raised). Raises
    :class:`DatabaseUnavailableError` when PostgreSQL cannot be reached; retrying the
    same envelopes later is safe.

    With ``deadline`` (seconds) each attempt, connecting included, is bounded by
    :func:`~stock_core.store.failover.bounded`: past it the connection is dropped and
    :class:`~stock_core.errors.DeadlineExceededError` raised, never a wait on a hung
    server; a commit the synchronous standby did not confirm is
    :class:`~stock_core.errors.CommitUnconfirmedError`; with ``epoch`` a failover
    since the caller last looked is :class:`~stock_core.errors.LineageChangedError`.
    """
    if not envelopes:
        return []
    if len({e.key for e in envelopes}) != len(envelopes):
        raise InvalidMovementError("a batch cannot carry the same idempotency key twice")
    cache = locations if locations is not None else {}

    async def attempt(set_based: bool) -> list[Outcome]:
        if not isinstance(pool, asyncpg.Pool):
            return await _post_once(pool, envelopes, cache, set_based=set_based)
        if deadline is not None:
            async with bounded(pool, deadline, epoch=epoch) as conn:
                return await _post_once(conn, envelopes, cache, set_based=set_based)
        async with pool.acquire() as conn:
            return await _post_once(conn, envelopes, cache, set_based=set_based)

    try:
        with checked():
            return await retrying(lambda: attempt(True))
    except ConstraintRejectedError:
        # The plan broke a guard the database keeps (a bug, never a stock rule):
        # nothing was written; post these envelopes one by one instead.
        log.exception("set-based batch refused by a constraint; posting one by one")
    with checked():
        return await retrying(lambda: attempt(False))


async def post(
    pool: Pool | Connection, envelope: Envelope, locations: LocationCache | None = None
) -> MovementOutcome:
    """Post one envelope; a rejection is raised."""
    (outcome,) = await post_batch(pool, [envelope], locations)
    if isinstance(outcome, StockRejection):
        raise outcome
    return outcome


async def post_atomic(
    pool: Pool, envelopes: Sequence[Envelope], locations: LocationCache | None = None
) -> list[MovementOutcome]:
    """All envelopes in one transaction, or none: the first rejection is raised."""
    if not envelopes:
        return []

    async def work(conn: Connection) -> list[MovementOutcome]:
        async with conn.transaction():
            return [await _Writer(conn, envelope, locations).apply() for envelope in envelopes]

    return await with_retries(pool, work)
