-- Gateway support: scans that failed when replayed from a gateway's spool, and the
-- last known state of every scanner (for the API and new feed clients).

CREATE TABLE spool_exceptions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key           text NOT NULL UNIQUE,
    scanner       text,
    scan_seq      bigint,
    command       jsonb NOT NULL,
    problem_type  text NOT NULL,
    reason        text NOT NULL,
    spooled_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at   timestamptz,
    resolved_by   text,
    resolution    text CHECK (length(resolution) <= 1000)
);
CREATE INDEX spool_exceptions_open ON spool_exceptions (id) WHERE resolved_at IS NULL;

CREATE TABLE scanner_states (
    id            text PRIMARY KEY,
    gateway       text NOT NULL,
    url           text NOT NULL,
    state         text NOT NULL CHECK (state IN ('connected', 'reconnecting', 'misconfigured', 'stopped')),
    detail        text NOT NULL DEFAULT '',
    mode          text,
    location      text,
    last_scan_at  timestamptz,
    last_code     text,
    counters      jsonb NOT NULL DEFAULT '{}',
    updated_at    timestamptz NOT NULL DEFAULT now()
);
