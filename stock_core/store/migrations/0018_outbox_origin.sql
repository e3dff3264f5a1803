-- Where an event written by a gateway came from: "<spool identity>:<epoch>:<number>".
-- A write of events whose answer was lost (the deadline dropped the connection as the
-- commit went through) is written again; the second write of the same origin is a
-- no-op, so the feed shows each rejected scan once. Stock events have none.
ALTER TABLE outbox ADD COLUMN origin text;
CREATE UNIQUE INDEX outbox_origin ON outbox (origin) WHERE origin IS NOT NULL;
