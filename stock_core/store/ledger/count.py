"""Counts on the ledger's row-at-a-time path: a scanned count of a location (kept on its
count task while one is open), a count by serial, and the confirmed lines of a count
task. Rules: :func:`~stock_core.domain.allocation.reconcile_count`.

Each sets the stock rows counted and writes a ``count`` row for every change, in the
envelope's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence

from stock_core.domain.allocation import CountedLine
from stock_core.domain.allocation import LotStock
from stock_core.domain.allocation import counted_by_product
from stock_core.domain.allocation import reconcile_count
from stock_core.domain.allocation import total_counted
from stock_core.domain.count_task import CountPosting
from stock_core.domain.count_task import covers
from stock_core.domain.movement import Count
from stock_core.domain.movement import MovementKind
from stock_core.domain.serial import Tracking
from stock_core.errors import InvalidMovementError
from stock_core.errors import TrackingError
from stock_core.store.count_tasks.recording import open_task_at
from stock_core.store.count_tasks.recording import record_count
from stock_core.store.ledger import sql as q
from stock_core.store.ledger.rows import PostedProduct
from stock_core.store.ledger.rows import RowWriter
from stock_core.store.serials import lock_serials_at

__all__ = ["count", "post_count_lines"]


async def count(w: RowWriter, cmd: Count) -> None:
    location = await w.location(cmd.location)
    counted: list[CountedLine] = []
    products: dict[int, PostedProduct] = {}
    serials: dict[int, list[str]] = {}
    for line in cmd.lines:
        product = await w.product(line.product)
        products[product.id] = product
        if product.tracking is Tracking.SERIAL and line.quantity == 0 and not line.serials:
            serials.setdefault(product.id, [])  # none of it here
            continue
        w.check_tracking(product, line.serials, line.lot)
        if line.serials:
            serials.setdefault(product.id, []).extend(line.serials)
            continue
        counted.append(
            CountedLine(product.id, product.sku, line.lot or "", line.quantity * product.pack_size)
        )
    totals = total_counted(counted)
    task = await open_task_at(w.conn, location[0])
    if task is not None:  # kept on the task until a manager confirms it
        if serials:
            sku = products[next(iter(serials))].sku
            raise TrackingError(
                sku,
                Tracking.SERIAL,
                f"{sku} is serial-tracked: count it by serial outside the count task "
                f"of {location[1]}",
            )
        units_of = {key: units for key, (_, units) in totals.items()}
        await record_count(w.conn, task, location, units_of, w.env.key, w.env.actor, w.env.scanner)
        return
    for product_id, found in serials.items():
        await _count_serials(w, products[product_id], location, found, cmd.note)
    for product_id, lots in counted_by_product(counted).items():
        rows = await w.conn.fetch(q.LOCK_LOTS_FOR_PICK, product_id, location[0])
        held = [LotStock(r["lot"], r["expiry"], r["on_hand"], r["reserved"]) for r in rows]
        await _set_counted(w, products[product_id], location, held, lots, cmd.note)


async def _set_counted(
    w: RowWriter,
    product: PostedProduct,
    location: tuple[int, str],
    held: Sequence[LotStock],
    counted: Mapping[str, int],
    note: str | None,
) -> None:
    """A count of ``product`` at ``location`` applied: each of its stock rows ``held``
    (locked) set as :func:`reconcile_count` says for the units ``counted`` per lot, and
    a ``count`` row written for each change."""
    what = f"{product.sku} at {location[1]}"
    for change in reconcile_count(held, counted, what):
        stored = await w.conn.fetchrow(
            q.SET_STOCK, product.id, location[0], change.lot, change.after
        )
        assert stored is not None
        await w.write_row(
            MovementKind.COUNT,
            product,
            location,
            change.lot,
            None,
            change.after - change.before,
            int(stored["on_hand"]),
            note,
        )


async def _count_serials(
    w: RowWriter,
    product: PostedProduct,
    location: tuple[int, str],
    found: list[str],
    note: str | None,
) -> None:
    """On hand at ``location`` becomes the serials ``found`` there: each one in stock
    here and not found goes missing, each one found and not here comes in (refused
    when it is in stock elsewhere or in transit)."""
    if len(set(found)) != len(found):
        raise InvalidMovementError(f"a count names each serial of {product.sku} once")
    here = {state.serial: state for state in await lock_serials_at(w.conn, product.id, location[0])}
    for serial, state in here.items():
        if serial not in found:
            after = await w.decrement(product, location, state.lot, 1)
            await w.write_row(
                MovementKind.COUNT,
                product,
                location,
                state.lot,
                None,
                -1,
                after,
                note,
                serial=serial,
            )
    for serial in found:
        if serial in here:
            continue
        await w.arriving(product, serial)
        after = await w.increment(product, location, "", None, 1)
        await w.write_row(
            MovementKind.COUNT, product, location, "", None, 1, after, note, serial=serial
        )


async def post_count_lines(w: RowWriter, postings: Sequence[CountPosting]) -> None:
    """Set the stock rows each confirmed count-task line stands for to its count."""
    for posting in postings:
        product = PostedProduct(posting.product_id, posting.sku, 1)
        await w.lock(product)
        location = (posting.location_id, posting.location)
        rows = await w.conn.fetch(q.LOCK_LOTS_FOR_PICK, product.id, location[0])
        held = [
            LotStock(r["lot"], r["expiry"], r["on_hand"], r["reserved"])
            for r in rows
            if covers(posting.line, r["lot"])
        ]
        await _set_counted(
            w, product, location, held, {posting.line.lot: posting.line.counted}, None
        )
