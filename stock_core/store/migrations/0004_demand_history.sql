-- Past demand imported from the system being replaced (units shipped per day or per
-- week, dated by the day or the week's first day). It never changes stock; forecasts
-- read it together with the ledger's outbound movements.
CREATE TABLE demand_history (
    product_id  integer NOT NULL REFERENCES products ON DELETE CASCADE,
    day         date NOT NULL,
    quantity    integer NOT NULL CHECK (quantity >= 0),
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, day)
);
