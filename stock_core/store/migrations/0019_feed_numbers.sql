-- The feed's numbers move to a narrow table of their own. Numbering used to rewrite
-- every outbox row (a second copy of each event, payload and all, and four index
-- entries): a third of the database's time at load. Now a sequencing step inserts
-- (seq, outbox id) pairs and moves one horizon forward.
--
-- feed_horizon.txid: every outbox row whose transaction id is below it is numbered
-- or will never be visible (rolled back). A step numbers the visible rows with
-- horizon <= txid < xmin, where xmin is the oldest transaction still running when the
-- step began: all of them have ended, and no transaction can take an id below xmin
-- later. Rows numbered before this migration all have txid below the current xmin
-- (the relay only ever numbered below an xmin it saw); the finished ones it had not
-- numbered yet are numbered here, in id order as the relay would have.
CREATE TABLE feed (
    seq       bigint PRIMARY KEY,
    outbox_id bigint NOT NULL REFERENCES outbox (id)
);
CREATE TABLE feed_horizon (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    txid xid8 NOT NULL
);
CREATE INDEX outbox_txid ON outbox (txid);

INSERT INTO feed (seq, outbox_id) SELECT seq, id FROM outbox WHERE seq IS NOT NULL;
INSERT INTO feed (seq, outbox_id)
SELECT (SELECT coalesce(max(seq), 0) FROM feed) + row_number() OVER (ORDER BY id), id
FROM outbox
WHERE seq IS NULL AND txid < pg_snapshot_xmin(pg_current_snapshot());
INSERT INTO feed_horizon (txid) VALUES (pg_snapshot_xmin(pg_current_snapshot()));

DROP INDEX outbox_unsequenced;
ALTER TABLE outbox DROP COLUMN seq;
