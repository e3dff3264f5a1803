-- Tracking and serial numbers (issue 17).
--
-- A product is tracked by 'none' (the default), 'lot' (a receipt names a lot) or
-- 'serial' (one unit per serial). A serial-tracked product's ledger rows each carry one
-- serial and move one unit; the serials table says where each serial is now, one row
-- per serial per product, so a serial is in one place at a time.
ALTER TABLE products
    ADD COLUMN tracking text NOT NULL DEFAULT 'none' CHECK (tracking IN ('none', 'lot', 'serial'));

ALTER TABLE movements
    ADD COLUMN serial text CHECK (serial ~ '^[!-~]{1,64}$'),
    ADD CONSTRAINT movements_serial_one_unit CHECK (serial IS NULL OR delta IN (-1, 1));
CREATE INDEX movements_serial ON movements (product_id, serial, id) WHERE serial IS NOT NULL;

-- status: where the serial is. 'in_stock' at location_id (reported as 'quarantined'
-- when that is a quarantine location), or gone: 'in_transit' (shipped on a transfer),
-- 'shipped' (picked), 'scrapped', 'missing' (a count did not find it).
CREATE TABLE serials (
    product_id  integer NOT NULL REFERENCES products,
    serial      text NOT NULL CHECK (serial ~ '^[!-~]{1,64}$'),
    status      text NOT NULL
                    CHECK (status IN ('in_stock', 'in_transit', 'shipped', 'scrapped', 'missing')),
    location_id integer REFERENCES locations,
    lot         text NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, serial),
    CONSTRAINT serials_in_stock_somewhere CHECK ((status = 'in_stock') = (location_id IS NOT NULL))
);
CREATE INDEX serials_in_stock ON serials (location_id, product_id, lot)
    WHERE status = 'in_stock';
