"""Webhook subscriptions and their deliveries, in PostgreSQL so they survive restarts.

Two steps, both safe on any number of web nodes at once:

* **Enqueue** (:func:`enqueue`): under a transaction-level advisory lock, read the feed
  after the furthest-behind subscription's ``cursor`` (sequenced events only, in seq
  order: the one event path), plan each subscription's deliveries
  (:func:`stock_core.domain.webhook.plan_deliveries`), write them, drop unsent
  coalesced ones they replace, and move the cursors. One page a call.
* **Send**: a node *claims* an endpoint with due deliveries (``FOR UPDATE SKIP LOCKED``
  and a lease: ``lease_owner``, ``lease_until``) and sends its queue in seq order, one
  delivery at a time, renewing the lease before each attempt (:func:`next_due`). A
  node that dies lets its lease run out; another takes the endpoint over. The lease is
  longer than a request's timeout, so two nodes never send one endpoint's events.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from typing import Final

from stock_core.domain.webhook import Subscriber
from stock_core.domain.webhook import next_attempt_delay
from stock_core.domain.webhook import plan_deliveries
from stock_core.errors import NotFoundError
from stock_core.model import Delivery
from stock_core.model import DeliveryAttempt
from stock_core.model import DueDelivery
from stock_core.model import Endpoint
from stock_core.model import Webhook
from stock_core.store.connection import Connection
from stock_core.store.outbox import sql as feed_sql
from stock_core.store.records import from_record

__all__ = [
    "KEEP_DAYS",
    "claim",
    "create_webhook",
    "delete_webhook",
    "enqueue",
    "get_webhook",
    "list_deliveries",
    "list_webhooks",
    "next_due",
    "prune",
    "record_attempt",
    "redeliver",
    "release",
]

_ENQUEUE_LOCK: Final = "SELECT pg_try_advisory_xact_lock(hashtext('stockd_webhooks_enqueue'))"

_INSERT_WEBHOOK: Final = """
INSERT INTO webhooks (url, events, secret, description, created_by, cursor)
VALUES ($1, $2, $3, $4, $5, (SELECT coalesce(max(seq), 0) FROM feed))
RETURNING id
"""

_WEBHOOK_COLUMNS: Final = """
SELECT w.id, w.url, w.events, w.secret, w.description, w.created_at, w.created_by, w.cursor,
       (SELECT count(*) FROM webhook_deliveries d
        WHERE d.webhook_id = w.id AND d.status = 'pending') AS pending,
       (SELECT count(*) FROM webhook_deliveries d
        WHERE d.webhook_id = w.id AND d.status = 'failed') AS failed
FROM webhooks w
"""

_WEBHOOK_BY_ID: Final = _WEBHOOK_COLUMNS + " WHERE w.id = $1"

_LIST_WEBHOOKS: Final = _WEBHOOK_COLUMNS + " WHERE w.id > $1 ORDER BY w.id LIMIT $2"

_DELETE_WEBHOOK: Final = "DELETE FROM webhooks WHERE id = $1 RETURNING id"

# KEY SHARE: a subscription deleted meanwhile waits for this page's deliveries.
_SUBSCRIBERS: Final = "SELECT id, events, cursor FROM webhooks ORDER BY id FOR KEY SHARE"

_DROP_COALESCED: Final = """
DELETE FROM webhook_deliveries d
USING unnest($1::bigint[], $2::text[]) AS x(webhook_id, coalesce_key)
WHERE d.webhook_id = x.webhook_id AND d.coalesce_key = x.coalesce_key
  AND d.status = 'pending' AND d.attempts = 0
"""

_INSERT_DELIVERIES: Final = """
INSERT INTO webhook_deliveries (webhook_id, msg_id, seq, type, coalesce_key, body)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])
ON CONFLICT (webhook_id, msg_id) DO NOTHING
"""

_MOVE_CURSORS: Final = (
    "UPDATE webhooks SET cursor = $1 WHERE cursor < $1 AND id = ANY($2::bigint[])"
)

_CLAIM: Final = """
UPDATE webhooks w SET lease_owner = $1, lease_until = now() + make_interval(secs => $2)
FROM (
    SELECT id FROM webhooks h
    WHERE (h.lease_until IS NULL OR h.lease_until < now() OR h.lease_owner = $1)
      AND NOT (h.id = ANY($4::bigint[]))
      AND EXISTS (SELECT 1 FROM webhook_deliveries d
                  WHERE d.webhook_id = h.id AND d.status = 'pending'
                    AND d.next_attempt_at <= now())
    ORDER BY id LIMIT $3
    FOR UPDATE SKIP LOCKED
) c
WHERE w.id = c.id
RETURNING w.id, w.url, w.secret
"""

_RENEW: Final = """
UPDATE webhooks SET lease_until = now() + make_interval(secs => $3)
WHERE id = $1 AND lease_owner = $2
RETURNING id
"""

_HEAD: Final = """
SELECT id, msg_id, seq, type, body, attempts, retry_from, next_attempt_at <= now() AS due,
       now() AS now
FROM webhook_deliveries
WHERE webhook_id = $1 AND status = 'pending'
ORDER BY seq LIMIT 1
"""

_RELEASE: Final = """
UPDATE webhooks SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2
"""

_DELIVERED: Final = """
UPDATE webhook_deliveries
SET status = 'delivered', attempts = attempts + 1, last_attempt_at = $2, last_status = $3,
    last_error = NULL, finished_at = now()
WHERE id = $1 AND status = 'pending'
"""

_FAILED_ATTEMPT: Final = """
UPDATE webhook_deliveries
SET attempts = attempts + 1, last_attempt_at = $2, last_status = $3, last_error = $4,
    next_attempt_at = now() + make_interval(secs => $5),
    status = CASE WHEN $5::float8 < 0 THEN 'failed' ELSE 'pending' END,
    finished_at = CASE WHEN $5::float8 < 0 THEN now() END
WHERE id = $1 AND status = 'pending'
"""

_DELIVERY_COLUMNS: Final = """
SELECT id, webhook_id, msg_id, seq, type, status, attempts, created_at, next_attempt_at,
       last_attempt_at, last_status, last_error, finished_at
FROM webhook_deliveries
"""

_LIST_DELIVERIES: Final = (
    _DELIVERY_COLUMNS
    + """ WHERE webhook_id = $1 AND id > $2 AND ($3::text IS NULL OR status = $3)
ORDER BY id LIMIT $4"""
)

_REDELIVER: Final = """
UPDATE webhook_deliveries
SET status = 'pending', attempts = 0, retry_from = now(), next_attempt_at = now(),
    finished_at = NULL
WHERE webhook_id = $1 AND id = $2
RETURNING id
"""

_DELIVERY_BY_ID: Final = _DELIVERY_COLUMNS + " WHERE webhook_id = $1 AND id = $2"

_PRUNE: Final = """
DELETE FROM webhook_deliveries WHERE id IN (
    SELECT id FROM webhook_deliveries
    WHERE status <> 'pending' AND finished_at < now() - make_interval(days => $1)
    LIMIT $2
)
"""

KEEP_DAYS = 30
"""Days a delivered or given-up delivery stays in the log."""


def _webhook(row: Any) -> Webhook:
    return from_record(Webhook, row, events=tuple(row["events"]))


def _delivery(row: Any) -> Delivery:
    return from_record(Delivery, row)


async def create_webhook(
    conn: Connection,
    url: str,
    events: Sequence[str],
    secret: str,
    *,
    description: str = "",
    created_by: str = "",
) -> Webhook:
    """A new subscription; it is sent the events sequenced from now on."""
    webhook_id = await conn.fetchval(
        _INSERT_WEBHOOK, url, list(events), secret, description, created_by
    )
    return await get_webhook(conn, webhook_id)


async def get_webhook(conn: Connection, webhook_id: int) -> Webhook:
    row = await conn.fetchrow(_WEBHOOK_BY_ID, webhook_id)
    if row is None:
        raise NotFoundError(f"no webhook {webhook_id}")
    return _webhook(row)


async def list_webhooks(conn: Connection, *, after: int = 0, limit: int = 100) -> list[Webhook]:
    return [_webhook(r) for r in await conn.fetch(_LIST_WEBHOOKS, after, limit)]


async def delete_webhook(conn: Connection, webhook_id: int) -> None:
    """Remove the subscription and its delivery log (nothing more is sent)."""
    if await conn.fetchval(_DELETE_WEBHOOK, webhook_id) is None:
        raise NotFoundError(f"no webhook {webhook_id}")


async def list_deliveries(
    conn: Connection,
    webhook_id: int,
    *,
    status: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[Delivery]:
    await get_webhook(conn, webhook_id)
    rows = await conn.fetch(_LIST_DELIVERIES, webhook_id, after, status, limit)
    return [_delivery(r) for r in rows]


async def redeliver(conn: Connection, webhook_id: int, delivery_id: int) -> Delivery:
    """Send a delivery again (same message id), retried for a day from now. It goes
    out before the endpoint's later events (its queue is in feed order)."""
    async with conn.transaction():
        if await conn.fetchval(_REDELIVER, webhook_id, delivery_id) is None:
            raise NotFoundError(f"no delivery {delivery_id} of webhook {webhook_id}")
        row = await conn.fetchrow(_DELIVERY_BY_ID, webhook_id, delivery_id)
    return _delivery(row)


async def enqueue(conn: Connection, limit: int = 500) -> int | None:
    """Offer the subscriptions the next page of the feed; returns the events read, or
    ``None`` when another node is enqueueing (or there is no subscription)."""
    async with conn.transaction():
        if not await conn.fetchval(_ENQUEUE_LOCK):
            return None
        rows = await conn.fetch(_SUBSCRIBERS)
        if not rows:
            return None
        subscribers = [Subscriber(r["id"], tuple(r["events"]), r["cursor"]) for r in rows]
        start = min(s.cursor for s in subscribers)
        events = [
            {
                "seq": r["seq"],
                "type": r["type"],
                "ts": r["ts"].isoformat(),
                **json.loads(r["payload"]),
            }
            for r in await conn.fetch(feed_sql.FEED_AFTER, start, limit)
        ]
        if not events:
            return 0
        planned = plan_deliveries(events, subscribers)
        coalesced = [(p.webhook_id, p.coalesce_key) for p in planned if p.coalesce_key]
        if coalesced:
            await conn.execute(
                _DROP_COALESCED, [w for w, _ in coalesced], [k for _, k in coalesced]
            )
        if planned:
            await conn.execute(
                _INSERT_DELIVERIES,
                [p.webhook_id for p in planned],
                [p.msg_id for p in planned],
                [p.seq for p in planned],
                [p.type for p in planned],
                [p.coalesce_key for p in planned],
                [p.body for p in planned],
            )
        await conn.execute(_MOVE_CURSORS, events[-1]["seq"], [s.id for s in subscribers])
        return len(events)


async def claim(
    conn: Connection, owner: str, lease: float, limit: int, held: Sequence[int]
) -> list[Endpoint]:
    """Endpoints with deliveries due that no other node sends for; leased to ``owner``."""
    rows = await conn.fetch(_CLAIM, owner, lease, limit, list(held))
    return [Endpoint(r["id"], r["url"], r["secret"]) for r in rows]


async def next_due(
    conn: Connection, webhook_id: int, owner: str, lease: float
) -> DueDelivery | None:
    """Renew the lease and return the endpoint's first pending delivery if it is due;
    ``None`` when nothing is due now (or the lease was lost)."""
    if await conn.fetchval(_RENEW, webhook_id, owner, lease) is None:
        return None
    row = await conn.fetchrow(_HEAD, webhook_id)
    if row is None or not row["due"]:
        return None
    return DueDelivery(
        row["id"],
        row["msg_id"],
        row["seq"],
        row["type"],
        row["body"],
        row["attempts"],
        row["retry_from"],
    )


async def record_attempt(conn: Connection, delivery: DueDelivery, attempt: DeliveryAttempt) -> bool:
    """Write how the attempt went; a failure is scheduled again (or given up after a
    day). Returns whether the delivery is done with (delivered or given up)."""
    if attempt.ok:
        await conn.execute(_DELIVERED, delivery.id, attempt.at, attempt.status)
        return True
    age = max(attempt.at - delivery.retry_from, timedelta(0))
    delay = next_attempt_delay(delivery.attempts + 1, age)
    seconds = -1.0 if delay is None else delay.total_seconds()
    error = None if attempt.error is None else attempt.error[:500]
    await conn.execute(_FAILED_ATTEMPT, delivery.id, attempt.at, attempt.status, error, seconds)
    return delay is None


async def release(conn: Connection, webhook_id: int, owner: str) -> None:
    await conn.execute(_RELEASE, webhook_id, owner)


async def prune(conn: Connection, days: int = KEEP_DAYS, limit: int = 10_000) -> int:
    """Forget finished deliveries older than ``days``; returns how many (a batch at most)."""
    status = await conn.execute(_PRUNE, days, limit)
    return int(status.split()[-1])
