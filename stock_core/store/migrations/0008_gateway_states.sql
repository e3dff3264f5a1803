-- Each gateway's own state (its spool), written with its scanners' states, so every
-- web node can show it: GET /api/v1/scanners, /healthz, /metrics, the floor page.
CREATE TABLE gateway_states (
    name        text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 255),
    spool       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
