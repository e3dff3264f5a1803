"""Posting movement commands: stock change, ledger rows and events in one transaction.

``post_batch`` runs many envelopes in one transaction (group commit), each inside its
own savepoint so one refusal does not undo the others; every envelope keeps its own
outcome. A batch that meets a deadlock or serialization failure is retried whole: it
was rolled back, so nothing counts twice. A lost connection becomes
:class:`~stock_core.errors.DatabaseUnavailableError`; the caller may retry with the
same keys, which makes the retry safe even when the commit had in fact landed.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence
from datetime import date

import asyncpg

from stock_core.domain.alerts import OUT_OF_STOCK, evaluate
from stock_core.domain.allocation import (
    CountedLine,
    LotStock,
    allocate_fefo,
    total_available,
    total_counted,
)
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
    Undo,
    request_fingerprint,
    validate_command,
)
from stock_core.errors import (
    CountBelowReservedError,
    DatabaseUnavailableError,
    IdempotencyConflictError,
    InsufficientStockError,
    InvalidMovementError,
    NothingToUndoError,
    StockRejection,
    UnknownLocationError,
    UnknownProductError,
    rejection_from_dict,
)
from stock_core.store import queries as q
from stock_core.store.connection import UNAVAILABLE_ERRORS, Connection, Pool
from stock_core.types import IdempotencyKey, LocationCode, MovementId, Sku

__all__ = ["post", "post_batch", "record_from_row", "replay"]

MAX_ATTEMPTS = 8

_RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)


def record_from_row(row: asyncpg.Record) -> MovementRecord:
    return MovementRecord(
        id=MovementId(row["id"]),
        ts=row["ts"],
        kind=MovementKind(row["kind"]),
        sku=Sku(row["sku"]),
        location=LocationCode(row["location"]),
        lot=row["lot"],
        delta=row["delta"],
        on_hand_after=row["on_hand_after"],
        scanner=row["scanner"],
        scan_seq=row["scan_seq"],
        actor=row["actor"],
        note=row["note"],
        reverses=row["reverses"],
    )


class _Product:
    __slots__ = ("id", "pack_size", "sku")

    def __init__(self, id_: int, sku: str, pack_size: int) -> None:
        self.id = id_
        self.sku = sku
        self.pack_size = pack_size


class _Writer:
    """Applies one envelope on one connection, inside a transaction the caller owns."""

    def __init__(self, conn: Connection, envelope: Envelope) -> None:
        self.conn = conn
        self.env = envelope
        self.records: list[MovementRecord] = []
        self._locations: dict[str, tuple[int, str]] = {}
        self._reorder_points: dict[int, int] = {}

    async def product(self, ref: ProductRef) -> _Product:
        row = await self.conn.fetchrow(q.FIND_PRODUCT, ref.barcode, ref.sku)
        if row is None:
            raise UnknownProductError(ref.sku if ref.sku is not None else str(ref.barcode))
        return _Product(row["id"], row["sku"], row["pack_size"])

    async def location(self, code: str) -> tuple[int, str]:
        found = self._locations.get(code)
        if found is None:
            row = await self.conn.fetchrow(q.FIND_LOCATION, code)
            if row is None:
                raise UnknownLocationError(code)
            found = self._locations[code] = (row["id"], row["code"])
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
    ) -> None:
        env = self.env
        product_reorder = self._reorder_points.get(product.id)
        if product_reorder is None:
            # Locks the product so alert decisions see every committed stock change.
            product_reorder = self._reorder_points[product.id] = int(
                await self.conn.fetchval(q.LOCK_PRODUCT, product.id)
            )
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
        )
        assert row is not None
        change = evaluate(row["product_available"], product_reorder, row["active_alerts"])
        for alert in change.raise_kinds:
            threshold = 0 if alert == OUT_OF_STOCK else product_reorder
            await self.conn.execute(
                q.RAISE_ALERT, product.id, alert, row["product_available"], threshold, product.sku
            )
        for alert in change.clear_kinds:
            await self.conn.execute(
                q.CLEAR_ALERT, product.id, alert, product.sku, row["product_available"]
            )
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
        self, product: _Product, location: tuple[int, str], lot: str, n: int
    ) -> int:
        on_hand = await self.conn.fetchval(q.DECREMENT_STOCK, product.id, location[0], lot, n)
        if on_hand is None:
            row = await self.conn.fetchrow(q.STOCK_ROW, product.id, location[0], lot)
            available = 0 if row is None else row["on_hand"] - row["reserved"]
            where = location[1] if not lot else f"{location[1]} lot {lot}"
            raise InsufficientStockError(product.sku, where, n, available)
        return int(on_hand)

    async def take_fefo(
        self, product: _Product, location: tuple[int, str], units: int
    ) -> list[tuple[str, date | None, int, int]]:
        """Decrement ``units`` across lots first-expiry-first: (lot, expiry, units, after)."""
        rows = await self.conn.fetch(q.LOCK_LOTS_FOR_PICK, product.id, location[0])
        lots = [LotStock(r["lot"], r["expiry"], r["on_hand"], r["reserved"]) for r in rows]
        plan = allocate_fefo(lots, units)
        if not plan:
            raise InsufficientStockError(product.sku, location[1], units, total_available(lots))
        expiries = {lot.lot: lot.expiry for lot in lots}
        taken = []
        for lot, n in plan:
            after = await self.decrement(product, location, lot, n)
            taken.append((lot, expiries[lot], n, after))
        return taken

    # -- commands ----------------------------------------------------------------

    async def receive(self, cmd: Receive) -> None:
        if cmd.purchase_order is not None:
            raise InvalidMovementError("receiving against purchase orders is not available yet")
        product = await self.product(cmd.product)
        location = await self.location(cmd.location)
        units = cmd.quantity * product.pack_size
        lot = cmd.lot or ""
        after = await self.increment(product, location, lot, cmd.expiry, units)
        await self.write_row(
            MovementKind.RECEIVE, product, location, lot, cmd.expiry, units, after, cmd.note
        )

    async def pick(self, cmd: Pick) -> None:
        if cmd.order is not None:
            raise InvalidMovementError("picking against customer orders is not available yet")
        product = await self.product(cmd.product)
        location = await self.location(cmd.location)
        units = cmd.quantity * product.pack_size
        if cmd.lot is not None:
            after = await self.decrement(product, location, cmd.lot, units)
            await self.write_row(
                MovementKind.PICK, product, location, cmd.lot, None, -units, after, cmd.note
            )
            return
        for lot, expiry, n, after in await self.take_fefo(product, location, units):
            await self.write_row(
                MovementKind.PICK, product, location, lot, expiry, -n, after, cmd.note
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
        for (product_id, lot), (sku, units) in total_counted(counted).items():
            row = await self.conn.fetchrow(q.STOCK_ROW, product_id, location[0], lot)
            on_hand, reserved = (0, 0) if row is None else (row["on_hand"], row["reserved"])
            if units < reserved:
                raise CountBelowReservedError(
                    f"counted {units} of {sku} at {location[1]} but {reserved} are reserved "
                    "for orders: a manager must release them first"
                )
            stored = await self.conn.fetchrow(q.SET_STOCK, product_id, location[0], lot, units)
            assert stored is not None
            await self.write_row(
                MovementKind.COUNT,
                products[product_id],
                location,
                lot,
                None,
                units - on_hand,
                int(stored["on_hand"]),
                cmd.note,
            )

    async def move(self, cmd: Move) -> None:
        source = await self.location(cmd.from_location)
        target = await self.location(cmd.to_location)
        for line in cmd.lines:
            product = await self.product(line.product)
            units = line.quantity * product.pack_size
            if line.lot is not None:
                after = await self.decrement(product, source, line.lot, units)
                parts = [(line.lot, line.expiry, units, after)]
            else:
                parts = await self.take_fefo(product, source, units)
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
        return MovementOutcome(self.env.key, tuple(self.records))


async def replay(conn: Connection, key: IdempotencyKey, fingerprint: str) -> MovementOutcome:
    """The first outcome of ``key``: its ledger rows, or its rejection raised again."""
    stored = await conn.fetchrow(q.FIND_IDEMPOTENCY_KEY, key)
    assert stored is not None, "replay() of a key that was never stored"
    if stored["fingerprint"] != fingerprint:
        raise IdempotencyConflictError(key)
    if stored["rejection"] is not None:
        raise rejection_from_dict(json.loads(stored["rejection"]))
    rows = await conn.fetch(q.MOVEMENTS_BY_KEY, key)
    return MovementOutcome(key, tuple(record_from_row(r) for r in rows), replayed=True)


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


async def _apply_in_transaction(conn: Connection, envelope: Envelope) -> MovementOutcome:
    """One envelope in its own transaction (or savepoint, inside a batch)."""
    try:
        async with conn.transaction():
            return await _Writer(conn, envelope).apply()
    except asyncpg.CheckViolationError as exc:
        # The database's own guard (never negative) caught what the rules did not.
        raise StockRejection(f"refused: it would break {exc.constraint_name}") from exc


async def _post_once(conn: Connection, envelopes: Sequence[Envelope]) -> list[Outcome]:
    if len(envelopes) == 1:
        envelope = envelopes[0]
        try:
            return [await _apply_in_transaction(conn, envelope)]
        except StockRejection as rejection:
            await _record_rejection(conn, envelope, rejection)
            return [rejection]
    outcomes: list[Outcome] = []
    async with conn.transaction():
        for envelope in envelopes:
            try:
                outcomes.append(await _apply_in_transaction(conn, envelope))
            except StockRejection as rejection:
                await _record_rejection(conn, envelope, rejection)
                outcomes.append(rejection)
    return outcomes


async def post_batch(pool: Pool | Connection, envelopes: Sequence[Envelope]) -> list[Outcome]:
    """Post envelopes in one transaction; one outcome per envelope, in order.

    Rejections come back as :class:`StockRejection` values (not raised). Raises
    :class:`DatabaseUnavailableError` when PostgreSQL cannot be reached; retrying the
    same envelopes later is safe.
    """
    if not envelopes:
        return []
    if len({e.key for e in envelopes}) != len(envelopes):
        raise InvalidMovementError("a batch cannot carry the same idempotency key twice")
    for attempt in range(MAX_ATTEMPTS):
        try:
            if not isinstance(pool, asyncpg.Pool):
                return await _post_once(pool, envelopes)
            async with pool.acquire() as conn:
                return await _post_once(conn, envelopes)
        except _RETRYABLE:
            if attempt == MAX_ATTEMPTS - 1:
                raise
            await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))
        except UNAVAILABLE_ERRORS as exc:
            raise DatabaseUnavailableError(f"PostgreSQL unavailable: {exc}") from exc
    raise AssertionError("unreachable")  # pragma: no cover


async def post(pool: Pool | Connection, envelope: Envelope) -> MovementOutcome:
    """Post one envelope; a rejection is raised."""
    (outcome,) = await post_batch(pool, [envelope])
    if isinstance(outcome, StockRejection):
        raise outcome
    return outcome
