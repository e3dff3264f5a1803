-- Each outbox event has at most one feed number (the index also lets the sequencer
-- skip numbered events cheaply), and the horizon (0019) remembers which cluster its
-- transaction ids belong to. A database restored into another cluster (pg_dump and
-- restore; pg_upgrade's new cluster) gets transaction ids that start elsewhere: there
-- the next sequencing step reads every event below the oldest open transaction once,
-- numbers those without a number, and takes up the new cluster's ids. Standbys share
-- their primary's system identifier, so a failover is not such a change.
CREATE UNIQUE INDEX feed_outbox_id ON feed (outbox_id);
ALTER TABLE feed_horizon ADD COLUMN system_id bigint;
UPDATE feed_horizon SET system_id = (SELECT system_identifier FROM pg_control_system());
