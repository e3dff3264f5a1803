-- Count tasks (cycle counts a manager opens and confirms) and location capacity.

-- Capacity: a location may hold at most this weight (grams) and volume (cm³) of stock;
-- NULL is no limit. A product's weight_g and length × width × height give each unit's.
ALTER TABLE locations
    ADD COLUMN max_weight_g   numeric(14, 3) CHECK (max_weight_g >= 0),
    ADD COLUMN max_volume_cm3 numeric(14, 3) CHECK (max_volume_cm3 >= 0);

CREATE TABLE count_tasks (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status        text NOT NULL DEFAULT 'open'
                      CHECK (status IN ('open', 'pending_approval', 'closed')),
    blind         boolean NOT NULL DEFAULT false,
    scope         jsonb NOT NULL,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    confirmed_by  text,
    confirmed_at  timestamptz,
    approved_by   text,
    approved_at   timestamptz
);

-- The task's locations; a location is in at most one open task (counts go to it).
CREATE TABLE count_task_locations (
    task_id     bigint NOT NULL REFERENCES count_tasks ON DELETE CASCADE,
    location_id integer NOT NULL REFERENCES locations,
    open        boolean NOT NULL DEFAULT true,
    counted_at  timestamptz,
    counted_by  text,
    PRIMARY KEY (task_id, location_id)
);
CREATE UNIQUE INDEX count_task_locations_one_open ON count_task_locations (location_id)
    WHERE open;

-- The latest count of each of the task's locations, per product and lot ('' = none).
CREATE TABLE count_task_counts (
    task_id     bigint NOT NULL,
    location_id integer NOT NULL,
    product_id  integer NOT NULL REFERENCES products,
    lot         text NOT NULL DEFAULT '',
    quantity    bigint NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (task_id, location_id, product_id, lot),
    FOREIGN KEY (task_id, location_id) REFERENCES count_task_locations ON DELETE CASCADE
);

-- The scans and requests whose count was kept on a task: accepted, with no ledger rows.
CREATE TABLE count_task_keys (
    key         text PRIMARY KEY REFERENCES idempotency_keys,
    task_id     bigint NOT NULL REFERENCES count_tasks ON DELETE CASCADE,
    location_id integer NOT NULL REFERENCES locations
);

-- What confirmation made of the counts; expected is on hand at confirmation.
CREATE TABLE count_task_lines (
    task_id     bigint NOT NULL REFERENCES count_tasks ON DELETE CASCADE,
    location_id integer NOT NULL REFERENCES locations,
    product_id  integer NOT NULL REFERENCES products,
    lot         text NOT NULL DEFAULT '',
    expected    bigint NOT NULL CHECK (expected >= 0),
    counted     bigint NOT NULL CHECK (counted >= 0),
    named_lots  text[],
    status      text NOT NULL CHECK (status IN ('posted', 'pending_approval')),
    PRIMARY KEY (task_id, location_id, product_id, lot)
);
