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
    "VERIFY_FEED",
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

# The oldest transaction still running is read before the lock is tried (an older one
# than needed only leaves rows for the next step); the numbering runs in a later
# statement, whose snapshot sees whatever another node numbered before it let go of
# the lock.
LOCK_SEQUENCER: Final = """
SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
       pg_try_advisory_xact_lock(7243100002) AS locked
"""

# Rows of the transactions that ended since the last step (horizon <= txid < $1, the
# oldest running transaction) get the next seq values, in id order, and the horizon
# moves up to $1: in one cluster none of them has a number yet (numbers were only
# given below the horizon). A horizon of another cluster (the database was restored
# into a new one, whose ids start elsewhere) counts as none: that step reads every row
# below $1 once and numbers those without a number. Only (seq, id) pairs are written:
# the events come back for publishing.
ASSIGN_FEED_SEQ: Final = """
WITH here AS (SELECT system_identifier AS system_id FROM pg_control_system()),
base AS (SELECT coalesce(max(seq), 0) AS top FROM feed),
horizon AS (
    SELECT h.system_id = here.system_id AS ours,
           CASE WHEN h.system_id = here.system_id THEN h.txid ELSE '0'::xid8 END AS txid
    FROM feed_horizon h, here
),
ready AS (
    SELECT id, ts, type, payload, row_number() OVER (ORDER BY id) AS n
    FROM outbox o
    WHERE txid >= (SELECT txid FROM horizon) AND txid < $1::text::xid8
      AND ((SELECT ours FROM horizon) OR NOT EXISTS (SELECT FROM feed f WHERE f.outbox_id = o.id))
),
numbered AS (
    INSERT INTO feed (seq, outbox_id) SELECT base.top + ready.n, ready.id FROM ready, base
),
moved AS (
    UPDATE feed_horizon h SET txid = $1::text::xid8, system_id = here.system_id
    FROM here
    WHERE h.txid < $1::text::xid8 OR h.system_id IS DISTINCT FROM here.system_id
)
SELECT base.top + ready.n AS seq, ready.ts, ready.type, ready.payload::text AS payload,
       base.top
FROM ready, base
"""

NOTIFY_FEED: Final = "SELECT pg_notify('stockd_feed', $1)"

FEED_AFTER: Final = """
SELECT f.seq, o.ts, o.type, o.payload::text AS payload
FROM feed f JOIN outbox o ON o.id = f.outbox_id
WHERE f.seq > $1 ORDER BY f.seq LIMIT $2
"""

FEED_HEAD: Final = "SELECT coalesce(max(seq), 0) FROM feed"

FEED_STAMPS: Final = """
SELECT f.seq, o.ts, o.type FROM feed f JOIN outbox o ON o.id = f.outbox_id
WHERE f.seq BETWEEN $1 AND $2 ORDER BY f.seq
"""

FEED_TAIL: Final = "SELECT coalesce(min(seq), 1) FROM feed"

NOTIFY_OUTBOX: Final = "SELECT pg_notify('stockd_outbox', '')"

# What breaks the feed's promises, one line each: numbers with a gap, an event of a
# finished transaction (below the horizon) never numbered. (An event numbered twice
# the database refuses: feed_outbox_id is unique.)
VERIFY_FEED: Final = """
SELECT problem FROM (
    SELECT format('the feed holds %s numbers from %s to %s: %s missing', n, lo, hi,
                  hi - lo + 1 - n) AS problem
    FROM (SELECT min(seq) AS lo, max(seq) AS hi, count(*) AS n FROM feed) b
    WHERE n > 0 AND hi - lo + 1 <> n
    UNION ALL
    SELECT format('outbox event %s (%s) of a finished transaction has no feed number',
                  o.id, o.type)
    FROM outbox o
    WHERE o.txid < (SELECT txid FROM feed_horizon
                    WHERE system_id = (SELECT system_identifier FROM pg_control_system()))
      AND NOT EXISTS (SELECT FROM feed f WHERE f.outbox_id = o.id)
) p
LIMIT 1000
"""
