-- The live feed's sequence, stock alerts and API tokens.

-- Feed order: the relay gives each outbox row a seq once every transaction that could
-- have written an earlier row has ended (txid below the snapshot's xmin), under an
-- advisory lock, so seq values are handed out in commit order and without gaps.
ALTER TABLE outbox ADD COLUMN seq bigint UNIQUE;
CREATE INDEX outbox_unsequenced ON outbox (id) WHERE seq IS NULL;

CREATE FUNCTION stockd_notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('stockd_outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION stockd_notify_outbox();

CREATE TABLE alerts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id       integer NOT NULL REFERENCES products,
    kind             text NOT NULL CHECK (kind IN ('low_stock', 'out_of_stock', 'projected_stockout')),
    raised_at        timestamptz NOT NULL DEFAULT now(),
    available        bigint NOT NULL,
    threshold        bigint NOT NULL,
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    cleared_at       timestamptz,
    detail           jsonb NOT NULL DEFAULT '{}'
);
-- At most one active alert of each kind per product.
CREATE UNIQUE INDEX alerts_one_active ON alerts (product_id, kind) WHERE cleared_at IS NULL;

CREATE TABLE api_tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    role        text NOT NULL CHECK (role IN ('admin', 'manager', 'worker', 'display')),
    prefix      text NOT NULL UNIQUE,
    secret_hash text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    last_used_at timestamptz
);
