-- stockd schema, version 1: catalog, stock, the append-only ledger, idempotency, outbox.
-- Invariants the database itself enforces:
--   * on-hand and reserved never below zero, reserved never above on-hand;
--   * the ledger is append-only (no UPDATE, DELETE or TRUNCATE);
--   * an idempotency key names one request; a ledger row is reversed at most once.

CREATE TABLE warehouses (
    code        text PRIMARY KEY CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
    name        text NOT NULL DEFAULT ''
);
INSERT INTO warehouses (code, name) VALUES ('MAIN', 'Main warehouse');

CREATE TABLE locations (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$'),
    warehouse   text NOT NULL DEFAULT 'MAIN' REFERENCES warehouses,
    zone        text NOT NULL DEFAULT '' CHECK (length(zone) <= 64),
    name        text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    gln         text UNIQUE CHECK (gln ~ '^[0-9]{13}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX locations_zone ON locations (zone);

CREATE TABLE products (
    id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku             text NOT NULL UNIQUE CHECK (length(sku) BETWEEN 1 AND 64),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    category        text NOT NULL DEFAULT '' CHECK (length(category) <= 100),
    unit_cost       numeric(14, 4) NOT NULL DEFAULT 0 CHECK (unit_cost >= 0),
    weight_g        numeric(12, 3) CHECK (weight_g >= 0),
    length_mm       numeric(10, 1) CHECK (length_mm >= 0),
    width_mm        numeric(10, 1) CHECK (width_mm >= 0),
    height_mm       numeric(10, 1) CHECK (height_mm >= 0),
    reorder_point   integer NOT NULL DEFAULT 0 CHECK (reorder_point >= 0),
    reorder_qty     integer NOT NULL DEFAULT 0 CHECK (reorder_qty >= 0),
    lead_time_days  integer NOT NULL DEFAULT 0 CHECK (lead_time_days >= 0),
    safety_stock    integer NOT NULL DEFAULT 0 CHECK (safety_stock >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_category ON products (category);

-- Any number of codes per product: GTINs stored as 14 digits, alias codes verbatim.
CREATE TABLE product_barcodes (
    code        text PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 128),
    product_id  integer NOT NULL REFERENCES products ON DELETE CASCADE,
    pack_size   integer NOT NULL DEFAULT 1 CHECK (pack_size BETWEEN 1 AND 100000)
);
CREATE INDEX product_barcodes_product ON product_barcodes (product_id);

CREATE TABLE stock (
    product_id  integer NOT NULL REFERENCES products,
    location_id integer NOT NULL REFERENCES locations,
    lot         text NOT NULL DEFAULT '',
    expiry      date,
    on_hand     bigint NOT NULL DEFAULT 0,
    reserved    bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, location_id, lot),
    CONSTRAINT stock_on_hand_not_negative CHECK (on_hand >= 0),
    CONSTRAINT stock_reserved_within_on_hand CHECK (reserved >= 0 AND reserved <= on_hand)
);
CREATE INDEX stock_location ON stock (location_id);

-- One row per request key: success rows have outcome NULL (the ledger rows are the
-- outcome); a refused request keeps its rejection so a replay answers the same.
CREATE TABLE idempotency_keys (
    key          text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 200),
    fingerprint  text NOT NULL,
    rejection    jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE movements (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts              timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind            text NOT NULL CHECK (kind IN
                        ('receive', 'pick', 'adjust', 'count', 'move_out', 'move_in', 'undo')),
    product_id      integer NOT NULL REFERENCES products,
    location_id     integer NOT NULL REFERENCES locations,
    lot             text NOT NULL DEFAULT '',
    expiry          date,
    delta           bigint NOT NULL,
    on_hand_after   bigint NOT NULL CHECK (on_hand_after >= 0),
    idempotency_key text NOT NULL REFERENCES idempotency_keys,
    part            smallint NOT NULL DEFAULT 0,
    actor           text NOT NULL,
    scanner         text,
    scan_seq        bigint,
    note            text CHECK (length(note) <= 1000),
    reverses        bigint UNIQUE REFERENCES movements (id),
    CONSTRAINT movements_delta_non_zero CHECK (delta <> 0 OR kind IN ('count', 'undo')),
    CONSTRAINT movements_one_row_per_part UNIQUE (idempotency_key, part)
);
CREATE INDEX movements_product_ts ON movements (product_id, ts);
CREATE INDEX movements_location ON movements (location_id, id);
CREATE INDEX movements_scanner ON movements (scanner, id) WHERE scanner IS NOT NULL;
CREATE INDEX movements_ts ON movements (ts);

CREATE FUNCTION stockd_ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the movement ledger is append-only: post a correcting movement instead'
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER movements_append_only BEFORE UPDATE OR DELETE ON movements
    FOR EACH ROW EXECUTE FUNCTION stockd_ledger_is_append_only();
CREATE TRIGGER movements_no_truncate BEFORE TRUNCATE ON movements
    FOR EACH STATEMENT EXECUTE FUNCTION stockd_ledger_is_append_only();

-- Events written in the same transaction as the change they describe. txid lets the
-- relay publish only rows whose transactions are all finished (commit order).
CREATE TABLE outbox (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid     xid8 NOT NULL DEFAULT pg_current_xact_id(),
    ts       timestamptz NOT NULL DEFAULT clock_timestamp(),
    type     text NOT NULL,
    payload  jsonb NOT NULL
);
