"""SQL of the outbox and the feed: events written with each change, numbered and read in order.

Every statement a named ``Final`` constant, named for what it does.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ASSIGN_FEED_SEQ",
    "FEED_AFTER",
    "FEED_HEAD",
    "FEED_STAMPS",
    "FEED_TAIL",
    "INSERT_EVENT",
    "INSERT_EVENTS_ONCE",
    "LOCK_SEQUENCER",
    "NOTIFY_FEED",
    "NOTIFY_OUTBOX",
]

INSERT_EVENT: Final = "INSERT INTO outbox (type, payload) VALUES ($1, $2::jsonb)"

# Events with an origin each (NULL for none): one written before is not written again.
INSERT_EVENTS_ONCE: Final = """
INSERT INTO outbox (type, payload, origin)
SELECT t, p::jsonb, o
FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS e(t, p, o, n)
ORDER BY n
ON CONFLICT (origin) WHERE origin IS NOT NULL DO NOTHING
"""

# The horizon is read before the lock is tried (a horizon older than needed only
# leaves rows for the next step); the numbering runs in a later statement, whose
# snapshot sees whatever another node numbered before it let go of the lock.
LOCK_SEQUENCER: Final = """
SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin,
       pg_try_advisory_xact_lock(7243100002) AS locked
"""

# Rows whose transactions have all ended get the next seq values, in id order.
ASSIGN_FEED_SEQ: Final = """
WITH base AS (SELECT coalesce(max(seq), 0) AS top FROM outbox),
ready AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n
    FROM outbox
    WHERE seq IS NULL AND txid::text::bigint < $1
)
UPDATE outbox o SET seq = base.top + ready.n
FROM ready, base
WHERE o.id = ready.id
RETURNING o.seq, o.ts, o.type, o.payload::text AS payload, base.top
"""

NOTIFY_FEED: Final = "SELECT pg_notify('stockd_feed', $1)"

FEED_AFTER: Final = """
SELECT seq, ts, type, payload::text AS payload FROM outbox
WHERE seq > $1 ORDER BY seq LIMIT $2
"""

FEED_HEAD: Final = "SELECT coalesce(max(seq), 0) FROM outbox"

FEED_STAMPS: Final = """
SELECT seq, ts, type FROM outbox WHERE seq BETWEEN $1 AND $2 ORDER BY seq
"""

FEED_TAIL: Final = "SELECT coalesce(min(seq), 1) FROM outbox WHERE seq IS NOT NULL"

NOTIFY_OUTBOX: Final = "SELECT pg_notify('stockd_outbox', '')"
