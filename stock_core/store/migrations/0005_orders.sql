-- Customer orders with reservations and backorders; purchase orders; cached forecasts.
--
-- A reservation holds units of one stock row (product, location, lot) for one order
-- line, and the same units are counted in stock.reserved, so the stock table's own
-- CHECK (reserved <= on_hand) makes over-reservation impossible. What an order line
-- could not reserve is backordered and waits, first in first out (priority first),
-- for stock to arrive.

CREATE TABLE orders (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number        text NOT NULL UNIQUE CHECK (number ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$'),
    priority      integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 100),
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'complete', 'cancelled')),
    customer      text CHECK (length(customer) <= 200),
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    closed_at     timestamptz
);

CREATE TABLE order_lines (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id      bigint NOT NULL REFERENCES orders,
    line_no       integer NOT NULL,
    product_id    integer NOT NULL REFERENCES products,
    quantity      integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000000),
    reserved      integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    backordered   integer NOT NULL DEFAULT 0 CHECK (backordered >= 0),
    picked        integer NOT NULL DEFAULT 0 CHECK (picked >= 0),
    CONSTRAINT order_lines_accounted CHECK (reserved + backordered + picked <= quantity),
    UNIQUE (order_id, line_no),
    UNIQUE (order_id, product_id)
);
-- The fill queue: waiting lines of a product in order.
CREATE INDEX order_lines_backordered ON order_lines (product_id, id) WHERE backordered > 0;

CREATE TABLE reservations (
    order_line_id bigint NOT NULL REFERENCES order_lines,
    product_id    integer NOT NULL,
    location_id   integer NOT NULL,
    lot           text NOT NULL,
    quantity      integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_line_id, location_id, lot),
    FOREIGN KEY (product_id, location_id, lot) REFERENCES stock (product_id, location_id, lot)
);
CREATE INDEX reservations_stock ON reservations (product_id, location_id, lot);

CREATE TABLE purchase_orders (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number         text NOT NULL UNIQUE CHECK (number ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$'),
    supplier       text CHECK (length(supplier) <= 200),
    expected_date  date NOT NULL,
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'received', 'cancelled')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    closed_at      timestamptz
);

CREATE TABLE purchase_order_lines (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    po_id       bigint NOT NULL REFERENCES purchase_orders,
    line_no     integer NOT NULL,
    product_id  integer NOT NULL REFERENCES products,
    quantity    integer NOT NULL CHECK (quantity BETWEEN 1 AND 10000000),
    received    integer NOT NULL DEFAULT 0 CHECK (received >= 0),
    UNIQUE (po_id, line_no),
    UNIQUE (po_id, product_id)
);
CREATE INDEX purchase_order_lines_product ON purchase_order_lines (product_id);

-- Background forecasts, one row per product, replaced as they are recomputed.
CREATE TABLE forecasts (
    product_id   integer PRIMARY KEY REFERENCES products ON DELETE CASCADE,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    method       text NOT NULL,
    weeks        jsonb NOT NULL,
    detail       jsonb NOT NULL DEFAULT '{}'
);

ALTER TABLE movements ADD COLUMN order_id bigint REFERENCES orders;
ALTER TABLE movements ADD COLUMN po_id bigint REFERENCES purchase_orders;
CREATE INDEX movements_outbound ON movements (product_id, ts) WHERE kind = 'pick';
