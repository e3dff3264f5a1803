"""Plain movements posted set-wise: arrays in, a handful of statements per batch.

A run of plain envelopes (see :func:`stock_core.domain.batch.is_plain`) is posted
inside the caller's transaction in four round trips whatever its length:

1. record the idempotency keys (``ON CONFLICT`` tells replays apart), resolve the
   product references and lock the products, in id order (so two batches never wait
   on each other in a cycle, whether they named a product by SKU or by barcode);
2. find the locations the process has not cached yet (usually none);
3. read, under those locks, each product's totals, active alerts, whether it has
   backorders waiting, and its stock rows where the batch moves it;
4. write stock deltas, ledger rows, ``stock.changed`` events and refusals in one
   statement, as planned in Python between 3 and 4
   (:func:`stock_core.domain.batch.plan_batch`: refusals, FEFO, pack sizes, the
   figures each event carries).

Then, only for the products that need it: waiting backorders filled (when stock
grew and some wait) and alerts raised or cleared (when the figures cross a line).
Replayed keys answer their first outcome (:func:`stock_core.store.ledger.idempotency.replay`).
Statements read stock only after the statement that locked the products, so their
snapshot sees every change committed before the locks were granted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from typing import Final
from typing import cast

from asyncpg import Record

from stock_core.domain.batch import PlanItem
from stock_core.domain.batch import PlannedRow
from stock_core.domain.batch import ProductFacts
from stock_core.domain.batch import StockFacts
from stock_core.domain.batch import plan_batch
from stock_core.domain.capacity import Capacity
from stock_core.domain.capacity import Load
from stock_core.domain.capacity import UnitSize
from stock_core.domain.movement import Adjust
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import MovementOutcome
from stock_core.domain.movement import MovementRecord
from stock_core.domain.movement import Outcome
from stock_core.domain.movement import Pick
from stock_core.domain.movement import Receive
from stock_core.domain.movement import request_fingerprint
from stock_core.domain.movement import validate_command
from stock_core.domain.serial import Tracking
from stock_core.errors import InvalidMovementError
from stock_core.errors import StockRejection
from stock_core.store import capacity
from stock_core.store.connection import Connection
from stock_core.store.ledger.idempotency import replay
from stock_core.store.orders.reservation import LockedProduct
from stock_core.store.orders.reservation import apply_alerts
from stock_core.store.orders.reservation import fill_backorders
from stock_core.store.orders.reservation import refresh_alerts
from stock_core.types import LocationCode
from stock_core.types import MovementId
from stock_core.types import Sku

__all__ = ["LocationCache", "post_plain"]

_Plain = Receive | Pick | Adjust
"""What :func:`stock_core.domain.batch.is_plain` lets through."""

LocationCache = dict[str, tuple[int, str]]
"""Location code → (id, code), shared by writers of one process (codes keep their id)."""

FIND_LOCATIONS: Final = """
SELECT r.code, l.id, l.code AS canonical
FROM unnest($1::text[]) AS r(code)
CROSS JOIN LATERAL (
    SELECT id, code FROM locations WHERE code = r.code
    UNION ALL
    SELECT id, code FROM locations WHERE gln = r.code
    LIMIT 1
) l
"""

# Record the keys ($3, $4: ON CONFLICT leaves replays out of ``fresh``), resolve every
# reference (barcode first, else SKU) and lock the products in id order: one round trip.
# It also sets ``plan_cache_mode`` for the rest of the transaction: PostgreSQL planned
# PRODUCT_FACTS and WRITE_PLAN afresh on every call (their arrays made the generic plan
# look costlier), 1.1 ms of planning for a batch of one against 1.7 ms of execution
# (pg_stat_statements, benchmarks/bench_throughput.py --statements); their generic
# plans execute no slower. Local to the transaction: other statements keep the default.
KEYS_AND_LOCKS: Final = """
WITH k AS (
    INSERT INTO idempotency_keys (key, fingerprint)
    SELECT * FROM unnest($3::text[], $4::text[])
    ON CONFLICT (key) DO NOTHING
    RETURNING key
), ref AS (
    SELECT r.ord, coalesce(b.product_id, p.id) AS product_id,
           coalesce(b.pack_size, 1) AS pack_size
    FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(barcode, sku, ord)
    LEFT JOIN product_barcodes b ON b.code = r.barcode
    LEFT JOIN products p ON p.sku = r.sku AND r.barcode IS NULL
), locked AS (
    SELECT p.id, p.sku, p.reorder_point, p.tracking FROM products p
    WHERE p.id IN (SELECT product_id FROM ref)
    ORDER BY p.id
    FOR NO KEY UPDATE
)
SELECT ref.ord, ref.pack_size, l.id, l.sku, l.reorder_point, l.tracking,
       stockd_today() AS today,
       ARRAY(SELECT key FROM k) AS fresh,
       set_config('plan_cache_mode', 'force_generic_plan', true) AS plan_cache_mode
FROM ref LEFT JOIN locked l ON l.id = ref.product_id
ORDER BY ref.ord
"""

# Run after KEYS_AND_LOCKS, so its snapshot holds every commit made before the locks.
# $6: the locations the batch receives into; ``limited`` names those with a capacity
# limit (the same on every row), which are then locked and read apart (store.capacity).
# $2, $3: (product, location) pairs the batch moves; $4: those a pick without a lot
# draws from (true) or not; $5: the lots the batch names there. Rows: each row holding
# stock at a pair a pick draws from, and each named lot's row even when empty (so the
# plan updates, not inserts, a row that exists): never every lot ever received. Each
# pair's totals over all its lots come as sums, expired units (not reserved) apart.
PRODUCT_FACTS: Final = """
WITH pair AS (
    SELECT * FROM unnest($2::integer[], $3::integer[], $4::boolean[], $5::text[])
        AS pair(product_id, location_id, fefo, lot)
), limited AS MATERIALIZED (
    SELECT coalesce(array_agg(id), '{}') AS ids FROM locations
    WHERE id = ANY($6::integer[]) AND (max_weight_g IS NOT NULL OR max_volume_cm3 IS NOT NULL)
)
SELECT p.id, (SELECT ids FROM limited) AS limited,
       coalesce((SELECT sum(s.on_hand) FROM stock s WHERE s.product_id = p.id), 0)::bigint
           AS on_hand,
       coalesce((SELECT sum(s.reserved) FROM stock s WHERE s.product_id = p.id), 0)::bigint
           AS reserved,
       coalesce((SELECT sum(s.on_hand - s.reserved) FROM stock s
                 WHERE s.product_id = p.id AND stockd_expired(s.expiry)
                   AND NOT s.quarantined), 0)::bigint
           AS expired,
       coalesce((SELECT sum(s.on_hand) FROM stock s
                 WHERE s.product_id = p.id AND s.quarantined), 0)::bigint AS quarantined,
       ARRAY(SELECT l.id FROM locations l
             WHERE l.type = 'quarantine'
               AND l.id IN (SELECT location_id FROM pair WHERE product_id = p.id))
           AS quarantine,
       ARRAY(SELECT a.kind FROM alerts a
             WHERE a.product_id = p.id AND a.cleared_at IS NULL
               AND a.kind <> 'projected_stockout') AS active_alerts,
       EXISTS (SELECT 1 FROM order_lines ol JOIN orders o ON o.id = ol.order_id
               WHERE ol.product_id = p.id AND ol.backordered > 0 AND o.status = 'open')
           AS backordered,
       ARRAY(SELECT ROW(s.location_id, s.lot, s.expiry, s.on_hand, s.reserved, s.quarantined)
             FROM stock s
             WHERE s.product_id = p.id
               AND ((s.on_hand > 0 AND s.location_id IN (
                        SELECT location_id FROM pair WHERE product_id = p.id AND fefo))
                    OR (s.location_id, s.lot) IN (
                        SELECT location_id, lot FROM pair WHERE product_id = p.id)))
           AS rows,
       ARRAY(SELECT ROW(s.location_id, sum(s.on_hand)::bigint, sum(s.reserved)::bigint,
                        coalesce(sum(s.on_hand - s.reserved)
                                 FILTER (WHERE stockd_expired(s.expiry)
                                           AND NOT s.quarantined), 0)::bigint)
             FROM stock s
             WHERE s.product_id = p.id
               AND s.location_id IN (SELECT location_id FROM pair WHERE product_id = p.id)
             GROUP BY s.location_id) AS at_locations
FROM unnest($1::integer[]) AS p(id)
"""

WRITE_PLAN: Final = """
WITH d AS (
    SELECT * FROM unnest($1::integer[], $2::integer[], $3::text[], $4::date[], $5::bigint[],
                         $22::boolean[])
        AS d(product_id, location_id, lot, expiry, delta, fresh)
), changed AS (
    UPDATE stock s
    SET on_hand = s.on_hand + d.delta, expiry = coalesce(s.expiry, d.expiry), updated_at = now()
    FROM d
    WHERE NOT d.fresh
      AND (s.product_id, s.location_id, s.lot) = (d.product_id, d.location_id, d.lot)
), added AS (
    -- A CHECK is tested on the row as proposed, before ON CONFLICT: only rows the plan
    -- starts from zero are inserted (never with a negative delta).
    INSERT INTO stock (product_id, location_id, lot, expiry, on_hand)
    SELECT product_id, location_id, lot, expiry, delta FROM d WHERE d.fresh
), refused AS (
    UPDATE idempotency_keys k SET rejection = r.rejection::jsonb
    FROM unnest($6::text[], $7::text[]) AS r(key, rejection)
    WHERE k.key = r.key
), i AS (
    SELECT * FROM unnest($8::text[], $9::integer[], $10::integer[], $11::text[], $12::date[],
                         $13::bigint[], $14::bigint[], $15::text[], $16::smallint[],
                         $17::text[], $18::text[], $19::bigint[], $20::text[], $21::text[],
                         $23::text[])
        WITH ORDINALITY AS i(kind, product_id, location_id, lot, expiry, delta, on_hand_after,
                             key, part, actor, scanner, scan_seq, note, payload, operator, ord)
), m AS (
    INSERT INTO movements (kind, product_id, location_id, lot, expiry, delta, on_hand_after,
                           idempotency_key, part, actor, scanner, scan_seq, note, operator)
    SELECT kind, product_id, location_id, lot, expiry, delta, on_hand_after,
           key, part, actor, scanner, scan_seq, note, operator
    FROM i ORDER BY ord
    RETURNING id, ts, idempotency_key, part, location_id
), e AS (
    INSERT INTO outbox (type, payload)
    SELECT 'stock.changed',
           i.payload::jsonb || jsonb_build_object('zone', l.zone, 'warehouse', l.warehouse,
                                                  'movement_id', m.id, 'movement_ts', m.ts)
    FROM m
    JOIN i ON i.key = m.idempotency_key AND i.part = m.part
    JOIN locations l ON l.id = i.location_id
    ORDER BY m.id
)
SELECT m.id, m.ts, m.idempotency_key, m.part, l.warehouse
FROM m JOIN locations l ON l.id = m.location_id
"""


async def _locations(
    conn: Connection, codes: set[str], cache: LocationCache
) -> dict[str, tuple[int, str]]:
    found = {code: cache[code] for code in codes if code in cache}
    missing = [code for code in codes if code not in found]
    if missing:
        for row in await conn.fetch(FIND_LOCATIONS, missing):
            found[row["code"]] = (row["id"], row["canonical"])
            if row["code"] == row["canonical"]:  # codes never change their id; a GLN may move
                cache[row["code"]] = (row["id"], row["canonical"])
    return found


_COMPACT_JSON: Final = json.JSONEncoder(separators=(",", ":"))
"""One encoder for every event payload (``json.dumps`` with options builds one a call)."""


def _payload(env: Envelope, row: PlannedRow) -> str:
    return _COMPACT_JSON.encode(
        {
            "sku": row.sku,
            "location": row.location,
            "lot": row.lot,
            "kind": row.kind.value,
            "delta": row.delta,
            "on_hand": row.location_on_hand,
            "available": row.location_available,
            "product_on_hand": row.product_on_hand,
            "product_available": row.product_available,
            "scanner": env.scanner,
            "scan_seq": env.scan_seq,
            "actor": env.actor,
            "operator": env.operator,
            "reason": None,
            "serial": None,
        }
    )


async def post_plain(
    conn: Connection, envelopes: Sequence[Envelope], locations: LocationCache
) -> list[Outcome]:
    """Post plain envelopes inside the caller's transaction; one outcome each, in order."""
    outcomes: list[Outcome | None] = [None] * len(envelopes)
    fingerprints: dict[int, str] = {}
    for n, env in enumerate(envelopes):
        try:
            validate_command(env.command)
        except InvalidMovementError as exc:
            outcomes[n] = exc  # a bad request is not a first result: its key stays free
            continue
        fingerprints[n] = request_fingerprint(env)
    if not fingerprints:
        return [o for o in outcomes if o is not None]
    valid = list(fingerprints)
    refs = [cast(_Plain, envelopes[n].command).product for n in valid]
    locked = await conn.fetch(
        KEYS_AND_LOCKS,
        [r.barcode for r in refs],
        [r.sku for r in refs],
        [envelopes[n].key for n in valid],
        list(fingerprints.values()),
    )
    fresh = set(locked[0]["fresh"])
    todo = [n for n in valid if envelopes[n].key in fresh]
    for n in valid:
        if envelopes[n].key not in fresh:
            try:
                outcomes[n] = await replay(conn, envelopes[n].key, fingerprints[n])
            except StockRejection as rejection:
                outcomes[n] = rejection
    if todo:
        rows = dict(zip(valid, locked, strict=True))
        fresh_envelopes = [envelopes[n] for n in todo]
        locks = [rows[n] for n in todo]
        await _post_fresh(conn, fresh_envelopes, locks, todo, outcomes, locations)
    assert all(o is not None for o in outcomes)
    return outcomes  # type: ignore[return-value]


async def _post_fresh(
    conn: Connection,
    envelopes: list[Envelope],
    products: list[Record],
    slots: list[int],
    outcomes: list[Outcome | None],
    cache: LocationCache,
) -> None:
    """Plan and write the envelopes whose keys are new (``products``: their lock rows)."""
    codes = [str(cast(_Plain, env.command).location) for env in envelopes]
    found = await _locations(conn, set(codes), cache)
    ids = sorted({r["id"] for r in products if r["id"] is not None})
    wanted: dict[tuple[int, int, str], bool] = {}  # (product, location, lot) -> FEFO
    for row, env, code in zip(products, envelopes, codes, strict=True):
        if row["id"] is not None and code in found:
            command = cast(_Plain, env.command)
            fefo = isinstance(command, Pick) and command.lot is None
            key = (row["id"], found[code][0], command.lot or "")
            wanted[key] = wanted.get(key, False) or fefo
    columns: list[list[Any]] = [[], [], [], []]
    for (pid, lid, lot), fefo in wanted.items():
        for column, value in zip(columns, (pid, lid, fefo, lot), strict=True):
            column.append(value)
    receiving = sorted(
        {
            found[code][0]
            for env, code in zip(envelopes, codes, strict=True)
            if isinstance(env.command, Receive) and code in found
        }
    )
    facts_rows = await conn.fetch(PRODUCT_FACTS, ids, *columns, receiving) if ids else []
    product_rows = {r["id"]: r for r in products if r["id"] is not None}
    facts: dict[int, ProductFacts] = {}
    stock: list[StockFacts] = []
    at_locations: dict[tuple[int, int], tuple[int, int, int]] = {}
    quarantine: set[int] = set()
    active: dict[int, list[str]] = {}
    waiting: set[int] = set()
    for f in facts_rows:
        pid = f["id"]
        facts[pid] = ProductFacts(
            pid,
            product_rows[pid]["sku"],
            int(product_rows[pid]["reorder_point"]),
            int(f["on_hand"]),
            int(f["reserved"]),
            int(f["expired"]),
            int(f["quarantined"]),
            Tracking(product_rows[pid]["tracking"]),
        )
        quarantine.update(f["quarantine"])
        active[pid] = list(f["active_alerts"])
        if f["backordered"]:
            waiting.add(pid)
        stock.extend(StockFacts(pid, *row) for row in f["rows"])
        for location_id, on_hand, reserved, expired in f["at_locations"]:
            at_locations[(pid, location_id)] = (on_hand, reserved, expired)
    items = [
        PlanItem(
            env,
            facts.get(row["id"]) if row["id"] is not None else None,
            int(row["pack_size"]),
            found.get(code),
        )
        for env, row, code in zip(envelopes, products, codes, strict=True)
    ]
    limited = list(facts_rows[0]["limited"]) if facts_rows else []
    limits: dict[int, Capacity] = {}
    loads: dict[int, Load] = {}
    sizes: dict[int, UnitSize] = {}
    if limited:  # only batches receiving into a location with a limit pay for this
        limits = await capacity.limits(conn, limited)
        loads = await capacity.loads(conn, limits)
        sizes = await capacity.sizes(conn, facts)
    plan = plan_batch(
        items,
        facts.values(),
        stock,
        products[0]["today"],
        at_locations,
        limits,
        loads,
        sizes,
        quarantine,
    )
    stock_cols: list[list[Any]] = [[], [], [], [], []]
    fresh: list[bool] = []
    for key, delta in plan.deltas.items():
        for col, value in zip(stock_cols, (*key, plan.expiries[key], delta), strict=True):
            col.append(value)
        fresh.append(key in plan.new_rows)
    refused_keys: list[str] = []
    refused_why: list[str] = []
    rows: list[list[Any]] = [[] for _ in range(14)]
    operators: list[str | None] = []
    for env, outcome in zip(envelopes, plan.outcomes, strict=True):
        if isinstance(outcome, StockRejection):
            refused_keys.append(env.key)
            refused_why.append(json.dumps(outcome.to_dict()))
            continue
        for planned in outcome:
            values = (
                planned.kind.value,
                planned.product_id,
                planned.location_id,
                planned.lot,
                planned.expiry,
                planned.delta,
                planned.on_hand_after,
                env.key,
                planned.part,
                env.actor,
                env.scanner,
                env.scan_seq,
                cast(_Plain, env.command).note,
                _payload(env, planned),
            )
            for col, value in zip(rows, values, strict=True):
                col.append(value)
            operators.append(env.operator)
    written = await conn.fetch(
        WRITE_PLAN, *stock_cols, refused_keys, refused_why, *rows, fresh, operators
    )
    ids_of = {
        (r["idempotency_key"], r["part"]): (r["id"], r["ts"], r["warehouse"]) for r in written
    }
    for slot, env, outcome in zip(slots, envelopes, plan.outcomes, strict=True):
        if isinstance(outcome, StockRejection):
            outcomes[slot] = outcome
            continue
        records = []
        for planned in outcome:
            movement_id, ts, warehouse = ids_of[(env.key, planned.part)]
            records.append(
                MovementRecord(
                    id=MovementId(movement_id),
                    ts=ts,
                    kind=planned.kind,
                    sku=Sku(planned.sku),
                    location=LocationCode(planned.location),
                    lot=planned.lot,
                    delta=planned.delta,
                    on_hand_after=planned.on_hand_after,
                    scanner=env.scanner,
                    scan_seq=env.scan_seq,
                    actor=env.actor,
                    note=cast(_Plain, env.command).note,
                    operator=env.operator,
                    warehouse=warehouse,
                )
            )
        outcomes[slot] = MovementOutcome(env.key, tuple(records))
    for pid, available in plan.available.items():
        product = facts[pid]
        locked = LockedProduct(pid, product.sku, product.reorder_point)
        if pid in plan.received and pid in waiting:
            await fill_backorders(conn, locked)
            await refresh_alerts(conn, locked)  # the fill changed what is available
            continue
        await apply_alerts(conn, locked, available, plan.expired[pid], active[pid])
