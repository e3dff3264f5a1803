-- Several warehouses and transfers between them (issue 17).
--
-- Warehouses: every location belongs to one (MAIN unless said); location codes stay
-- unique across warehouses. Managers keep the list (API, and locations.csv, where a
-- new code creates its warehouse).
ALTER TABLE warehouses
    ADD CONSTRAINT warehouses_name_length CHECK (length(name) <= 200),
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX locations_warehouse ON locations (warehouse);

-- A transfer ships stock from locations of one warehouse to another warehouse. What
-- left is in transit, in no location, until it is received at a location there.
-- status: in_transit (nothing received yet), partial, received (every unit).
CREATE TABLE transfers (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number           text NOT NULL UNIQUE
                         CHECK (number ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$'),
    from_warehouse   text NOT NULL REFERENCES warehouses,
    to_warehouse     text NOT NULL REFERENCES warehouses,
    from_location_id integer NOT NULL REFERENCES locations,
    status           text NOT NULL DEFAULT 'in_transit'
                         CHECK (status IN ('in_transit', 'partial', 'received')),
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    received_at      timestamptz,
    CONSTRAINT transfers_between_two_warehouses CHECK (from_warehouse <> to_warehouse)
);
CREATE INDEX transfers_to_open ON transfers (to_warehouse) WHERE status <> 'received';

-- Per product and lot: units shipped (quantity) and received. In transit is the rest.
CREATE TABLE transfer_lines (
    transfer_id bigint NOT NULL REFERENCES transfers,
    product_id  integer NOT NULL REFERENCES products,
    lot         text NOT NULL DEFAULT '',
    expiry      date,
    quantity    bigint NOT NULL CHECK (quantity >= 0),
    received    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (transfer_id, product_id, lot),
    CONSTRAINT transfer_lines_received_within_shipped
        CHECK (received >= 0 AND received <= quantity)
);
CREATE INDEX transfer_lines_product ON transfer_lines (product_id) WHERE received < quantity;

-- The ledger rows of a transfer name it: transfer_out where it left, transfer_in where
-- it arrived, and the undo rows that reverse either. For every transfer line, in
-- transit = shipped - received = -(the sum of its rows' deltas); `stockd verify` checks.
ALTER TABLE movements ADD COLUMN transfer_id bigint REFERENCES transfers;
CREATE INDEX movements_transfer ON movements (transfer_id) WHERE transfer_id IS NOT NULL;
ALTER TABLE movements ADD CONSTRAINT movements_transfer_rows CHECK (
    (kind NOT IN ('transfer_out', 'transfer_in') OR transfer_id IS NOT NULL)
    AND (transfer_id IS NULL OR kind IN ('transfer_out', 'transfer_in', 'undo')));

