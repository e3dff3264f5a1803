"""The writer's primitives: resolve and lock a product, find a location, change a
stock row, take lots first-expiry-first, write a ledger row with its event."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from stock_core.domain.allocation import LotStock
from stock_core.domain.allocation import allocate_fefo
from stock_core.domain.allocation import total_available
from stock_core.domain.capacity import room_refusal
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import MovementKind
from stock_core.domain.movement import MovementRecord
from stock_core.domain.movement import ProductRef
from stock_core.domain.serial import SerialState
from stock_core.domain.serial import SerialStatus
from stock_core.domain.serial import Tracking
from stock_core.domain.serial import arrival_refusal
from stock_core.domain.serial import departure_refusal
from stock_core.domain.serial import status_after
from stock_core.domain.serial import tracking_refusal
from stock_core.errors import InsufficientStockError
from stock_core.errors import QuarantinedStockError
from stock_core.errors import UnknownLocationError
from stock_core.errors import UnknownProductError
from stock_core.store import capacity
from stock_core.store.connection import Connection
from stock_core.store.ledger import sql as q
from stock_core.store.orders.reservation import LockedProduct
from stock_core.store.orders.reservation import lock_product
from stock_core.store.serials import lock_serial
from stock_core.store.serials import set_serial
from stock_core.store.stock import sql as stock_sql
from stock_core.types import LocationCode
from stock_core.types import MovementId
from stock_core.types import ReasonCode
from stock_core.types import Sku

__all__ = ["PostedProduct", "RowWriter", "Taken"]


class Taken(NamedTuple):
    """Units taken from one lot, and what is left on hand there."""

    lot: str
    expiry: date | None
    units: int
    on_hand_after: int


class PostedProduct:
    __slots__ = ("id", "pack_size", "sku", "tracking")

    def __init__(
        self, id_: int, sku: str, pack_size: int, tracking: Tracking = Tracking.NONE
    ) -> None:
        self.id = id_
        self.sku = sku
        self.pack_size = pack_size
        self.tracking = tracking


class RowWriter:
    """The state of one envelope being applied, and the row-level steps its commands use."""

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
        self.transfer: tuple[int, str] | None = None
        """The transfer (id, number) the rows written next ship or receive."""

    async def product(self, ref: ProductRef) -> PostedProduct:
        """Resolve a SKU or barcode and lock the product row, in one round trip."""
        row = await self.conn.fetchrow(q.FIND_PRODUCT_FOR_UPDATE, ref.barcode, ref.sku)
        if row is None:
            raise UnknownProductError(ref.sku if ref.sku is not None else str(ref.barcode))
        product = PostedProduct(row["id"], row["sku"], row["pack_size"], Tracking(row["tracking"]))
        self._locked.setdefault(
            product.id, LockedProduct(product.id, product.sku, int(row["reorder_point"]))
        )
        return product

    async def lock(self, product: PostedProduct) -> LockedProduct:
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
        product: PostedProduct,
        location: tuple[int, str],
        lot: str,
        expiry: date | None,
        delta: int,
        on_hand_after: int,
        note: str | None,
        reverses: int | None = None,
        reason: ReasonCode | None = None,
        serial: str | None = None,
        gone: SerialStatus | None = None,
    ) -> None:
        """Write one ledger row and its event. A row with a ``serial`` moves that one unit
        and records where the serial is now: in stock here when it adds it, else as
        :func:`~stock_core.domain.serial.status_after` says (or ``gone``, for an undo;
        ``None`` there forgets a serial that never was before)."""
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
            serial,
            None if self.transfer is None else self.transfer[0],
            None if self.transfer is None else self.transfer[1],
        )
        assert row is not None
        if serial is not None:
            status = (
                status_after(kind, delta) if delta > 0 or kind is not MovementKind.UNDO else gone
            )
            here = location[0] if status is SerialStatus.IN_STOCK else None
            await set_serial(self.conn, product.id, serial, status, here, lot)
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
                serial=serial,
                warehouse=row["warehouse"],
            )
        )

    async def increment(
        self,
        product: PostedProduct,
        location: tuple[int, str],
        lot: str,
        expiry: date | None,
        n: int,
    ) -> int:
        on_hand = await self.conn.fetchval(
            q.INCREMENT_STOCK, product.id, location[0], lot, expiry, n
        )
        return int(on_hand)

    async def decrement(
        self,
        product: PostedProduct,
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
        product: PostedProduct,
        location: tuple[int, str],
        units: int,
        *,
        picking: bool = True,
        expired_too: bool = False,
    ) -> list[Taken]:
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
            taken.append(Taken(lot, expiries[lot], n, after))
        return taken

    # -- serials -----------------------------------------------------------------

    def check_tracking(
        self,
        product: PostedProduct,
        serials: tuple[str, ...],
        lot: str | None,
        *,
        arriving: bool = False,
    ) -> None:
        refusal = tracking_refusal(
            product.sku,
            product.tracking,
            serials=serials,
            lot=lot,
            pack_size=product.pack_size,
            arriving=arriving,
        )
        if refusal is not None:
            raise refusal

    async def arriving(self, product: PostedProduct, serial: str) -> None:
        """Lock ``serial`` and refuse it when it is in stock or in transit already."""
        refusal = arrival_refusal(
            product.sku, serial, await lock_serial(self.conn, product.id, serial)
        )
        if refusal is not None:
            raise refusal

    async def departing(
        self, product: PostedProduct, serial: str, location: tuple[int, str]
    ) -> SerialState:
        """Lock ``serial`` and refuse it unless it is in stock at ``location``."""
        state = await lock_serial(self.conn, product.id, serial)
        refusal = departure_refusal(product.sku, serial, state, location[0], location[1])
        if refusal is not None:
            raise refusal
        assert state is not None
        return state

    async def serial_leaves(
        self, product: PostedProduct, serial: str, source: tuple[int, str], *, picking: bool
    ) -> Taken:
        """One unit, ``serial``, taken out of ``source`` (where it must be): its lot, that
        lot's expiry there and what is left on hand. The caller writes the ledger row."""
        held = await self.departing(product, serial, source)
        after = await self.decrement(product, source, held.lot, 1, picking=picking)
        row = await self.conn.fetchrow(q.STOCK_ROW, product.id, source[0], held.lot)
        return Taken(held.lot, None if row is None else row["expiry"], 1, after)

    async def serial_arrives(
        self,
        kind: MovementKind,
        product: PostedProduct,
        target: tuple[int, str],
        lot: str,
        expiry: date | None,
        serial: str,
        note: str | None,
    ) -> None:
        """One unit, ``serial``, put at ``target`` in ``lot``, and its ledger row."""
        after = await self.increment(product, target, lot, expiry, 1)
        await self.write_row(kind, product, target, lot, expiry, 1, after, note, serial=serial)

    # -- commands ----------------------------------------------------------------

    async def make_room(
        self, location: tuple[int, str], product: PostedProduct, units: int
    ) -> None:
        """Refuse adding ``units`` of ``product`` beyond ``location``'s capacity (if any)."""
        limited = await capacity.limits(self.conn, [location[0]])
        if not limited:
            return
        load = (await capacity.loads(self.conn, [location[0]]))[location[0]]
        size = (await capacity.sizes(self.conn, [product.id]))[product.id]
        refusal = room_refusal(limited[location[0]], load, size, units)
        if refusal is not None:
            raise refusal
